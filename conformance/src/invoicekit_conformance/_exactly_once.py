"""The machinery of the exactly-once scenarios (scenarios/test_exactly_once.py): documents that tell their
caller apart, concurrent creates from threads or OS processes, and the check that every caller holds its own
document and the provider holds each exactly once.

A worker process runs ``python -m invoicekit_conformance._exactly_once`` with a JSON job on stdin and
prints one JSON line per create; the scenario (and benchmarks/exactly_once.py) start them. The servers they
talk to are :func:`served_processes`: several ``invoicekit sandbox serve NAME --db FILE`` processes on one
SQLite file, each injecting its share of the faults, as several web workers of one provider would be.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoicekit import Books, Capability, Client, InvoicekitError, Payment
from invoicekit.errors import Conflict, UncertainOutcome, WriteLanded
from invoicekit.sandbox import FaultRule, Sandbox
from invoicekit_conformance._samples import billing_client, carried, credit_note_for, simple_invoice
from invoicekit_conformance.profile import DocumentKind

__all__ = ["KINDS", "Outcome", "check", "faults", "run_processes", "run_threads", "served_processes", "tally"]

KINDS: dict[DocumentKind, tuple[Capability, Capability]] = {
    "client": (Capability.CLIENTS_CREATE, Capability.CLIENTS_CREATE_BY_KEY),
    "invoice": (Capability.INVOICES_CREATE, Capability.INVOICES_CREATE_BY_KEY),
    "credit_note": (Capability.CREDIT_NOTES_CREATE, Capability.CREDIT_NOTES_CREATE_BY_KEY),
    "payment": (Capability.PAYMENTS_CREATE, Capability.PAYMENTS_CREATE_BY_KEY),
}
#: A worker that has not finished by then is a hang, reported as such (every loop is bounded in time too);
#: ``--invoicekit-race-deadline`` sets another for big races.
DEADLINE_SECONDS = 120.0


@dataclass
class Outcome:
    """What one create told its caller."""

    key: str
    marker: str  # what the caller put in the document to recognise it (a name, a row, an amount)
    provider_id: str | None = None
    got_key: str | None = None  # the key on the returned document
    got_marker: str | None = None
    number: str | None = None
    payable: str | None = None  # returned totals
    sent_payable: str | None = None
    error: str | None = None  # "Type: message"
    honest: bool = False  # an error that says the outcome is uncertain or a duplicate exists
    keyed: bool = True  # False: the adapter has no key support, so the create went without one (scoring only)


def faults(rate: float, *, lose_first: bool = True) -> list[FaultRule]:
    """Seeded faults at ``rate`` in all: 5xx before and after the commit and dropped answers, one 429."""
    rules = [FaultRule.rate_limited(1.0, burst=1, times=1)]
    if rate > 0:
        rules += [
            FaultRule.server_error(rate / 3, status=503),
            FaultRule.server_error(rate / 3, status=502, after_commit=True),
            FaultRule.drop_after_commit(rate / 3),
        ]
    if lose_first:
        rules.append(FaultRule.drop_after_commit(method="POST", times=1))
    return rules


def served_processes(
    provider: str, db: Path, count: int, *, seed: int, rate: float, strict: bool = False
) -> contextlib.AbstractContextManager[list[str]]:
    """``count`` ``invoicekit sandbox serve`` processes on one ``db`` file; yields their base URLs.

    Each answers ``rate`` of its requests with a fault, a quarter each: a 429 (Retry-After: 1), a 503
    before the handler, a 502 after it (the write committed), a connection dropped after it. Seeded per
    server (``seed + index``), so a run replays as far as the interleaving of the processes allows.
    """
    share = f"{rate / 4:.6f}"
    command = [sys.executable, "-c", "from invoicekit.cli import main; main()", "sandbox", "serve", provider]
    command += ["--db", str(db), "--port", "0", "--json", *(["--strict"] if strict else [])]
    for option in ("--throttle-rate", "--error-rate", "--error-after-commit-rate", "--drop-rate"):
        command += [option, share]

    @contextlib.contextmanager
    def serving() -> Iterator[list[str]]:
        started: list[subprocess.Popen[str]] = []
        logs: list[Path] = []
        try:
            for index in range(count):
                # A server logs every request: to a file, never a pipe nobody reads (a full pipe blocks it).
                logs.append(db.with_name(f"{db.stem}-server{index}.log"))
                with logs[-1].open("w", encoding="utf-8") as log:
                    started.append(
                        subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                            [*command, "--seed", str(seed + index)],
                            stdout=subprocess.PIPE,
                            stderr=log,
                            text=True,
                        )
                    )
            urls = []
            for process, log_path in zip(started, logs, strict=True):
                assert process.stdout is not None
                line = process.stdout.readline()  # the --json banner; nothing else is printed on stdout
                if not line.startswith("{"):
                    process.kill()
                    process.wait()
                    raise AssertionError(f"sandbox serve {provider} did not start: {log_path.read_text()[-800:]}")
                urls.append(str(json.loads(line)["base_url"]))
            yield urls
        finally:
            for process in started:
                process.terminate()
            for process in started:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()

    return serving()


def context(books: Books, kind: DocumentKind, tag: str) -> dict[str, str]:
    """What creates of ``kind`` hang off (made once, before the race): an invoice to correct or to pay."""
    if kind in ("client", "invoice"):
        return {}
    invoice = books.invoices.create(simple_invoice(_client_of(books, billing_client(tag)), f"Paid {tag}", "100000.00"))
    assert invoice.provider_id is not None
    return {"invoice_id": invoice.provider_id}


def _client_of(books: Books, client: Client, key: str | None = None) -> Client:
    """The invoice's client, stored first where the provider creates clients (as the other scenarios do: a
    provider may link a document to a stored client only); under ``key`` where it keeps client keys."""
    client = carried(books.adapter, client)
    if not books.supports(Capability.CLIENTS_CREATE):
        return client
    if key is None or not books.supports(Capability.CLIENTS_CREATE_BY_KEY):
        return books.clients.create(client)
    # Cashaca keeps the key in the client's reference, where external_id also goes: one of the two.
    return books.clients.create(client.model_copy(update={"external_id": None}), idempotency_key=key)


def _marker_of(kind: DocumentKind, document: Any) -> str | None:
    if kind == "client":
        return str(document.name)
    if kind == "payment":
        return f"{document.amount:.2f}"  # as the marker is written: a provider may answer 1 for 1.00
    return str(document.rows[0].description) if document.rows else None


def create_one(books: Books, kind: DocumentKind, key: str, marker: str, ctx: Mapping[str, str]) -> Outcome:
    """One create of ``kind`` under ``key``, its document recognisable by ``marker``. An adapter without key
    support for ``kind`` gets no key (only when scoring it, ``--invoicekit-race-ungated``)."""
    keyed = books.supports(KINDS[kind][1])
    outcome = Outcome(key=key, marker=marker, keyed=keyed)
    key_or_none = key if keyed else None
    made: Any
    try:
        if kind == "client":
            sent: Any = carried(books.adapter, billing_client(key[-12:], vat_number=None)).model_copy(
                update={"external_id": None, "name": marker}
            )
            made = books.clients.create(sent, idempotency_key=key_or_none)
        elif kind == "invoice":
            buyer = _client_of(books, billing_client(key[-12:], vat_number=None), f"{key}-client")
            sent = simple_invoice(buyer, marker)
            made = books.invoices.create(sent, idempotency_key=key_or_none)
        elif kind == "credit_note":
            invoice = books.invoices.get(ctx["invoice_id"])
            sent = credit_note_for(invoice).model_copy(
                update={"rows": [invoice.rows[0].model_copy(update={"description": marker})]}
            )
            made = books.credit_notes.create(sent, idempotency_key=key_or_none)
        else:
            sent = Payment(invoice_id=ctx["invoice_id"], date=date.today(), amount=Decimal(marker))
            made = books.payments.create(sent, idempotency_key=key_or_none)
    except InvoicekitError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"[:600]
        # Honest: the caller is told the outcome is uncertain, a duplicate exists, or the write landed.
        outcome.honest = isinstance(exc, UncertainOutcome | Conflict | WriteLanded)
        return outcome
    outcome.provider_id = made.provider_id
    outcome.got_key = made.idempotency_key
    outcome.got_marker = _marker_of(kind, made)
    if kind in ("invoice", "credit_note"):
        outcome.number = made.number
        outcome.payable = str(made.totals.payable)
        outcome.sent_payable = str(sent.totals.payable)
    return outcome


MAX_CREATES = 99  # per worker: a payment's amount (worker + 1).(create) tells its caller apart


def plan(kind: DocumentKind, tag: str, worker: int, creates: int) -> list[tuple[str, str]]:
    """(key, marker) per create: unique per caller, so each can recognise its own document."""
    if not 0 < creates <= MAX_CREATES:
        raise ValueError(f"1 to {MAX_CREATES} creates per worker, not {creates}")
    out = []
    for i in range(creates):
        key = f"{tag}-{kind[:2]}{worker}-{i}"
        marker = f"{worker + 1}.{i:02d}" if kind == "payment" else f"EO {key}"
        out.append((key, marker))
    return out


def run_threads(
    books: Books,
    kind: DocumentKind,
    jobs: Sequence[tuple[str, str]],
    ctx: Mapping[str, str],
    threads: int,
    *,
    deadline: float = DEADLINE_SECONDS,
) -> list[Outcome]:
    """``jobs`` created concurrently from ``threads`` threads on one connection."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = [pool.submit(create_one, books, kind, key, marker, ctx) for key, marker in jobs]
        return [future.result(timeout=deadline) for future in futures]


def run_processes(job: Mapping[str, Any], processes: int) -> dict[str, list[Outcome]]:
    """Start ``processes`` worker processes on one served sandbox; each runs ``job`` with its own worker id.
    The outcomes, per kind."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "invoicekit_conformance._exactly_once"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outcomes: dict[str, list[Outcome]] = {}
    problems: list[str] = []
    deadline = float(job.get("deadline", DEADLINE_SECONDS))
    for index, process in enumerate(started):
        try:
            urls = job.get("base_urls") or [job["base_url"]]
            work = {**job, "worker": index, "base_url": urls[index % len(urls)]}
            out, err = process.communicate(json.dumps(work), timeout=deadline)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            problems.append(f"worker p{index} did not finish within {deadline:.0f} s")
        if process.returncode != 0:
            problems.append(f"worker p{index} exited with {process.returncode}: {err[-800:]}")
        for line in out.splitlines():
            if line.startswith("{"):
                data = json.loads(line)
                outcomes.setdefault(data.pop("kind"), []).append(Outcome(**data))
    if problems:
        raise AssertionError("; ".join(problems))
    return outcomes


def check(
    kind: DocumentKind,
    outcomes: Sequence[Outcome],
    stored_before: Iterable[str] | None,
    stored_after: Iterable[str] | None,
    fetch: Callable[[str], Any] | None,
    *,
    calm: bool = False,
) -> list[str]:
    """Everything wrong with a race: ordinary failures, a caller holding another's document, duplicates,
    losses, colliding numbers. Empty when every caller holds its own document exactly once."""
    problems: list[str] = []
    for o in outcomes:
        if o.error and (calm or not o.honest):
            why = "without any fault injected" if calm else "instead of being retried or reconciled"
            problems.append(f"{kind} {o.key}: failed {why}: {o.error}")
        if o.provider_id is None and not o.error:
            problems.append(f"{kind} {o.key}: created without a provider id")
        if o.error:
            continue
        if o.keyed and o.got_key != o.key:
            problems.append(f"{kind} {o.key}: the returned document carries key {o.got_key!r}, not the caller's")
        if o.got_marker != o.marker:
            problems.append(
                f"{kind} {o.key}: the caller was handed another document ({o.got_marker!r} instead of "
                f"{o.marker!r}): a lookup matched something other than the key"
            )
        if o.payable != o.sent_payable:
            problems.append(f"{kind} {o.key}: totals {o.payable} returned, {o.sent_payable} sent")
    held = Counter(o.provider_id for o in outcomes if o.provider_id and not o.error)
    keys_per_id: dict[str, set[str]] = {}
    for o in outcomes:
        if o.provider_id and not o.error:
            keys_per_id.setdefault(o.provider_id, set()).add(o.key)
    for provider_id, keys in keys_per_id.items():
        if len(keys) > 1:
            problems.append(
                f"{kind} {provider_id} was handed to {len(keys)} callers with different keys: {sorted(keys)}"
            )
    numbers = Counter(o.number for o in outcomes if o.number and not o.error)
    problems += [f"{kind} number {n} was given to {c} documents" for n, c in numbers.items() if c > 1]
    if fetch is not None:
        for o in outcomes:
            if o.provider_id and not o.error and o.keyed and o.got_key == o.key:
                stored_key = fetch(o.provider_id)
                if stored_key != o.key:
                    problems.append(f"{kind} {o.provider_id}: the provider holds key {stored_key!r}, not {o.key!r}")
    if stored_before is not None and stored_after is not None:
        new = Counter(str(i) for i in stored_after) - Counter(str(i) for i in stored_before)
        lost = sorted(set(held) - set(new))
        if lost:
            problems.append(f"{kind}: the API returned {lost} that the provider does not hold (lost)")
        extra = sum(new.values()) - len(held)
        honest = sum(1 for o in outcomes if o.error and o.honest)
        distinct_keys = len({o.key for o in outcomes})
        if extra > honest:
            problems.append(
                f"{kind}: {sum(new.values())} stored for {len(held)} held by callers and {honest} honest "
                f"errors ({distinct_keys} keys): a create was duplicated silently"
            )
    return problems


def tally(
    kind: DocumentKind,
    outcomes: Sequence[Outcome],
    stored_before: Iterable[str] | None,
    stored_after: Iterable[str] | None,
    fetch: Callable[[str], Any] | None,
) -> dict[str, Any]:
    """The counts of a race, for the acceptance table: creates; ``ok``; ``failures`` (an error that is not
    an honest UncertainOutcome, Conflict or WriteLanded: the library's fault); ``wrong`` (a caller holding a
    document without its key, marker or totals, or one handed to another caller too); ``duplicates`` (stored
    twice for one key, read back by key where the kind can be read, else documents stored beyond what
    callers hold and honest errors excuse); ``missing`` (returned to a caller, not stored); each honest error.
    None where the sandbox's state cannot be read."""
    errors = Counter((o.error or "").split(":", 1)[0] for o in outcomes if o.error)
    done = [o for o in outcomes if o.provider_id and not o.error]
    callers = Counter(o.provider_id for o in done)
    wrong = sum(
        1
        for o in done
        if (o.keyed and o.got_key != o.key) or o.got_marker != o.marker or o.payable != o.sent_payable
        or callers[o.provider_id] > 1
    )  # fmt: skip
    counts: dict[str, Any] = {
        "kind": kind,
        "creates": len(outcomes),
        "ok": len(done),
        "failures": sum(1 for o in outcomes if o.error and not o.honest),
        "wrong": wrong,
        "duplicates": None,
        "missing": None,
        **{name: errors.get(name, 0) for name in ("UncertainOutcome", "WriteLanded", "Conflict")},
    }
    if stored_before is None or stored_after is None:
        return counts
    new = Counter(str(i) for i in stored_after) - Counter(str(i) for i in stored_before)
    counts["missing"] = len(set(callers) - set(new))
    if fetch is not None and all(o.keyed for o in outcomes):
        keys = Counter(fetch(provider_id) for provider_id in new)
        counts["duplicates"] = sum(n - 1 for key, n in keys.items() if key is not None and n > 1)
    else:
        honest = sum(1 for o in outcomes if o.error and o.honest)
        counts["duplicates"] = max(0, sum(new.values()) - len(set(callers) & set(new)) - honest)
    return counts


def summary(kind: DocumentKind, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    errors = Counter((o.error or "").split(":", 1)[0] for o in outcomes if o.error)
    return {
        "kind": kind,
        "creates": len(outcomes),
        "ok": sum(1 for o in outcomes if not o.error),
        "errors": dict(errors),
    }


def _worker() -> None:
    """One OS process of a race: connect to the served sandbox, create each kind concurrently, print outcomes."""
    import invoicekit
    from invoicekit_conformance._target import sandbox_retry

    job = json.loads(sys.stdin.read())
    options = {"retry": sandbox_retry(int(job["seed"])), "load_entry_point_hooks": False, **job["credentials"]}

    def race(books: Any) -> None:
        for kind, ctx in job["kinds"].items():
            jobs = plan(kind, job["tag"], int(job["worker"]), int(job["creates"]))
            deadline = float(job.get("deadline", DEADLINE_SECONDS))
            for outcome in run_threads(books, kind, jobs, ctx, int(job["threads"]), deadline=deadline):
                print(json.dumps({"kind": kind, **asdict(outcome)}), flush=True)

    if job["mode"] == "async":
        from anyio.from_thread import start_blocking_portal

        from invoicekit_conformance._bridge import AsyncBridge
        from invoicekit_conformance._secrets import SecretWatch

        with start_blocking_portal(backend="asyncio") as portal:
            raw = invoicekit.connect_async(job["provider"], base_url=job["base_url"], **options)
            try:
                race(AsyncBridge(raw, SecretWatch(), portal))
            finally:
                portal.call(raw.aclose)
    else:
        with invoicekit.connect(job["provider"], base_url=job["base_url"], **options) as books:
            race(books)


def stored(sandbox: Sandbox | None, kind: DocumentKind, stored_ids: Any) -> list[str] | None:
    if sandbox is None or stored_ids is None:
        return None
    ids = stored_ids(sandbox, kind)
    return None if ids is None else [str(i) for i in ids]


if __name__ == "__main__":
    _worker()
