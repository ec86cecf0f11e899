"""``invoicekit.migrate(source, target, journal=...)``: plan, write, verify one book, resumable at any moment.

1. *Plan*: read the source kind by kind (clients, invoices, credit notes, payments), de-duplicate clients by
   VAT number and external id, record every document in the journal (``planned``) with the facts
   verification compares, and note per document what the target cannot carry, before anything is written.
2. *Write*: read the source again, claim each document not yet done, translate it for the target (its
   client, the invoice a credit note corrects, the invoice of a payment: their target ids from the
   journal), create it through :class:`invoicekit.Bulk` (bounded concurrency, halved on every 429 episode
   and paused for its Retry-After) and record the target id in the same step.
3. *Verify*: list the target and compare every mapped document's facts with the source's; report what is
   missing, extra or different.

A create carries the entry's reconciliation key where the target keeps one (``<kind>.create_by_key``).
A document claimed for the first time cannot exist on the target yet, so it is created without a search
first; a *resumed* one (in flight when a process died, or whose answer was lost) is searched by its key
first, and only created when the target has none. Where the target keeps no key, a resumed document is
searched by what identifies it there: a client by external id or VAT number, an invoice or credit note by
its number, a payment by invoice, date and amount among the payments no entry maps.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoicekit.bulk import Bulk, BulkProgress
from invoicekit.capabilities import Capability
from invoicekit.errors import (
    Conflict,
    FieldIssue,
    InvoicekitError,
    UncertainOutcome,
    ValidationError,
    WriteLanded,
)
from invoicekit.migrate._documents import BY_KEY_CAPABILITY, CREATE_CAPABILITY, LIST_CAPABILITY, facts, read, source_id
from invoicekit.migrate._journal import KINDS, Entry, EntryState, Journal, Kind, LostClaim, RunSpec
from invoicekit.migrate._losses import without
from invoicekit.migrate._report import DocumentNote, MigrationProgress, MigrationReport
from invoicekit.migrate._scratch import Scratch
from invoicekit.migrate._sql import SQLiteJournal
from invoicekit.model import Client, CreditNote, Invoice, Payment

if TYPE_CHECKING:
    from invoicekit.books import Books

__all__ = ["migrate"]

Document = Client | Invoice | CreditNote | Payment
#: How long a claim holds without being finished before another process may take the document over.
LEASE_SECONDS = 600.0
_MAX_FAILURES_LISTED = 100
_CLIENT_CACHE = 2048


def migrate(
    source: Books,
    target: Books,
    *,
    journal: Journal | str | Path,
    dry_run: bool = False,
    since: date | None = None,
    concurrency: int = 8,
    on_progress: Callable[[MigrationProgress], None] | None = None,
    on_plan: Callable[[MigrationReport], None] | None = None,
    source_account: str | None = None,
    target_account: str | None = None,
    verify: bool = True,
) -> MigrationReport:
    """Migrate the book of ``source`` to ``target``; see docs/migration.md.

    ``journal`` is a :class:`~invoicekit.migrate.Journal` or the path of a SQLite file. Calling again with
    the same connections and journal resumes (documents done are not read twice on the target, documents
    in flight are found by key before anything is created again). ``dry_run=True`` plans only: the report
    lists what would be written and what the target would lose, and neither the target nor the journal is
    written. ``since`` keeps the invoices and credit notes issued and the payments made on or after that day
    (every client is migrated). ``*_account`` names the accounts in the run's identity (default: each
    connection's base URL); use the account's id when several accounts share a base URL.
    ``on_progress`` receives :class:`MigrationProgress` events (from the calling thread or the bulk
    helper's); ``on_plan`` receives the report once the plan is made, before anything is written.
    """
    started = time.monotonic()
    owned = not isinstance(journal, Journal)
    if isinstance(journal, str | Path):
        # A dry run of a run never started reads an empty journal and leaves no file behind.
        fresh = dry_run and not Path(journal).exists()
        store: Journal = SQLiteJournal(":memory:" if fresh else journal)
    else:
        store = journal
    run = RunSpec(
        source.provider,
        source_account or source.adapter.base_url,
        target.provider,
        target_account or target.adapter.base_url,
    )
    migration = _Migration(source, target, store, run, dry_run, concurrency, on_progress)
    try:
        migration.release_dead_owners()
        for kind in KINDS:
            migration.plan(kind, since)
        if on_plan is not None:
            on_plan(migration.report)
        if not dry_run:
            for kind in KINDS:
                migration.write(kind, since)
            if verify:
                from invoicekit.migrate._verify import verify_run

                migration.report.checks = verify_run(target, store, run, migration.report, on_progress)
    finally:
        migration.scratch.close()
        if not dry_run:
            store.release_owner(migration.owner)
        if owned:
            store.close()
    migration.report.seconds = time.monotonic() - started
    return migration.report


def _normalise(path: str) -> str:
    return ".".join("[]" if part.isdigit() else part for part in path.split("."))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Migration:
    """One run's state: the connections, the journal, the owner id, the report being filled.

    What it keeps per document (client VAT numbers and external ids, the invoices a ``since`` run keeps,
    invoice numbers to target ids) is in :class:`Scratch` or the journal, never in a Python map: memory
    stays flat however big the book (the target clients cache is bounded).
    """

    def __init__(
        self,
        source: Books,
        target: Books,
        journal: Journal,
        run: RunSpec,
        dry_run: bool,
        concurrency: int,
        on_progress: Callable[[MigrationProgress], None] | None,
    ) -> None:
        self.source = source
        self.target = target
        self.journal = journal
        self.run = run
        self.dry_run = dry_run
        self.concurrency = concurrency
        self.on_progress = on_progress
        self.report = MigrationReport(run, dry_run)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clients: OrderedDict[str, Client] = OrderedDict()
        self._clients_lock = threading.Lock()
        # Namespaces: "vat" and "external" (client de-duplication: value the first client's source id),
        # "since" (with ``since``: ids and "#number"s of the invoices kept), "number" (invoice number ->
        # target id, built once from the journal when a credit note links by number).
        self.scratch = Scratch()
        self._numbers_built = False
        self._began: dict[tuple[Kind, str], float] = {}

    # -- owners ----------------------------------------------------------------------------------
    def release_dead_owners(self) -> None:
        """Claims of a process of this host that no longer runs (killed) end now, not at their lease."""
        host = socket.gethostname()
        for owner in self.journal.owners():
            parts = owner.split(":")
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                self.journal.release_owner(owner)

    # -- capabilities ----------------------------------------------------------------------------
    def unsupported(self, kind: Kind) -> str | None:
        if LIST_CAPABILITY[kind] not in self.source.capabilities:
            return f"{self.source.provider} cannot list {kind.replace('_', ' ')}s: they cannot be read to migrate"
        if CREATE_CAPABILITY[kind] not in self.target.capabilities:
            return f"{self.target.provider} cannot create {kind.replace('_', ' ')}s"
        if kind == "payment" and LIST_CAPABILITY["invoice"] not in self.source.capabilities:
            return f"{self.source.provider} cannot list invoices, so their payments cannot be read"
        return None

    def progress(
        self, kind: Kind, phase: str, total: int | None, done: int, failed: int, bulk: BulkProgress | None
    ) -> None:
        if self.on_progress is None:
            return
        if bulk is None:
            began = self._began.setdefault((kind, phase), time.monotonic())
            elapsed = time.monotonic() - began
            rate = done / elapsed if elapsed > 0 else 0.0
        else:
            rate = bulk.rate
        limit = bulk.limit if bulk is not None else self.concurrency
        self.on_progress(MigrationProgress(kind, phase, total, done, failed, rate, limit))

    # -- plan ------------------------------------------------------------------------------------
    def plan(self, kind: Kind, since: date | None) -> None:
        counts = self.report.counts[kind]
        reason = self.unsupported(kind)
        if reason is not None:
            self.report.unsupported[kind] = reason
            if LIST_CAPABILITY[kind] not in self.source.capabilities or (
                kind == "payment" and LIST_CAPABILITY["invoice"] not in self.source.capabilities
            ):
                return
        self.progress(kind, "plan", None, 0, 0, None)
        for document in read(self.source, kind, since):
            sid = source_id(kind, document)
            counts.source += 1
            if counts.source % 100 == 0:
                self.progress(kind, "plan", None, counts.source, 0, None)
            entry = self.journal.get(self.run, kind, sid)
            state = entry.state if entry is not None else EntryState.PLANNED
            if state is EntryState.DONE:
                counts.already_done += 1
                continue
            facts_now = facts(document)
            skip = reason
            if skip is None and isinstance(document, Client):
                twin = (document.vat_number and self.scratch.get("vat", document.vat_number)) or (
                    document.external_id and self.scratch.get("external", document.external_id)
                )
                if twin:
                    skip = f"the same client as {twin} (VAT number or external id): merged into it"
                    facts_now["merged_into"] = twin
                else:
                    if document.vat_number:
                        self.scratch.put("vat", document.vat_number, sid)
                    if document.external_id:
                        self.scratch.put("external", document.external_id, sid)
            number = getattr(document, "number", None)
            if since is not None and isinstance(document, Invoice):
                self.scratch.put("since", sid)
                self.scratch.put("since", f"#{number}")
            if skip is None and since is not None and isinstance(document, CreditNote):
                skip = self.outside(document, since)
            if skip is not None:
                counts.skipped += 1
                self.report.note(DocumentNote(kind, sid, number, skipped=skip))
                if not self.dry_run:
                    self.journal.plan(self.run, kind, sid, facts_now)
                    # Done meanwhile by another process, or held by one: that one decides.
                    with contextlib.suppress(LostClaim):
                        self.journal.skip(self.run, kind, sid, None, skip)
                continue
            if state is EntryState.SKIPPED:
                counts.skipped += 1
                continue
            counts.to_write += 1
            lost = self.losses(document)
            if lost:
                counts.with_losses += 1
                self.report.note(DocumentNote(kind, sid, number, lost=[(i.path, i.reason) for i in lost]))
                for issue in lost:
                    self.report.lose(kind, _normalise(issue.path), issue.reason)
                # The whole per-document list stays readable from the journal (the report keeps a sample).
                facts_now["lost"] = " ".join(sorted({issue.path for issue in lost}))
            if not self.dry_run:
                self.journal.plan(self.run, kind, sid, facts_now)
        self.progress(kind, "plan", counts.source, counts.source, 0, None)

    def outside(self, credit_note: CreditNote, since: date) -> str | None:
        """Why a credit note is left out of a ``since`` run: the invoice it corrects is not migrated."""
        ref = credit_note.corrects_invoice_id or None
        number = credit_note.corrects_invoice_number
        if (ref and self.scratch.has("since", ref)) or (number and self.scratch.has("since", f"#{number}")):
            return None
        if not (ref or number):
            return None
        return f"corrects invoice {number or ref}, issued before {since.isoformat()}: not migrated, nor is this"

    def losses(self, document: Document) -> list[FieldIssue]:
        """What the target would drop of this document; its client's own losses are the client's note."""
        if isinstance(document, Payment):
            return []
        prepared = self.prepare(document)
        issues = self.target.adapter.field_losses(prepared)
        return [i for i in issues if not i.path.startswith("client.")]

    @staticmethod
    def prepare(document: Client | Invoice | CreditNote) -> Any:
        """The source document as a new one: no provider id, payload, key, status or paid amount."""
        update: dict[str, Any] = {"provider_id": None, "raw": None, "idempotency_key": None}
        if isinstance(document, Client):
            update["contacts"] = [c.model_copy(update={"provider_id": None}) for c in document.contacts]
        else:
            update["status"] = None
            update["paid_amount"] = None
        return document.model_copy(update=update)

    # -- write -----------------------------------------------------------------------------------
    def write(self, kind: Kind, since: date | None) -> None:
        counts = self.report.counts[kind]
        if kind in self.report.unsupported or counts.to_write == 0:
            return

        def claimed() -> Iterator[tuple[Document, Entry]]:
            for document in read(self.source, kind, since):
                sid = source_id(kind, document)
                entry = self.journal.get(self.run, kind, sid)
                if entry is not None and entry.state in (EntryState.DONE, EntryState.SKIPPED):
                    continue
                taken = self.journal.claim(self.run, kind, sid, self.owner, LEASE_SECONDS)
                if taken is not None:
                    yield document, taken

        done = failed = 0
        bulk = Bulk(
            self.target,
            concurrency=self.concurrency,
            on_progress=lambda p: self.progress(kind, "write", counts.to_write, p.done, p.failed, p),
        )
        for result in bulk.map(lambda item: self.write_one(kind, *item), claimed()):
            _document, entry = result.input
            if result.error is None:
                done += 1
                counts.written += 1
                counts.found += bool(result.document)
            else:
                failed += 1
                counts.failed += 1
                if len(counts.failures) < _MAX_FAILURES_LISTED:
                    counts.failures.append((entry.source_id, str(result.error)))
        self.progress(kind, "write", counts.to_write, done, failed, bulk.progress)

    def write_one(self, kind: Kind, document: Document, entry: Entry) -> bool:
        """Create one document on the target (or find it there) and record it; True when it was found."""
        try:
            prepared = self.translate(kind, document)
            try:
                target_id, found = self.create(kind, prepared, entry)
            except WriteLanded as exc:
                # Landed, then a later step failed (a row of a multi-step create): whole, or made anew.
                if exc.provider_id is None or kind == "payment":
                    raise  # left in flight: the next run finds it by key
                whole = self.settle(kind, exc.provider_id, entry)
                target_id, found = (whole, True) if whole is not None else self.create(kind, prepared, entry)
        except UncertainOutcome:
            raise  # left in flight: the next run searches the target before creating anything
        except WriteLanded:
            raise
        except InvoicekitError as exc:
            self.journal.fail(self.run, kind, entry.source_id, self.owner, str(exc))
            raise
        self.journal.complete(self.run, kind, entry.source_id, self.owner, target_id, {})
        return found

    def settle(self, kind: Kind, target_id: str, entry: Entry) -> str | None:
        """``target_id`` when the document found there is whole (its rows and totals equal the source's);
        None when it was partial (a create interrupted between its steps) and has been deleted."""
        if kind not in ("invoice", "credit_note") or "payable" not in entry.facts:
            return target_id
        resource = self._resource(kind)
        there = facts(resource.get(target_id))
        if all(there[name] == entry.facts.get(name, there[name]) for name in ("rows", "tax_exclusive", "payable")):
            return target_id
        delete = Capability.INVOICES_DELETE if kind == "invoice" else Capability.CREDIT_NOTES_DELETE
        if delete not in self.target.capabilities:
            raise Conflict(
                f"{kind} {target_id} on the target is partial ({there['rows']} of {entry.facts.get('rows')} rows): "
                "complete or delete it there, then run again",
                provider=self.target.provider,
            )
        resource.delete(target_id)
        return None

    # -- translation -----------------------------------------------------------------------------
    def target_of(self, kind: Kind, sid: str) -> str | None:
        entry = self.journal.get(self.run, kind, sid)
        while entry is not None and entry.state is EntryState.SKIPPED and "merged_into" in entry.facts:
            entry = self.journal.get(self.run, kind, entry.facts["merged_into"])
        return entry.target_id if entry is not None and entry.state is EntryState.DONE else None

    def target_client(self, source_client_id: str | None) -> Client:
        target_id = self.target_of("client", source_client_id) if source_client_id else None
        if target_id is None:
            raise ValidationError.single(
                "client", f"client {source_client_id} of the source is not on the target (not migrated yet, or failed)"
            )
        with self._clients_lock:
            cached = self._clients.get(target_id)
            if cached is not None:
                self._clients.move_to_end(target_id)
                return cached
        client = self.target.clients.get(target_id)
        with self._clients_lock:
            self._clients[target_id] = client
            while len(self._clients) > _CLIENT_CACHE:
                self._clients.popitem(last=False)
        return client

    def corrected_invoice(self, credit_note: CreditNote) -> str | None:
        """The target id of the invoice a credit note corrects: by the source id when the source links
        by id, else by the invoice's number among the invoices this run wrote."""
        if credit_note.corrects_invoice_id:
            return self.target_of("invoice", credit_note.corrects_invoice_id)
        if not credit_note.corrects_invoice_number:
            return None
        with self._clients_lock:
            if not self._numbers_built:
                # Built once per run from the journal (numbers and ids only), so a resumed run has it too.
                for entry in self.journal.entries(self.run, "invoice", EntryState.DONE):
                    if entry.facts.get("number") and entry.target_id:
                        self.scratch.put("number", entry.facts["number"], entry.target_id)
                self._numbers_built = True
        return self.scratch.get("number", credit_note.corrects_invoice_number)

    def translate(self, kind: Kind, document: Document) -> Document:
        if isinstance(document, Payment):
            invoice_id = self.target_of("invoice", document.invoice_id)
            if invoice_id is None:
                raise ValidationError.single("invoice_id", f"invoice {document.invoice_id} is not on the target")
            return Payment(
                invoice_id=invoice_id,
                date=document.date,
                amount=document.amount,
                method=document.method,
                reference=document.reference,
            )
        prepared: Client | Invoice | CreditNote = self.prepare(document)
        if isinstance(prepared, Invoice | CreditNote):
            update: dict[str, Any] = {"client": self.target_client(prepared.client.provider_id)}
            if isinstance(prepared, CreditNote):
                update["corrects_invoice_id"] = self.corrected_invoice(prepared)
            prepared = prepared.model_copy(update=update)
        return without(prepared, self.target.adapter.field_losses(prepared))  # noted in the plan

    # -- creating --------------------------------------------------------------------------------
    def create(self, kind: Kind, document: Document, entry: Entry) -> tuple[str, bool]:
        """The target id of the document, created now or found; and whether it was found."""
        maybe_there = entry.resumed or entry.attempts > 1
        keyed = BY_KEY_CAPABILITY[kind] in self.target.capabilities
        key = document.external_id if isinstance(document, Client) and document.external_id else entry.key
        if maybe_there or isinstance(document, Client):
            # Search first (clients always: de-duplication); a partial document found is made anew.
            if keyed:
                made = self._resource(kind).create(document, idempotency_key=key)
                existing: str | None = self._target_id(kind, made)
            else:
                existing = self.find_without_key(kind, document)
            if existing is not None:
                whole = self.settle(kind, existing, entry)
                if whole is not None:
                    return whole, maybe_there
        if keyed:
            return self._target_id(kind, self._create_new(kind, document, key)), False
        return self._target_id(kind, self._resource(kind).create(document)), False

    def _resource(self, kind: Kind) -> Any:
        return getattr(self.target, {"client": "clients", "invoice": "invoices"}.get(kind, kind + "s"))

    @staticmethod
    def _target_id(kind: Kind, made: Document) -> str:
        if isinstance(made, Payment):
            return f"{made.invoice_id}/{made.provider_id}"
        if made.provider_id is None:
            raise UncertainOutcome("target", f"create {kind}", None, "the target answered without an id")
        return made.provider_id

    def _create_new(self, kind: Kind, document: Document, key: str) -> Document:
        """Create a document whose key is new on the target (first claim of its entry): no search before,
        the key still sent so a lost answer is found by it (by the engine) or on the next run."""
        from invoicekit.books import drive_sync
        from invoicekit.engine import run_sync

        # The connection's own checks and flows, without the search get-or-create would send first.
        ops = self.target._ops
        client = self.target._client
        keyed = document.model_copy(update={"idempotency_key": key})
        if isinstance(keyed, Payment):
            spec = ops.payment_spec(keyed)
        else:
            if isinstance(keyed, Invoice | CreditNote):
                ops.check_rates(keyed)
            spec = ops.document_spec(kind)  # type: ignore[arg-type]
        made: Document = drive_sync(_one(spec.send(keyed)), lambda flow: run_sync(ops.core.run(flow), client))
        return ops.created(kind, made)

    def find_without_key(self, kind: Kind, document: Document) -> str | None:
        """A document on a target that keeps no key, found by what identifies it there (see module doc)."""
        if isinstance(document, Client):
            if Capability.CLIENTS_SEARCH not in self.target.capabilities:
                return None
            if document.external_id:
                hits = list(self.target.clients.list(external_id=document.external_id))
            elif document.vat_number:
                hits = list(self.target.clients.list(vat_number=document.vat_number))
            else:
                hits = []
            return hits[0].provider_id if hits else None
        if isinstance(document, Payment):
            if Capability.PAYMENTS_LIST not in self.target.capabilities:
                raise UncertainOutcome(
                    self.target.provider,
                    "create payment",
                    None,
                    f"a payment of {document.amount} on invoice {document.invoice_id} may have landed, and "
                    f"{self.target.provider} cannot list payments to tell: check the invoice by hand",
                )
            for payment in self.target.payments.list(document.invoice_id):
                target_id = f"{document.invoice_id}/{payment.provider_id}"
                same = payment.amount == document.amount and payment.date == document.date
                if same and self.journal.by_target(self.run, "payment", target_id) is None:
                    return target_id
            return None
        if not document.number:
            return None
        listing: Iterator[Invoice | CreditNote] = (
            self.target.invoices.list() if kind == "invoice" else self.target.credit_notes.list()
        )
        numbered = [str(d.provider_id) for d in listing if d.number == document.number]
        if len(numbered) > 1:
            raise Conflict(
                f"{len(numbered)} {kind}s numbered {document.number} on the target", provider=self.target.provider
            )
        return numbered[0] if numbered else None


def _one(flow: Any) -> Any:
    """A plan of one flow (what Books' get-or-create runs, without the searches around the create)."""
    result = yield flow
    return result
