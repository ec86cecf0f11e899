"""``invoicekit migrate`` killed with SIGKILL at random moments, and started again with the same command each
time, against sandboxes served over loopback: afterwards the target holds every source document exactly once.

The migrating process is a real subprocess running the CLI (credentials from INVOICEKIT_* variables); the
sandboxes run in this process (``invoicekit.sandbox.running``) so faults can be injected on the target.
The target's book is read back through its own API and compared with the source's, not with the journal.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

import invoicekit
from invoicekit._environ import env_name
from invoicekit.migrate import EntryState, SQLiteJournal
from invoicekit.sandbox import FaultRule, Sandbox, running
from invoicekit.sandbox._book import BookSize, seed_book

from ._book import snapshot

SIZE = BookSize(20, 100, 6, 60)
KILLS = 5
CLI = [sys.executable, "-c", "from invoicekit.cli import main; main()"]


@contextmanager
def served(box: Sandbox) -> Iterator[dict[str, str]]:
    with running(box) as base_url:
        yield {env_name(box.name, key): value for key, value in {**box.credentials(), "base_url": base_url}.items()}


def _migrate(env: dict[str, str], journal: Path, source: str, target: str) -> subprocess.Popen[str]:
    command = [*CLI, "migrate", "--from", source, "--to", target, "--journal", str(journal), "--json"]
    return subprocess.Popen(  # noqa: S603 - our interpreter, our CLI
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _writing(child: subprocess.Popen[str]) -> threading.Event:
    """Set once the child reports its first write (its progress lines on stderr), or ends."""
    started = threading.Event()

    def watch() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            if '"phase": "write"' in line:
                started.set()
        started.set()

    threading.Thread(target=watch, daemon=True).start()
    return started


def _done(journal: Path) -> int:
    if not journal.exists():
        return 0
    SQLiteJournal(journal).close()  # opening recovers the WAL a killed writer left
    # The test does not know the run's identity (the CLI makes it from the base URLs): read every run's
    # counts from the file itself.
    with closing(sqlite3.connect(journal)) as db:
        counts: dict[Any, dict[EntryState, int]] = {}
        for run_counts in _all_runs(db):
            counts = run_counts
        return sum(states.get(EntryState.DONE, 0) for states in counts.values())


def _all_runs(db: sqlite3.Connection) -> Iterator[dict[Any, dict[EntryState, int]]]:
    for (run_id,) in db.execute("SELECT DISTINCT run_id FROM entries").fetchall():
        counts: dict[Any, dict[EntryState, int]] = {}
        for kind, state, n in db.execute(
            "SELECT kind, state, COUNT(*) FROM entries WHERE run_id=? GROUP BY kind, state", (run_id,)
        ):
            counts.setdefault(kind, {})[EntryState(state)] = n
        yield counts


def _kill_and_resume(
    source_name: str,
    target_name: str,
    make: Callable[..., Sandbox],
    tmp_path: Path,
    faults: Callable[[Sandbox], list[FaultRule]] | None,
    seed: int,
    size: BookSize = SIZE,
) -> list[FaultRule]:
    source_box, target_box = make(source_name), make(target_name, seed=seed)
    seed_book(source_box, size)
    rules = faults(target_box) if faults is not None else []
    journal = tmp_path / "journal.db"
    rng = random.Random(seed)
    with ExitStack() as stack:
        env = {**os.environ}
        env.update(stack.enter_context(served(source_box)))
        env.update(stack.enter_context(served(target_box)))
        killed_mid_way = 0
        for _ in range(KILLS):
            before = _done(journal)
            child = _migrate(env, journal, source_name, target_name)
            assert _writing(child).wait(timeout=120)
            # A random moment of the writes, drawn in documents written rather than seconds (a run's speed
            # depends on the machine's load): somewhere in the first third of what is left.
            left = size.clients + size.invoices + size.credit_notes + size.payments - before
            moment = before + rng.randint(1, max(1, left // 3))
            deadline = time.monotonic() + 120
            while _done(journal) < moment and child.poll() is None and time.monotonic() < deadline:
                time.sleep(rng.uniform(0.0, 0.02))
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            after = _done(journal)
            killed_mid_way += child.returncode == -signal.SIGKILL and after > before
        final = _migrate(env, journal, source_name, target_name)
        out, _ = final.communicate(timeout=240)
        report = json.loads(out)
        problems = [c for c in report["verification"] if not c["ok"]]
        failures = {kind: c["failures"] for kind, c in report["counts"].items() if c["failures"]}
        assert final.returncode == 0, json.dumps((problems, failures))
        # The kills interrupted real work: at least three of them came after some writes, before the end.
        assert killed_mid_way >= 3
        with (
            invoicekit.connect(source_name, sandbox=source_box) as source,
            invoicekit.connect(target_name, sandbox=target_box) as target,
        ):
            target_box.faults.clear()
            before_book, after_book = snapshot(source), snapshot(target)
            carries_credit_notes = invoicekit.Capability.CREDIT_NOTES_CREATE in target.capabilities
    assert after_book.duplicates() == {}
    assert after_book.clients == before_book.clients
    assert after_book.invoices == before_book.invoices
    if carries_credit_notes:
        assert after_book.credit_notes == before_book.credit_notes
    else:  # Flowtly declares no credit notes: none is written, the report says so (test_migrate_pairs)
        assert not after_book.credit_notes
    assert after_book.payments == before_book.payments
    assert sum(after_book.payments.values()) == size.payments
    return rules


def _ten_percent(box: Sandbox) -> list[FaultRule]:
    """About one request in ten fails: 429s from a bucket (with Retry-After), 5xx and answers dropped
    after the write committed."""
    return [
        box.faults.add(FaultRule.rate_limited(100, burst=20)),
        box.faults.add(FaultRule.server_error(0.05)),
        box.faults.add(FaultRule.drop_after_commit(0.05)),
    ]


@pytest.mark.parametrize(
    ("source_name", "target_name"),
    [
        ("flowtly", "eenvoudigfactureren"),  # the target keeps keys: resumed creates are found by key
        ("eenvoudigfactureren", "flowtly"),  # it keeps none: found by external id, number, invoice+amount
    ],
)
def test_sigkill_at_five_moments_then_resume(
    source_name: str, target_name: str, invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    _kill_and_resume(source_name, target_name, invoicekit_sandbox, tmp_path, None, seed=14)


def test_sigkill_and_resume_with_ten_percent_faults_on_the_target(
    invoicekit_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    rules = _kill_and_resume(
        "flowtly",
        "eenvoudigfactureren",
        invoicekit_sandbox,
        tmp_path,
        _ten_percent,
        seed=15,
        size=BookSize(12, 50, 4, 30),
    )
    # Every kind of fault did fire, many times (the rules count what they did).
    assert all(rule.fired >= 5 for rule in rules), [(rule.kind, rule.fired) for rule in rules]
