"""The journal's rules written once in SQL for every SQL backend, and the embedded one, :class:`SQLiteJournal`
(``invoicekit.contrib.postgres.PostgresJournal`` is the other).

A backend says only what differs between databases: how it opens a transaction and reads outside one, how it
runs a statement (placeholders, the table's name), how it stores the facts, whose clock leases run on, and
whether a row read inside a transaction must be locked (PostgreSQL's ``FOR UPDATE``; SQLite's ``BEGIN
IMMEDIATE`` already holds the whole file). Every statement here is written with ``?`` placeholders and
``{t}`` for the table; the statements and the decisions (:func:`may_claim`, :func:`check_held`) are the same
for every backend, so they cannot drift apart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from invoicekit.migrate._journal import (
    KINDS,
    Entry,
    EntryState,
    Kind,
    LostClaim,
    RunSpec,
    check_held,
    may_claim,
    reconciliation_key,
)

__all__ = ["COLUMNS", "SQLiteJournal", "SqlJournal", "create_table"]

COLUMNS = "run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, lease_until"
# Rows per read of entries(): the iterator holds no more than this in memory, and no lock between reads.
_PAGE = 500
_ROW = f"SELECT {COLUMNS} FROM {{t}} WHERE run_id=? AND kind=? AND source_id=?"  # noqa: S608 - constants


class Cursor(Protocol):
    """What the base reads from a statement's result (sqlite3's and psycopg's cursors both are)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlJournal(ABC):
    """A :class:`~invoicekit.migrate.Journal` over one SQL table; subclasses name the database's differences."""

    #: Appended to a row read inside a transaction that may change the row.
    _lock = ""

    @abstractmethod
    def _read(self) -> Any:
        """A connection for reads outside a transaction (they see committed data)."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """One transaction that serialises with every other writer of the entry; yields its connection."""

    @abstractmethod
    def _run(self, db: Any, text: str, args: tuple[Any, ...]) -> Cursor:
        """Run ``text`` (``?`` placeholders, ``{t}`` for the table) on ``db``."""

    @abstractmethod
    def _now(self, db: Any) -> float:
        """The time leases are measured against, in seconds."""

    @abstractmethod
    def _facts_in(self, facts: Mapping[str, str]) -> object:
        """Facts as the ``facts`` column stores them."""

    @abstractmethod
    def _facts_out(self, stored: object) -> dict[str, str]:
        """The ``facts`` column as a dict."""

    # -- reading ---------------------------------------------------------------------------------
    def _entry(self, row: tuple[Any, ...], *, resumed: bool = False) -> Entry:
        run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, _lease = row
        return Entry(
            run_id=str(run_id),
            kind=kind,
            source_id=str(source_id),
            key=str(key),
            state=EntryState(str(state)),
            target_id=None if target_id is None else str(target_id),
            reason=None if reason is None else str(reason),
            facts=self._facts_out(facts),
            attempts=int(attempts),
            resumed=resumed,
            owner=None if owner is None else str(owner),
        )

    def _row(self, db: Any, run_id: str, kind: str, source_id: str, *, lock: bool = False) -> tuple[Any, ...] | None:
        query = _ROW + self._lock if lock else _ROW
        row: tuple[Any, ...] | None = self._run(db, query, (run_id, kind, source_id)).fetchone()
        return row

    def _locked(self, db: Any, run: RunSpec, kind: str, source_id: str) -> tuple[Any, ...]:
        """The entry's row as it is now, within a transaction that already locked it."""
        row = self._row(db, run.run_id, kind, source_id)
        assert row is not None
        return row

    def _ensure(self, db: Any, run: RunSpec, kind: Kind, source_id: str) -> tuple[Any, ...]:
        """The entry's row, created ``planned`` if absent, locked until the transaction ends."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        run_id = run.run_id
        self._run(
            db,
            "INSERT INTO {t} (run_id, kind, source_id, key, state) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, kind, source_id) DO NOTHING",
            (run_id, kind, source_id, reconciliation_key(run_id, kind, source_id), EntryState.PLANNED.value),
        )
        row = self._row(db, run_id, kind, source_id, lock=True)
        assert row is not None
        return row

    def get(self, run: RunSpec, kind: Kind, source_id: str) -> Entry | None:
        row = self._row(self._read(), run.run_id, kind, source_id)
        return None if row is None else self._entry(row)

    def by_target(self, run: RunSpec, kind: Kind, target_id: str) -> Entry | None:
        row = self._run(
            self._read(),
            f"SELECT {COLUMNS} FROM {{t}} WHERE run_id=? AND kind=? AND target_id=? AND state=?",  # noqa: S608
            (run.run_id, kind, target_id, EntryState.DONE.value),
        ).fetchone()
        return None if row is None else self._entry(row)

    def entries(self, run: RunSpec, kind: Kind | None = None, state: EntryState | None = None) -> Iterator[Entry]:
        where, args = ["run_id=?"], [run.run_id]
        if kind is not None:
            where.append("kind=?")
            args.append(kind)
        if state is not None:
            where.append("state=?")
            args.append(state.value)
        query = f"SELECT seq, {COLUMNS} FROM {{t}} WHERE {' AND '.join(where)} AND seq>? ORDER BY seq LIMIT ?"  # noqa: S608
        last = 0
        while True:
            rows = self._run(self._read(), query, (*args, last, _PAGE)).fetchall()
            for row in rows:
                yield self._entry(row[1:])
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def counts(self, run: RunSpec) -> dict[Kind, dict[EntryState, int]]:
        out: dict[Kind, dict[EntryState, int]] = {}
        rows = self._run(
            self._read(), "SELECT kind, state, COUNT(*) FROM {t} WHERE run_id=? GROUP BY kind, state", (run.run_id,)
        )
        for kind, state, n in rows:
            out.setdefault(kind, {})[EntryState(state)] = int(n)
        return out

    def owners(self) -> list[str]:
        db = self._read()
        rows = self._run(
            db,
            "SELECT DISTINCT owner FROM {t} WHERE owner IS NOT NULL AND lease_until > ? ORDER BY owner",
            (self._now(db),),
        )
        return [str(owner) for (owner,) in rows]

    # -- writing ---------------------------------------------------------------------------------
    def plan(self, run: RunSpec, kind: Kind, source_id: str, facts: Mapping[str, str]) -> Entry:
        with self._tx() as db:
            row = self._ensure(db, run, kind, source_id)
            if EntryState(str(row[4])) in (EntryState.PLANNED, EntryState.FAILED):
                self._run(
                    db,
                    "UPDATE {t} SET facts=? WHERE run_id=? AND kind=? AND source_id=?",
                    (self._facts_in(dict(facts)), run.run_id, kind, source_id),
                )
                row = self._locked(db, run, kind, source_id)
        return self._entry(row)

    def claim(self, run: RunSpec, kind: Kind, source_id: str, owner: str, lease_seconds: float) -> Entry | None:
        with self._tx() as db:
            row = self._ensure(db, run, kind, source_id)
            now = self._now(db)
            state = EntryState(str(row[4]))
            if not may_claim(state, row[9], row[10], owner, now):
                return None
            self._run(
                db,
                "UPDATE {t} SET state=?, owner=?, lease_until=?, attempts=attempts+1 "
                "WHERE run_id=? AND kind=? AND source_id=?",
                (EntryState.IN_FLIGHT.value, owner, now + lease_seconds, run.run_id, kind, source_id),
            )
            claimed = self._locked(db, run, kind, source_id)
        return self._entry(claimed, resumed=state is EntryState.IN_FLIGHT)

    def _held(self, db: Any, run: RunSpec, kind: Kind, source_id: str, owner: str | None) -> tuple[Any, ...]:
        """The entry's row, locked, if ``owner`` may finish it; else :class:`LostClaim`."""
        row = self._row(db, run.run_id, kind, source_id, lock=True)
        if row is None:
            raise LostClaim(f"{kind} {source_id!r} has no entry in run {run.run_id}")
        check_held(run.run_id, kind, source_id, EntryState(str(row[4])), row[9], row[10], owner, self._now(db))
        return row

    def complete(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str, target_id: str, facts: Mapping[str, str]
    ) -> Entry:
        with self._tx() as db:
            row = self._row(db, run.run_id, kind, source_id, lock=True)
            if row is not None and EntryState(str(row[4])) is EntryState.DONE and row[5] == target_id:
                return self._entry(row)  # a retry after a lost answer: already recorded
            row = self._held(db, run, kind, source_id, owner)
            # The row is locked (or the whole file is): merging here loses no concurrent update.
            merged = {**self._facts_out(row[7]), **facts}
            self._run(
                db,
                "UPDATE {t} SET state=?, target_id=?, facts=?, reason=NULL, owner=NULL, lease_until=NULL "
                "WHERE run_id=? AND kind=? AND source_id=?",
                (EntryState.DONE.value, target_id, self._facts_in(merged), run.run_id, kind, source_id),
            )
            return self._entry(self._locked(db, run, kind, source_id))

    def _finish(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, state: EntryState, reason: str
    ) -> Entry:
        with self._tx() as db:
            if state is EntryState.SKIPPED:
                self._ensure(db, run, kind, source_id)
            self._held(db, run, kind, source_id, owner)
            self._run(
                db,
                "UPDATE {t} SET state=?, reason=?, owner=NULL, lease_until=NULL "
                "WHERE run_id=? AND kind=? AND source_id=?",
                (state.value, reason, run.run_id, kind, source_id),
            )
            return self._entry(self._locked(db, run, kind, source_id))

    def fail(self, run: RunSpec, kind: Kind, source_id: str, owner: str, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.FAILED, reason)

    def skip(self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.SKIPPED, reason)

    def release_owner(self, owner: str) -> int:
        with self._tx() as db:
            return self._run(db, "UPDATE {t} SET owner=NULL, lease_until=NULL WHERE owner=?", (owner,)).rowcount


class _Handle:
    """One thread's connection; closed when the thread's locals go (sqlite3 connections take no weakref)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __del__(self) -> None:
        self.db.close()


def create_table(table: str, *, seq: str, facts: str, real: str) -> str:
    """The journal's table for a database whose types for the sequence, the facts and a float are given."""
    return f"""
    CREATE TABLE IF NOT EXISTS {table} (
        seq {seq},
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        source_id TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        target_id TEXT,
        reason TEXT,
        facts {facts},
        attempts INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        lease_until {real},
        UNIQUE (run_id, kind, source_id)
    )
    """


_SCHEMA = (
    create_table("entries", seq="INTEGER PRIMARY KEY AUTOINCREMENT", facts="TEXT NOT NULL DEFAULT '{}'", real="REAL"),
    "CREATE INDEX IF NOT EXISTS entries_target ON entries (run_id, kind, target_id)",
    "CREATE INDEX IF NOT EXISTS entries_owner ON entries (owner) WHERE owner IS NOT NULL",
)


class _Immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception): the file's write lock, at once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class SQLiteJournal(SqlJournal):
    """A :class:`~invoicekit.migrate.Journal` in one SQLite file (WAL). Each thread has its own connection;
    every change is one ``BEGIN IMMEDIATE`` transaction, which serialises writers across the processes
    sharing the file."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        # Handles of live threads only: a thread's handle (and its connection) goes when the thread does,
        # so the bulk helper's short-lived worker threads do not leave connections and caches behind.
        self._all: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._guard = threading.Lock()
        db = self._read()
        for statement in _SCHEMA:
            with _Immediate(db):
                db.execute(statement)

    def __repr__(self) -> str:
        return f"<SQLiteJournal {str(self.path)!r}>"

    def _read(self) -> sqlite3.Connection:
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

    def _tx(self) -> _Immediate:
        return _Immediate(self._read())

    def _run(self, db: sqlite3.Connection, text: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        return db.execute(text.format(t="entries"), args)

    def _now(self, db: sqlite3.Connection) -> float:
        return self._clock()

    def _facts_in(self, facts: Mapping[str, str]) -> str:
        return json.dumps(dict(facts), sort_keys=True)

    def _facts_out(self, stored: object) -> dict[str, str]:
        facts: dict[str, str] = json.loads(str(stored))
        return facts

    def close(self) -> None:
        """Close every thread's connection; the file stays."""
        with self._guard:
            for handle in list(self._all):
                handle.db.close()
            self._all.clear()
        self._local = threading.local()
