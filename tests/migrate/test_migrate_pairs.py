"""Every ordered pair of the bundled providers migrates a small seeded book: what the target holds afterwards,
read back through its own API, equals what the source holds (counts, numbers, dates, totals), kind by kind,
for every kind the pair can carry; what it cannot carry is in the report, not a crash."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import invoicekit
from invoicekit import Capability
from invoicekit.migrate import EntryState, MigrationProgress, SQLiteJournal, migrate
from invoicekit.sandbox import Sandbox
from invoicekit.sandbox._book import BookSize, seed_book

from ._book import snapshot

PROVIDERS = ("cashaca", "eenvoudigfactureren", "flowtly")
PAIRS = [(a, b) for a in PROVIDERS for b in PROVIDERS if a != b]
SIZE = BookSize(8, 24, 3, 14)


@pytest.mark.parametrize(("source_name", "target_name"), PAIRS)
def test_a_book_migrates_whole(
    source_name: str, target_name: str, invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    source_box, target_box = invoicekit_sandbox(source_name), invoicekit_sandbox(target_name)
    written = seed_book(source_box, SIZE)
    events: list[MigrationProgress] = []
    with (
        invoicekit.connect(source_name, sandbox=source_box) as source,
        invoicekit.connect(target_name, sandbox=target_box) as target,
    ):
        before = snapshot(source)
        report = migrate(source, target, journal=tmp_path / "j.db", concurrency=4, on_progress=events.append)
        after = snapshot(target)

    assert report.ok, report.to_json()
    assert after.clients == before.clients
    assert after.invoices == before.invoices
    assert sum(after.invoices.values()) == written.invoices
    credits_read = Capability.CREDIT_NOTES_LIST in source.capabilities
    credits_written = Capability.CREDIT_NOTES_CREATE in target.capabilities
    if credits_read and credits_written:
        assert after.credit_notes == before.credit_notes
        assert sum(before.credit_notes.values()) == written.credit_notes > 0
    else:
        # Flowtly declares no credit notes: said once for the kind, in the plan, and none is written.
        assert "credit notes" in report.unsupported["credit_note"]
        assert report.counts["credit_note"].written == 0
        assert not after.credit_notes
        if credits_read:
            assert report.counts["credit_note"].skipped == written.credit_notes > 0
    source_pays = Capability.PAYMENTS_LIST in source.capabilities
    target_pays = Capability.PAYMENTS_LIST in target.capabilities
    if source_pays and target_pays:
        assert after.payments == before.payments
        assert sum(after.payments.values()) == written.payments
    if not source_pays:
        # Cashaca cannot read payments back: said once for the kind, and none is written.
        assert "cannot list payments" in report.unsupported["payment"]
        assert report.counts["payment"].source == 0
    if source_pays and not target_pays:
        assert report.counts["payment"].written == written.payments
        (check,) = [c for c in report.checks if c.kind == "payment"]
        assert check.unverifiable is not None
    carried = {"client", "invoice"} | ({"credit_note"} if credits_read and credits_written else set())
    assert {e.kind for e in events if e.phase == "write"} >= carried


def test_a_second_run_writes_nothing_and_verifies(invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    source_box, target_box = invoicekit_sandbox("eenvoudigfactureren"), invoicekit_sandbox("flowtly")
    seed_book(source_box, SIZE)
    with (
        invoicekit.connect("eenvoudigfactureren", sandbox=source_box) as source,
        invoicekit.connect("flowtly", sandbox=target_box) as target,
    ):
        first = invoicekit.migrate(source, target, journal=tmp_path / "j.db")  # the package is callable
        posts = sum(1 for entry in target_box.request_log.recent() if entry.method == "POST")
        second = migrate(source, target, journal=tmp_path / "j.db")
        assert sum(1 for entry in target_box.request_log.recent() if entry.method == "POST") == posts
    assert first.ok
    assert second.ok
    assert all(c.written == 0 for c in second.counts.values())
    assert second.counts["invoice"].already_done == SIZE.invoices
    # Every document's losses are in the journal, whatever sample the report kept.
    journal = SQLiteJournal(tmp_path / "j.db")
    losing = [e for e in journal.entries(first.run, "invoice") if "structured_communication" in e.facts.get("lost", "")]
    journal.close()
    assert len(losing) == first.field_losses[("invoice", "structured_communication")] > 0


def test_dry_run_reports_losses_per_document_and_writes_nothing(
    invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    source_box, target_box = invoicekit_sandbox("eenvoudigfactureren"), invoicekit_sandbox("flowtly")
    seed_book(source_box, SIZE)
    with (
        invoicekit.connect("eenvoudigfactureren", sandbox=source_box) as source,
        invoicekit.connect("flowtly", sandbox=target_box) as target,
    ):
        ogm = sum(1 for invoice in source.invoices.list() if invoice.structured_communication)
        report = migrate(source, target, journal=tmp_path / "j.db", dry_run=True)
        assert next(iter(target.clients.list()), None) is None
    # Only reads (and Flowtly's login) reached the target, and no journal was made.
    assert not [e for e in target_box.request_log.recent() if e.method != "GET" and e.path != "/login"]
    assert not (tmp_path / "j.db").exists()
    # Flowtly keeps no structured communication: said for each invoice that has one, before any write.
    assert ogm > 0
    assert report.field_losses[("invoice", "structured_communication")] == ogm
    lost = Counter(
        note.kind for note in report.notes if any(path == "structured_communication" for path, _ in note.lost)
    )
    assert lost["invoice"] == ogm
    assert report.counts["invoice"].to_write == SIZE.invoices
    assert report.checks == []


def test_duplicate_source_clients_are_merged(invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    source_box, target_box = invoicekit_sandbox("eenvoudigfactureren"), invoicekit_sandbox("cashaca")
    seed_book(source_box, BookSize(3, 2, 0, 0))
    with (
        invoicekit.connect("eenvoudigfactureren", sandbox=source_box) as source,
        invoicekit.connect("cashaca", sandbox=target_box) as target,
    ):
        first = next(c for c in source.clients.list() if c.vat_number)
        twin: Any = first.model_copy(update={"provider_id": None, "raw": None, "idempotency_key": None})
        twin = twin.model_copy(update={"external_id": "other-ref", "contacts": []})
        source.clients.create(twin)
        report = migrate(source, target, journal=tmp_path / "j.db")
        names = [c.vat_number for c in target.clients.list()]
    assert report.ok, report.to_json()
    assert names.count(first.vat_number) == 1
    assert report.counts["client"].skipped == 1
    (note,) = [n for n in report.notes if n.skipped]
    assert note.skipped is not None
    assert "merged" in note.skipped
    journal = SQLiteJournal(tmp_path / "j.db")
    assert [e.reason for e in journal.entries(report.run, "client", EntryState.SKIPPED)] == [note.skipped]
    journal.close()


def test_since_keeps_the_later_documents_and_every_client(
    invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    source_box, target_box = invoicekit_sandbox("eenvoudigfactureren"), invoicekit_sandbox("cashaca")
    seed_book(source_box, SIZE)
    day = date(2026, 7, 1)
    with (
        invoicekit.connect("eenvoudigfactureren", sandbox=source_box) as source,
        invoicekit.connect("cashaca", sandbox=target_box) as target,
    ):
        later = sorted(str(i.number) for i in source.invoices.list() if i.issue_date >= day)
        kept = {n for n in later}
        notes = [c for c in source.credit_notes.list() if c.issue_date >= day]
        report = migrate(source, target, journal=tmp_path / "j.db", since=day)
        moved = sorted(str(i.number) for i in target.invoices.list())
        clients = sum(1 for _ in target.clients.list())
    assert report.ok, [c for c in report.checks if not c.ok] or {k: c.failures for k, c in report.counts.items()}
    assert 0 < len(later) < SIZE.invoices
    assert moved == later
    assert clients == SIZE.clients
    # A credit note of the period whose invoice is older is left out, and says why.
    orphans = [c for c in notes if c.corrects_invoice_number not in kept]
    assert report.counts["credit_note"].skipped == len(orphans)
    assert report.counts["credit_note"].written == len(notes) - len(orphans)
    skipped = [n for n in report.notes if n.kind == "credit_note" and n.skipped]
    assert len(skipped) == len(orphans)
    assert all("issued before 2026-07-01" in str(n.skipped) for n in skipped)


def test_a_report_keeps_a_bounded_sample_of_notes_and_whole_counts() -> None:
    from invoicekit.migrate import DocumentNote, MigrationReport, RunSpec
    from invoicekit.migrate._report import NOTES_KEPT

    report = MigrationReport(RunSpec("a", "x", "b", "y"), dry_run=True)
    for i in range(NOTES_KEPT + 5):
        report.note(DocumentNote("invoice", str(i), None, lost=[("rows.0.unit", "no units")]))
        report.lose("invoice", "rows.[].unit", f"no units ({i})")
    out = report.to_json()
    assert len(report.notes) == NOTES_KEPT
    assert report.notes[-1].source_id == str(NOTES_KEPT - 1)
    assert out["notes_total"] == NOTES_KEPT + 5
    assert out["field_losses"] == [
        {"kind": "invoice", "field": "rows.[].unit", "documents": NOTES_KEPT + 5, "reason": "no units (0)"}
    ]
