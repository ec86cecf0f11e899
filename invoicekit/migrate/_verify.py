"""The verification pass: list the target, compare each mapped document's facts with the source's.

The target is read page by page; the source ids of the documents seen (to name the missing ones) go to a
:class:`~invoicekit.migrate._scratch.Scratch` on disk, so memory stays flat however big the book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from invoicekit.migrate._documents import LIST_CAPABILITY, Document, facts
from invoicekit.migrate._journal import KINDS, EntryState, Journal, Kind, RunSpec
from invoicekit.migrate._report import KindCheck, MigrationProgress, MigrationReport
from invoicekit.migrate._scratch import Scratch

if TYPE_CHECKING:
    from invoicekit.books import Books

__all__ = ["verify_run"]

_LISTED = 100  # ids listed per kind and problem; the counts are whole


def _target_documents(target: Books, journal: Journal, run: RunSpec, kind: Kind) -> Iterator[tuple[str, Document]]:
    if kind == "client":
        for client in target.clients.list():
            yield str(client.provider_id), client
    elif kind == "invoice":
        for invoice in target.invoices.list():
            yield str(invoice.provider_id), invoice
    elif kind == "credit_note":
        for credit_note in target.credit_notes.list():
            yield str(credit_note.provider_id), credit_note
    else:
        # Payments are listed per invoice: those of the invoices this run wrote.
        for entry in journal.entries(run, "invoice", EntryState.DONE):
            assert entry.target_id is not None
            for payment in target.payments.list(entry.target_id):
                yield f"{entry.target_id}/{payment.provider_id}", payment


def verify_run(
    target: Books,
    journal: Journal,
    run: RunSpec,
    report: MigrationReport,
    on_progress: Callable[[MigrationProgress], None] | None = None,
) -> list[KindCheck]:
    with Scratch() as seen:
        return [
            check for kind in KINDS if (check := _verify_kind(target, journal, run, report, kind, seen, on_progress))
        ]


def _verify_kind(
    target: Books,
    journal: Journal,
    run: RunSpec,
    report: MigrationReport,
    kind: Kind,
    seen: Scratch,
    on_progress: Callable[[MigrationProgress], None] | None,
) -> KindCheck | None:
    expected = journal.counts(run).get(kind, {}).get(EntryState.DONE, 0)
    if kind in report.unsupported and expected == 0:
        return None
    if LIST_CAPABILITY[kind] not in target.capabilities:
        reason = f"{target.provider} cannot list {kind.replace('_', ' ')}s: {expected} written, not read back"
        return KindCheck(kind, expected, 0, 0, unverifiable=reason)
    check = KindCheck(kind, expected, 0, 0)
    for target_id, document in _target_documents(target, journal, run, kind):
        check.found += 1
        entry = journal.by_target(run, kind, target_id)
        if entry is None:
            if len(check.extra) < _LISTED:
                check.extra.append(target_id)
            continue
        seen.add(kind, entry.source_id)
        differing = [
            (entry.source_id, name, entry.facts[name], mine)
            for name, mine in facts(document).items()
            if name in entry.facts and entry.facts[name] != mine
        ]
        if differing:
            check.differing.extend(differing[: max(0, _LISTED - len(check.differing))])
        else:
            check.matched += 1
        if on_progress is not None and check.found % 100 == 0:
            on_progress(MigrationProgress(kind, "verify", expected, check.found, 0, 0.0, 0))
    for entry in journal.entries(run, kind, EntryState.DONE):
        if len(check.missing) >= _LISTED:
            break
        if not seen.has(kind, entry.source_id):
            check.missing.append(entry.source_id)
    return check
