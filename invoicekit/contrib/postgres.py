"""The migration journal in PostgreSQL, for workers on several hosts (``invoicekit[postgres]``).

:class:`PostgresJournal` implements :class:`invoicekit.migrate.Journal` with the same semantics as the
embedded :class:`~invoicekit.migrate.SQLiteJournal` (both pass :class:`invoicekit.migrate.testing.JournalContract`)::

    journal = PostgresJournal("postgresql://invoicekit@db.internal/invoicing")
    invoicekit.migrate(source, target, journal=journal)

Every change is one transaction that locks the entry's row (``SELECT ... FOR UPDATE``), so two workers
never hold one entry, whichever hosts they run on. Leases run on the database server's clock
(``clock_timestamp()``), so the workers' clocks need not agree; ``clock=`` replaces it (tests).
The table (``invoicekit_journal`` unless ``table=`` says otherwise) is created when missing.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from invoicekit.migrate import KINDS, Entry, EntryState, Kind, LostClaim, RunSpec, reconciliation_key
from invoicekit.migrate._journal import check_held, may_claim

__all__ = ["PostgresJournal"]

_COLUMNS = "run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, lease_until"
_PAGE = 500
# Any constant: serialises the CREATE TABLE IF NOT EXISTS of workers starting together (it can race).
_SCHEMA_LOCK = 0x696B6A6E


class PostgresJournal:
    """A :class:`~invoicekit.migrate.Journal` in a PostgreSQL table; one connection per thread."""

    def __init__(
        self, dsn: str, *, table: str = "invoicekit_journal", clock: Callable[[], float] | None = None
    ) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", table):
            raise ValueError(f"table must be a plain lower-case SQL name, not {table!r}")
        self._dsn = dsn
        self._table = sql.Identifier(table)
        self._clock = clock
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._guard = threading.Lock()
        with self._tx() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute(
                self._sql(
                    """
                    CREATE TABLE IF NOT EXISTS {t} (
                        seq BIGSERIAL PRIMARY KEY,
                        run_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        source_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        state TEXT NOT NULL,
                        target_id TEXT,
                        reason TEXT,
                        facts JSONB NOT NULL DEFAULT '{{}}',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        owner TEXT,
                        lease_until DOUBLE PRECISION,
                        UNIQUE (run_id, kind, source_id)
                    )
                    """
                )
            )
            db.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (run_id, kind, target_id)").format(
                    i=sql.Identifier(f"{table}_target"), t=self._table
                )
            )
            db.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (owner) WHERE owner IS NOT NULL").format(
                    i=sql.Identifier(f"{table}_owner"), t=self._table
                )
            )

    def __repr__(self) -> str:
        # The DSN may hold a password: only the table is shown.
        return f"<PostgresJournal table={self._table.as_string(None)}>"

    # -- connections -----------------------------------------------------------------------------
    def _db(self) -> psycopg.Connection[Any]:
        db: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        if db is None or db.closed:
            db = psycopg.connect(self._dsn, autocommit=True)
            self._local.db = db
            with self._guard:
                self._all.append(db)
        return db

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        """One explicit transaction on the thread's autocommit connection (reads outside one see committed data)."""
        db = self._db()
        with db.transaction():
            yield db

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(t=self._table)

    def _now(self, db: psycopg.Connection[Any]) -> float:
        if self._clock is not None:
            return self._clock()
        row = db.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        assert row is not None
        return float(row[0])

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def _entry(row: tuple[Any, ...], *, resumed: bool = False) -> Entry:
        run_id, kind, source_id, key, state, target_id, reason, facts, attempts, owner, _lease = row
        return Entry(
            run_id=run_id,
            kind=kind,
            source_id=source_id,
            key=key,
            state=EntryState(state),
            target_id=target_id,
            reason=reason,
            facts=dict(facts),
            attempts=int(attempts),
            resumed=resumed,
            owner=owner,
        )

    def _row(
        self, db: psycopg.Connection[Any], run_id: str, kind: str, source_id: str, *, lock: bool = False
    ) -> tuple[Any, ...] | None:
        query = f"SELECT {_COLUMNS} FROM {{t}} WHERE run_id=%s AND kind=%s AND source_id=%s"  # noqa: S608 - constants
        row: tuple[Any, ...] | None = db.execute(
            self._sql(query + (" FOR UPDATE" if lock else "")), (run_id, kind, source_id)
        ).fetchone()
        return row

    def _ensure(self, db: psycopg.Connection[Any], run: RunSpec, kind: Kind, source_id: str) -> tuple[Any, ...]:
        """The entry's row, created ``planned`` if absent, locked until the transaction ends."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        run_id = run.run_id
        db.execute(
            self._sql(
                "INSERT INTO {t} (run_id, kind, source_id, key, state) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (run_id, kind, source_id) DO NOTHING"
            ),
            (run_id, kind, source_id, reconciliation_key(run_id, kind, source_id), EntryState.PLANNED.value),
        )
        row = self._row(db, run_id, kind, source_id, lock=True)
        assert row is not None
        return row

    def get(self, run: RunSpec, kind: Kind, source_id: str) -> Entry | None:
        row = self._row(self._db(), run.run_id, kind, source_id)
        return None if row is None else self._entry(row)

    def by_target(self, run: RunSpec, kind: Kind, target_id: str) -> Entry | None:
        row = (
            self._db()
            .execute(
                self._sql(
                    f"SELECT {_COLUMNS} FROM {{t}} WHERE run_id=%s AND kind=%s AND target_id=%s AND state=%s"  # noqa: S608
                ),
                (run.run_id, kind, target_id, EntryState.DONE.value),
            )
            .fetchone()
        )
        return None if row is None else self._entry(row)

    def entries(self, run: RunSpec, kind: Kind | None = None, state: EntryState | None = None) -> Iterator[Entry]:
        where, args = ["run_id=%s"], [run.run_id]
        if kind is not None:
            where.append("kind=%s")
            args.append(kind)
        if state is not None:
            where.append("state=%s")
            args.append(state.value)
        query = self._sql(
            f"SELECT seq, {_COLUMNS} FROM {{t}} WHERE {' AND '.join(where)} AND seq>%s ORDER BY seq LIMIT %s"  # noqa: S608
        )
        last = 0
        while True:
            rows = self._db().execute(query, (*args, last, _PAGE)).fetchall()
            for row in rows:
                yield self._entry(row[1:])
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def counts(self, run: RunSpec) -> dict[Kind, dict[EntryState, int]]:
        out: dict[Kind, dict[EntryState, int]] = {}
        rows = self._db().execute(
            self._sql("SELECT kind, state, COUNT(*) FROM {t} WHERE run_id=%s GROUP BY kind, state"), (run.run_id,)
        )
        for kind, state, n in rows:
            out.setdefault(kind, {})[EntryState(state)] = int(n)
        return out

    def owners(self) -> list[str]:
        db = self._db()
        rows = db.execute(
            self._sql("SELECT DISTINCT owner FROM {t} WHERE owner IS NOT NULL AND lease_until > %s ORDER BY owner"),
            (self._now(db),),
        )
        return [str(owner) for (owner,) in rows]

    # -- writing ---------------------------------------------------------------------------------
    def plan(self, run: RunSpec, kind: Kind, source_id: str, facts: Mapping[str, str]) -> Entry:
        with self._tx() as db:
            row = self._ensure(db, run, kind, source_id)
            if EntryState(row[4]) in (EntryState.PLANNED, EntryState.FAILED):
                db.execute(
                    self._sql("UPDATE {t} SET facts=%s WHERE run_id=%s AND kind=%s AND source_id=%s"),
                    (Jsonb(dict(facts)), run.run_id, kind, source_id),
                )
                row = self._locked(db, run, kind, source_id)
        return self._entry(row)

    def _locked(self, db: psycopg.Connection[Any], run: RunSpec, kind: Kind, source_id: str) -> tuple[Any, ...]:
        row = self._row(db, run.run_id, kind, source_id)
        assert row is not None
        return row

    def claim(self, run: RunSpec, kind: Kind, source_id: str, owner: str, lease_seconds: float) -> Entry | None:
        with self._tx() as db:
            row = self._ensure(db, run, kind, source_id)
            now = self._now(db)
            state = EntryState(row[4])
            if not may_claim(state, row[9], row[10], owner, now):
                return None
            db.execute(
                self._sql(
                    "UPDATE {t} SET state=%s, owner=%s, lease_until=%s, attempts=attempts+1 "
                    "WHERE run_id=%s AND kind=%s AND source_id=%s"
                ),
                (EntryState.IN_FLIGHT.value, owner, now + lease_seconds, run.run_id, kind, source_id),
            )
            claimed = self._locked(db, run, kind, source_id)
        return self._entry(claimed, resumed=state is EntryState.IN_FLIGHT)

    def _held(self, db: psycopg.Connection[Any], run: RunSpec, kind: Kind, source_id: str, owner: str | None) -> None:
        row = self._row(db, run.run_id, kind, source_id, lock=True)
        if row is None:
            raise LostClaim(f"{kind} {source_id!r} has no entry in run {run.run_id}")
        check_held(run.run_id, kind, source_id, EntryState(row[4]), row[9], row[10], owner, self._now(db))

    def complete(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str, target_id: str, facts: Mapping[str, str]
    ) -> Entry:
        with self._tx() as db:
            row = self._row(db, run.run_id, kind, source_id, lock=True)
            if row is not None and EntryState(row[4]) is EntryState.DONE and row[5] == target_id:
                return self._entry(row)
            self._held(db, run, kind, source_id, owner)
            assert row is not None
            db.execute(
                self._sql(
                    "UPDATE {t} SET state=%s, target_id=%s, facts=facts || %s::jsonb, reason=NULL, owner=NULL, "
                    "lease_until=NULL WHERE run_id=%s AND kind=%s AND source_id=%s"
                ),
                (EntryState.DONE.value, target_id, Jsonb(dict(facts)), run.run_id, kind, source_id),
            )
            return self._entry(self._locked(db, run, kind, source_id))

    def _finish(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, state: EntryState, reason: str
    ) -> Entry:
        with self._tx() as db:
            if state is EntryState.SKIPPED:
                self._ensure(db, run, kind, source_id)
            self._held(db, run, kind, source_id, owner)
            db.execute(
                self._sql(
                    "UPDATE {t} SET state=%s, reason=%s, owner=NULL, lease_until=NULL "
                    "WHERE run_id=%s AND kind=%s AND source_id=%s"
                ),
                (state.value, reason, run.run_id, kind, source_id),
            )
            return self._entry(self._locked(db, run, kind, source_id))

    def fail(self, run: RunSpec, kind: Kind, source_id: str, owner: str, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.FAILED, reason)

    def skip(self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, reason: str) -> Entry:
        return self._finish(run, kind, source_id, owner, EntryState.SKIPPED, reason)

    def release_owner(self, owner: str) -> int:
        with self._tx() as db:
            cursor = db.execute(self._sql("UPDATE {t} SET owner=NULL, lease_until=NULL WHERE owner=%s"), (owner,))
            return cursor.rowcount

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
