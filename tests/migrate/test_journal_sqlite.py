"""SQLiteJournal: the journal contract, plus what only a file on disk can show (a SIGKILLed writer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from invoicekit.migrate import EntryState, Journal, RunSpec, SQLiteJournal
from invoicekit.migrate.testing import JournalContract

RUN = RunSpec("cashaca", "a", "eenvoudigfactureren", "b")


class TestSQLiteJournal(JournalContract):
    @pytest.fixture
    def open_journal(self, tmp_path: Path) -> Callable[..., Journal]:
        return lambda **kw: SQLiteJournal(tmp_path / "journal.db", **kw)


def test_a_sigkilled_writer_leaves_whole_entries(tmp_path: Path) -> None:
    """A process completing entries in a loop is killed mid-way: every entry it wrote is whole, and the
    file opens again (WAL recovery), in another process."""
    path = tmp_path / "journal.db"
    script = textwrap.dedent(
        f"""
        import sys
        from invoicekit.migrate import RunSpec, SQLiteJournal
        run = RunSpec("cashaca", "a", "eenvoudigfactureren", "b")
        journal = SQLiteJournal({str(path)!r})
        n = 0
        while True:
            journal.claim(run, "invoice", str(n), "writer", 60)
            journal.complete(run, "invoice", str(n), "writer", "T" + str(n), {{"total": str(n)}})
            n += 1
            if n == 50:
                print("ready", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)  # noqa: S603 - our interpreter
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    journal = SQLiteJournal(path)
    entries = list(journal.entries(RUN, "invoice"))
    done = [e for e in entries if e.state is EntryState.DONE]
    assert len(done) >= 50
    assert all(e.target_id == "T" + e.source_id and e.facts == {"total": e.source_id} for e in done)
    # At most the one being written when the signal came is still in flight.
    assert len(entries) - len(done) <= 1
    journal.close()
