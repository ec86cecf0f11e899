"""The migration journal: which source document became which target document, and how far each one got.

A migration *run* moves one book from one account to another: it is named by ``(source provider, source
account, target provider, target account)`` (:class:`RunSpec`). Within a run, an *entry* stands for one
source document of one kind (client, invoice, credit note, payment), named by its source id. Its
reconciliation key is derived from the run and the source id (:func:`reconciliation_key`), so a run started
again finds, by that key on the target, a create whose answer was lost.

An entry's state moves like this::

    planned ──claim──> in_flight ──complete──> done
       ^                   │ ──fail──────> failed ──claim──> in_flight ...
       └──── (lease ends / release_owner) ─┘
    planned | failed ──skip──> skipped (with a reason; claim never returns it again)

``in_flight`` means "a create may have been sent": whoever claims such an entry again must search the
target by the entry's key before creating anything (:attr:`Entry.resumed` says so).

**Concurrency.** Several processes (on several hosts, for a database backend) may share one journal, for
different runs or for the same run. :meth:`Journal.claim` is the only way to get permission to write a
document, and it is atomic: two owners never hold the same entry at once. A claim holds for
``lease_seconds``; after that (the owner died, or hangs) another owner may claim it, and must then search
by key first. :meth:`Journal.release_owner` gives up every claim of an owner at once (a clean exit, or a
supervisor that knows the owner is dead). Only the owner holding a claim can complete, fail or skip the
entry (a stale owner's late ``complete`` is refused with :class:`LostClaim`), so the journal never records
two different target ids for one source document.

:class:`SQLiteJournal` is the embedded default (one file, WAL, every change in its own ``BEGIN IMMEDIATE``
transaction, so a SIGKILL loses at most the change under way and never leaves half of one). Other backends
implement :class:`Journal` and prove it with :class:`invoicekit.migrate.testing.JournalContract`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "KINDS",
    "Entry",
    "EntryState",
    "Journal",
    "Kind",
    "LostClaim",
    "RunSpec",
    "SQLiteJournal",
    "reconciliation_key",
]

Kind = Literal["client", "invoice", "credit_note", "payment"]
#: The kinds in the order a migration writes them: a document only points at kinds before it.
KINDS: tuple[Kind, ...] = ("client", "invoice", "credit_note", "payment")


class EntryState(StrEnum):
    PLANNED = "planned"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class LostClaim(RuntimeError):
    """An owner tried to finish an entry it no longer holds (its lease ended and another owner claimed it)."""


@dataclass(frozen=True)
class RunSpec:
    """One migration: from one account of one provider to one account of another (or the same) provider.

    ``*_account`` is whatever names the account without being a secret (a base URL, a company id, a
    login name; never a token): two runs with equal specs are the same run and share their entries.
    """

    source_provider: str
    source_account: str
    target_provider: str
    target_account: str

    @property
    def run_id(self) -> str:
        """A stable id of the run (32 hex digits), the same in every process and backend."""
        text = "\x1f".join((self.source_provider, self.source_account, self.target_provider, self.target_account))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def reconciliation_key(run_id: str, kind: Kind, source_id: str) -> str:
    """The key a run's create of this source document carries: ``mig-`` + 32 hex digits (36 characters,
    within every bundled provider's key field). Deterministic, so every attempt of the run uses the same."""
    digest = hashlib.sha256(f"{run_id}\x1f{kind}\x1f{source_id}".encode()).hexdigest()
    return "mig-" + digest[:32]


@dataclass(frozen=True)
class Entry:
    """One source document of a run, as the journal has it."""

    run_id: str
    kind: Kind
    source_id: str
    key: str
    state: EntryState
    target_id: str | None = None
    #: Why the entry failed or was skipped (a field the target cannot carry, an error's message).
    reason: str | None = None
    #: What verification compares, as strings (e.g. ``{"number": "2026-001", "total": "121.00"}``): the
    #: source's facts from :meth:`Journal.plan`, updated by :meth:`Journal.complete`'s ``facts``.
    facts: Mapping[str, str] = field(default_factory=dict)
    #: How many times the entry was claimed.
    attempts: int = 0
    #: Set by :meth:`Journal.claim` when the entry was already in flight: a create may have landed, so the
    #: target must be searched by :attr:`key` before anything is created.
    resumed: bool = False
    owner: str | None = None


@runtime_checkable
class Journal(Protocol):
    """Where a migration keeps its progress. Every method is atomic and safe from several threads and
    processes; see the module docstring for the states and the claim rules."""

    def plan(self, run: RunSpec, kind: Kind, source_id: str, facts: Mapping[str, str]) -> Entry:
        """Make sure the entry exists: a new one is ``planned`` with ``facts`` and its key; an existing one
        keeps its state and target id, and its facts are replaced only while it is ``planned`` or
        ``failed`` (what a done entry was verified against does not move). Returns the entry as stored."""
        ...

    def claim(self, run: RunSpec, kind: Kind, source_id: str, owner: str, lease_seconds: float) -> Entry | None:
        """Permission to write this document, for ``lease_seconds``: creates the entry (``planned``, no
        facts) if absent, then moves a ``planned`` or ``failed`` entry, an ``in_flight`` one of the same
        owner or one whose lease ended to ``in_flight`` for ``owner`` (attempts + 1; ``resumed`` when it
        was in flight before) and returns it. Returns None when the entry is ``done`` or ``skipped``, or
        held by another owner whose lease has not ended. Two owners never hold one entry at once."""
        ...

    def complete(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str, target_id: str, facts: Mapping[str, str]
    ) -> Entry:
        """Record the target document: ``done`` with ``target_id``, ``facts`` merged into the entry's.
        The owner must hold the claim (else :class:`LostClaim`); completing a ``done`` entry again with
        the same target id is a no-op (a retry after a lost answer from a database)."""
        ...

    def fail(self, run: RunSpec, kind: Kind, source_id: str, owner: str, reason: str) -> Entry:
        """``failed`` with ``reason``; the claim ends and a later claim may try again. Holder only
        (:class:`LostClaim`). Fail only when the write is known not to have landed, or a search by key on
        the next attempt will find it (the key stays the same)."""
        ...

    def skip(self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, reason: str) -> Entry:
        """``skipped`` with ``reason`` (the target cannot carry this kind, or the document depends on one
        that was skipped): creates the entry if absent. Refused (:class:`LostClaim`) for a ``done`` entry or
        one another owner holds; ``owner=None`` for an entry nobody holds."""
        ...

    def get(self, run: RunSpec, kind: Kind, source_id: str) -> Entry | None:
        """The entry, or None."""
        ...

    def by_target(self, run: RunSpec, kind: Kind, target_id: str) -> Entry | None:
        """The entry whose target document has this id (``done`` entries only), or None."""
        ...

    def entries(self, run: RunSpec, kind: Kind | None = None, state: EntryState | None = None) -> Iterator[Entry]:
        """The run's entries (of one kind, in one state), in source id order of insertion, read in pages
        (the iterator holds no lock and no more than a page in memory)."""
        ...

    def counts(self, run: RunSpec) -> dict[Kind, dict[EntryState, int]]:
        """How many entries of each kind are in each state (kinds and states with none are left out)."""
        ...

    def release_owner(self, owner: str) -> int:
        """End every claim ``owner`` holds, in every run (their entries stay ``in_flight``, claimable at
        once, ``resumed`` on the next claim). Returns how many claims ended."""
        ...

    def owners(self) -> list[str]:
        """Owners holding at least one claim, in any run (a supervisor checks whether they still live)."""
        ...

    def close(self) -> None:
        """Release connections; the journal's data stays."""
        ...


# --------------------------------------------------------------------------------------------- SQLite
def _leased(holder: object, lease_until: object, now: float) -> bool:
    return holder is not None and lease_until is not None and float(str(lease_until)) > now


def may_claim(state: EntryState, holder: object, lease_until: object, owner: str, now: float) -> bool:
    """Whether ``owner`` may claim an entry in ``state``: never a finished one, nor one another live owner
    holds (its lease not yet run out). Shared by every backend, so they decide alike."""
    if state in (EntryState.DONE, EntryState.SKIPPED):
        return False
    return not (state is EntryState.IN_FLIGHT and _leased(holder, lease_until, now) and holder != owner)


def check_held(
    run_id: str,
    kind: str,
    source_id: str,
    state: EntryState,
    holder: object,
    lease_until: object,
    owner: str | None,
    now: float,
) -> None:
    """Raise :class:`LostClaim` unless ``owner`` may finish the entry: it holds the claim, or (``owner`` None,
    a skip decided before any claim) nobody holds a live one and it is not done."""
    if state is EntryState.IN_FLIGHT and owner is not None and holder == owner:
        return
    live = state is EntryState.IN_FLIGHT and _leased(holder, lease_until, now)
    if owner is None and not live and state is not EntryState.DONE:
        return
    raise LostClaim(f"{kind} {source_id!r} ({state.value}) is not held by {owner!r} in run {run_id}")


class _Handle:
    """One thread's connection; closed when the thread's locals go (sqlite3 connections take no weakref)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __del__(self) -> None:
        self.db.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    target_id TEXT,
    reason TEXT,
    facts TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until REAL,
    UNIQUE (run_id, kind, source_id)
);
CREATE INDEX IF NOT EXISTS entries_target ON entries (run_id, kind, target_id);
CREATE INDEX IF NOT EXISTS entries_owner ON entries (owner) WHERE owner IS NOT NULL;
"""
_COLUMNS = "run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, lease_until"
_PAGE = 500


class SQLiteJournal:
    """A :class:`Journal` in one SQLite file (WAL). Each thread has its own connection; every change is one
    ``BEGIN IMMEDIATE`` transaction, which serialises writers across the processes sharing the file."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        # Handles of live threads only: a thread's handle (and its connection) goes when the thread does,
        # so the bulk helper's short-lived worker threads do not leave connections and caches behind.
        self._all: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._guard = threading.Lock()
        db = self._db()
        for statement in filter(str.strip, _SCHEMA.split(";")):
            with self._write(db):
                db.execute(statement)

    def __repr__(self) -> str:
        return f"<SQLiteJournal {str(self.path)!r}>"

    # -- connections -----------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable against a process kill
            db.execute("PRAGMA busy_timeout=60000")
            db.execute("PRAGMA cache_size=-1024")  # 1 MiB per connection: the working set is an index or two
            handle = _Handle(db)
            self._local.handle = handle
            with self._guard:
                self._all.add(handle)
        return handle.db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: object, *_: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _write(self, db: sqlite3.Connection | None = None) -> SQLiteJournal._Tx:
        return SQLiteJournal._Tx(db or self._db())

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def _entry(row: tuple[object, ...], *, resumed: bool = False) -> Entry:
        run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, _lease = row
        return Entry(
            run_id=str(run_id),
            kind=str(kind),  # type: ignore[arg-type]
            source_id=str(source_id),
            key=str(key),
            state=EntryState(str(state)),
            target_id=None if target_id is None else str(target_id),
            reason=None if reason is None else str(reason),
            facts=json.loads(str(facts)),
            attempts=int(str(attempts)),
            resumed=resumed,
            owner=None if owner is None else str(owner),
        )

    def _row(self, db: sqlite3.Connection, run_id: str, kind: Kind, source_id: str) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = db.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE run_id=? AND kind=? AND source_id=?",  # noqa: S608 - constants
            (run_id, kind, source_id),
        ).fetchone()
        return row

    def _ensure(self, db: sqlite3.Connection, run: RunSpec, kind: Kind, source_id: str) -> tuple[object, ...]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        run_id = run.run_id
        db.execute(
            "INSERT OR IGNORE INTO entries (run_id, kind, source_id, key, state) VALUES (?, ?, ?, ?, ?)",
            (run_id, kind, source_id, reconciliation_key(run_id, kind, source_id), EntryState.PLANNED.value),
        )
        row = self._row(db, run_id, kind, source_id)
        assert row is not None
        return row

    def get(self, run: RunSpec, kind: Kind, source_id: str) -> Entry | None:
        row = self._row(self._db(), run.run_id, kind, source_id)
        return None if row is None else self._entry(row)

    def by_target(self, run: RunSpec, kind: Kind, target_id: str) -> Entry | None:
        row = (
            self._db()
            .execute(
                f"SELECT {_COLUMNS} FROM entries WHERE run_id=? AND kind=? AND target_id=? AND state=?",  # noqa: S608
                (run.run_id, kind, target_id, EntryState.DONE.value),
            )
            .fetchone()
        )
        return None if row is None else self._entry(row)

    def entries(self, run: RunSpec, kind: Kind | None = None, state: EntryState | None = None) -> Iterator[Entry]:
        where, args = ["run_id=?"], [run.run_id]
        if kind is not None:
            where.append("kind=?")
            args.append(kind)
        if state is not None:
            where.append("state=?")
            args.append(state.value)
        last = 0
        while True:
            rows = (
                self._db()
                .execute(
                    f"SELECT seq, {_COLUMNS} FROM entries WHERE {' AND '.join(where)} AND seq>? ORDER BY seq LIMIT ?",  # noqa: S608
                    (*args, last, _PAGE),
                )
                .fetchall()
            )
            for row in rows:
                yield self._entry(row[1:])
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def counts(self, run: RunSpec) -> dict[Kind, dict[EntryState, int]]:
        out: dict[Kind, dict[EntryState, int]] = {}
        for kind, state, n in self._db().execute(
            "SELECT kind, state, COUNT(*) FROM entries WHERE run_id=? GROUP BY kind, state", (run.run_id,)
        ):
            out.setdefault(kind, {})[EntryState(state)] = n
        return out

    def owners(self) -> list[str]:
        now = self._clock()
        return [
            str(owner)
            for (owner,) in self._db().execute(
                "SELECT DISTINCT owner FROM entries WHERE owner IS NOT NULL AND lease_until > ? ORDER BY owner",
                (now,),
            )
        ]

    # -- writing ---------------------------------------------------------------------------------
    def plan(self, run: RunSpec, kind: Kind, source_id: str, facts: Mapping[str, str]) -> Entry:
        with self._write() as db:
            row = self._ensure(db, run, kind, source_id)
            if EntryState(str(row[4])) in (EntryState.PLANNED, EntryState.FAILED):
                db.execute(
                    "UPDATE entries SET facts=? WHERE run_id=? AND kind=? AND source_id=?",
                    (json.dumps(dict(facts), sort_keys=True), run.run_id, kind, source_id),
                )
                updated = self._row(db, run.run_id, kind, source_id)
                assert updated is not None
                row = updated
        return self._entry(row)

    def claim(self, run: RunSpec, kind: Kind, source_id: str, owner: str, lease_seconds: float) -> Entry | None:
        now = self._clock()
        with self._write() as db:
            row = self._ensure(db, run, kind, source_id)
            state = EntryState(str(row[4]))
            if not may_claim(state, row[9], row[10], owner, now):
                return None
            db.execute(
                "UPDATE entries SET state=?, owner=?, lease_until=?, attempts=attempts+1 "
                "WHERE run_id=? AND kind=? AND source_id=?",
                (EntryState.IN_FLIGHT.value, owner, now + lease_seconds, run.run_id, kind, source_id),
            )
            claimed = self._row(db, run.run_id, kind, source_id)
            assert claimed is not None
        return self._entry(claimed, resumed=state is EntryState.IN_FLIGHT)

    def _held(self, db: sqlite3.Connection, run: RunSpec, kind: Kind, source_id: str, owner: str | None) -> None:
        row = self._row(db, run.run_id, kind, source_id)
        if row is None:
            raise LostClaim(f"{kind} {source_id!r} has no entry in run {run.run_id}")
        check_held(run.run_id, kind, source_id, EntryState(str(row[4])), row[9], row[10], owner, self._clock())

    def complete(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str, target_id: str, facts: Mapping[str, str]
    ) -> Entry:
        with self._write() as db:
            row = self._row(db, run.run_id, kind, source_id)
            if not (row is not None and EntryState(str(row[4])) is EntryState.DONE and row[5] == target_id):
                self._held(db, run, kind, source_id, owner)
                assert row is not None
                merged = {**json.loads(str(row[7])), **facts}
                db.execute(
                    "UPDATE entries SET state=?, target_id=?, facts=?, reason=NULL, owner=NULL, lease_until=NULL "
                    "WHERE run_id=? AND kind=? AND source_id=?",
                    (
                        EntryState.DONE.value,
                        target_id,
                        json.dumps(merged, sort_keys=True),
                        run.run_id,
                        kind,
                        source_id,
                    ),
                )
                row = self._row(db, run.run_id, kind, source_id)
        assert row is not None
        return self._entry(row)

    def _finish(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, state: EntryState, reason: str
    ) -> Entry:
        with self._write() as db:
            if state is EntryState.SKIPPED:
                self._ensure(db, run, kind, source_id)
            self._held(db, run, kind, source_id, owner)
            db.execute(
                "UPDATE entries SET state=?, reason=?, owner=NULL, lease_until=NULL "
                "WHERE run_id=? AND kind=? AND source_id=?",
                (state.value, reason, run.run_id, kind, source_id),
            )
            row = self._row(db, run.run_id, kind, source_id)
        assert row is not None
        return self._entry(row)

    def fail(self, run: RunSpec, kind: Kind, source_id: str, owner: str, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.FAILED, reason)

    def skip(self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.SKIPPED, reason)

    def release_owner(self, owner: str) -> int:
        with self._write() as db:
            cursor = db.execute("UPDATE entries SET owner=NULL, lease_until=NULL WHERE owner=?", (owner,))
            return cursor.rowcount

    def close(self) -> None:
        with self._guard:
            for handle in list(self._all):
                handle.db.close()
            self._all.clear()
        self._local = threading.local()
