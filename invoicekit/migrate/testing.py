"""The contract every :class:`~invoicekit.migrate.Journal` backend passes.

Subclass :class:`JournalContract` in a test module and override the ``open_journal`` fixture: a function
that opens a *new, independent handle* on one shared, initially empty journal each time it is called (a
new connection to the same database), so the contract can race handles against each other::

    import pytest
    from invoicekit.migrate import SQLiteJournal
    from invoicekit.migrate.testing import JournalContract

    class TestSQLiteJournal(JournalContract):
        @pytest.fixture
        def open_journal(self, tmp_path):
            return lambda **kw: SQLiteJournal(tmp_path / "journal.db", **kw)

``open_journal`` takes an optional ``clock=`` (a function returning seconds, like ``time.time``), which the
lease tests pass; a backend whose clock is the database server's may skip those by overriding
``supports_clock`` with False.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from invoicekit.migrate._journal import (
    KINDS,
    EntryState,
    Journal,
    LostClaim,
    RunSpec,
    reconciliation_key,
)

__all__ = ["JournalContract"]

RUN = RunSpec("cashaca", "https://a.example", "flowtly", "shop@example.be")
OTHER = RunSpec("cashaca", "https://b.example", "flowtly", "shop@example.be")


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class JournalContract:
    """Backend-independent tests of the :class:`Journal` semantics (see its docstrings)."""

    supports_clock = True

    @pytest.fixture
    def open_journal(self) -> Callable[..., Journal]:
        raise NotImplementedError("override open_journal: a function opening a new handle on one empty journal")

    @pytest.fixture
    def journal(self, open_journal: Callable[..., Journal]) -> Iterator[Journal]:
        handle = open_journal()
        yield handle
        handle.close()

    @pytest.fixture
    def clocked(self, open_journal: Callable[..., Journal]) -> Iterator[tuple[Journal, Journal, _Clock]]:
        if not self.supports_clock:
            pytest.skip("this backend's leases run on its own clock")
        clock = _Clock()
        first, second = open_journal(clock=clock), open_journal(clock=clock)
        yield first, second, clock
        first.close()
        second.close()

    # -- keys and planning -------------------------------------------------------------------
    def test_key_is_deterministic_per_run_kind_and_source(self) -> None:
        key = reconciliation_key(RUN.run_id, "invoice", "17")
        assert key == reconciliation_key(RUN.run_id, "invoice", "17")
        assert len(key) <= 50
        assert key.startswith("mig-")
        others = {
            reconciliation_key(OTHER.run_id, "invoice", "17"),
            reconciliation_key(RUN.run_id, "client", "17"),
            reconciliation_key(RUN.run_id, "invoice", "18"),
        }
        assert key not in others
        assert len(others) == 3

    def test_plan_creates_a_planned_entry_with_its_key_and_facts(self, journal: Journal) -> None:
        entry = journal.plan(RUN, "invoice", "17", {"total": "121.00"})
        assert entry.state is EntryState.PLANNED
        assert entry.key == reconciliation_key(RUN.run_id, "invoice", "17")
        assert dict(entry.facts) == {"total": "121.00"}
        assert journal.get(RUN, "invoice", "17") == entry
        assert journal.get(RUN, "invoice", "18") is None
        assert journal.get(OTHER, "invoice", "17") is None

    def test_plan_never_moves_a_done_entry(self, journal: Journal) -> None:
        journal.plan(RUN, "client", "1", {"name": "A"})
        claimed = journal.claim(RUN, "client", "1", "w1", 60)
        assert claimed is not None
        journal.complete(RUN, "client", "1", "w1", "t-9", {"target_name": "A"})
        again = journal.plan(RUN, "client", "1", {"name": "B"})
        assert again.state is EntryState.DONE
        assert again.target_id == "t-9"
        assert dict(again.facts) == {"name": "A", "target_name": "A"}

    # -- claims --------------------------------------------------------------------------------
    def test_claim_then_complete(self, journal: Journal) -> None:
        entry = journal.claim(RUN, "invoice", "5", "w1", 60)
        assert entry is not None
        assert entry.state is EntryState.IN_FLIGHT
        assert entry.attempts == 1
        assert not entry.resumed
        assert entry.owner == "w1"
        done = journal.complete(RUN, "invoice", "5", "w1", "T5", {"total": "10.00"})
        assert done.state is EntryState.DONE
        assert done.target_id == "T5"
        assert done.owner is None
        assert journal.claim(RUN, "invoice", "5", "w1", 60) is None
        assert journal.by_target(RUN, "invoice", "T5") == done
        assert journal.by_target(RUN, "client", "T5") is None
        # The same completion again (a lost answer from the database) changes nothing.
        assert journal.complete(RUN, "invoice", "5", "w1", "T5", {}) == done

    def test_another_owner_cannot_claim_or_finish_a_held_entry(self, journal: Journal) -> None:
        assert journal.claim(RUN, "invoice", "5", "w1", 60) is not None
        assert journal.claim(RUN, "invoice", "5", "w2", 60) is None
        with pytest.raises(LostClaim):
            journal.complete(RUN, "invoice", "5", "w2", "T5", {})
        with pytest.raises(LostClaim):
            journal.fail(RUN, "invoice", "5", "w2", "no")
        with pytest.raises(LostClaim):
            journal.skip(RUN, "invoice", "5", None, "no")
        # The holder claiming again (a restarted loop in the same owner) is a resumed claim.
        again = journal.claim(RUN, "invoice", "5", "w1", 60)
        assert again is not None
        assert again.resumed
        assert again.attempts == 2

    def test_failed_entries_are_claimed_again_with_the_same_key(self, journal: Journal) -> None:
        first = journal.claim(RUN, "payment", "p1", "w1", 60)
        assert first is not None
        failed = journal.fail(RUN, "payment", "p1", "w1", "HTTP 422: amount")
        assert failed.state is EntryState.FAILED
        assert failed.reason == "HTTP 422: amount"
        assert failed.owner is None
        second = journal.claim(RUN, "payment", "p1", "w2", 60)
        assert second is not None
        assert second.key == first.key
        assert not second.resumed
        assert second.attempts == 2

    def test_skip_is_final(self, journal: Journal) -> None:
        skipped = journal.skip(RUN, "credit_note", "c1", None, "flowtly cannot carry credit notes")
        assert skipped.state is EntryState.SKIPPED
        assert skipped.reason == "flowtly cannot carry credit notes"
        assert journal.claim(RUN, "credit_note", "c1", "w1", 60) is None
        journal.claim(RUN, "invoice", "i1", "w1", 60)
        journal.complete(RUN, "invoice", "i1", "w1", "T", {})
        with pytest.raises(LostClaim):
            journal.skip(RUN, "invoice", "i1", None, "too late")

    def test_release_owner_makes_its_claims_resumable(self, journal: Journal) -> None:
        for source_id in ("1", "2"):
            journal.claim(RUN, "invoice", source_id, "dead", 3600)
        journal.claim(OTHER, "client", "1", "dead", 3600)
        journal.claim(RUN, "invoice", "3", "alive", 3600)
        assert set(journal.owners()) == {"dead", "alive"}
        assert journal.release_owner("dead") == 3
        assert journal.owners() == ["alive"]
        resumed = journal.claim(RUN, "invoice", "1", "new", 60)
        assert resumed is not None
        assert resumed.resumed
        assert resumed.owner == "new"
        with pytest.raises(LostClaim):
            journal.complete(RUN, "invoice", "2", "dead", "T2", {})

    def test_an_ended_lease_can_be_claimed_and_the_old_owner_is_refused(
        self, clocked: tuple[Journal, Journal, _Clock]
    ) -> None:
        first, second, clock = clocked
        assert first.claim(RUN, "client", "1", "w1", 30) is not None
        clock.now += 29
        assert second.claim(RUN, "client", "1", "w2", 30) is None
        clock.now += 2
        taken = second.claim(RUN, "client", "1", "w2", 30)
        assert taken is not None
        assert taken.resumed
        assert taken.owner == "w2"
        with pytest.raises(LostClaim):
            first.complete(RUN, "client", "1", "w1", "T-old", {})
        assert second.complete(RUN, "client", "1", "w2", "T-new", {}).target_id == "T-new"

    def test_two_handles_racing_never_both_claim(self, open_journal: Callable[..., Journal]) -> None:
        handles = [open_journal() for _ in range(4)]
        won: list[tuple[int, str]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(handles))

        def race(index: int, handle: Journal) -> None:
            barrier.wait()
            for n in range(40):
                if handle.claim(RUN, "invoice", str(n), f"w{index}", 60) is not None:
                    with lock:
                        won.append((index, str(n)))

        threads = [threading.Thread(target=race, args=(i, h)) for i, h in enumerate(handles)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for handle in handles:
            handle.close()
        assert sorted(n for _, n in won) == sorted(str(n) for n in range(40))

    # -- reading -------------------------------------------------------------------------------
    def test_entries_and_counts(self, journal: Journal) -> None:
        for n in range(1203):  # more than a page of any sensible backend
            journal.plan(RUN, "invoice", f"i{n}", {"n": str(n)})
        journal.plan(OTHER, "invoice", "x", {})
        for n in range(3):
            journal.claim(RUN, "invoice", f"i{n}", "w", 60)
            journal.complete(RUN, "invoice", f"i{n}", "w", f"T{n}", {})
        journal.skip(RUN, "credit_note", "c", None, "cannot")
        listed = [entry.source_id for entry in journal.entries(RUN, "invoice")]
        assert listed == [f"i{n}" for n in range(1203)]
        assert [e.target_id for e in journal.entries(RUN, "invoice", EntryState.DONE)] == ["T0", "T1", "T2"]
        assert [e.kind for e in journal.entries(RUN, state=EntryState.SKIPPED)] == ["credit_note"]
        counts: dict[Any, Any] = journal.counts(RUN)
        assert counts == {
            "invoice": {EntryState.DONE: 3, EntryState.PLANNED: 1200},
            "credit_note": {EntryState.SKIPPED: 1},
        }

    def test_unknown_kind_is_refused(self, journal: Journal) -> None:
        assert "invoice" in KINDS
        with pytest.raises(ValueError, match="kind"):
            journal.plan(RUN, "quote", "1", {})  # type: ignore[arg-type]

    def test_survives_reopening(self, open_journal: Callable[..., Journal]) -> None:
        first = open_journal()
        first.claim(RUN, "client", "1", "w", 60)
        first.complete(RUN, "client", "1", "w", "T1", {"vat": "BE0403019261"})
        first.close()
        second = open_journal()
        entry = second.get(RUN, "client", "1")
        second.close()
        assert entry is not None
        assert entry.state is EntryState.DONE
        assert entry.target_id == "T1"
