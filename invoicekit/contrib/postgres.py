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

from invoicekit.migrate._sql import SqlJournal, create_table

__all__ = ["PostgresJournal"]

# Any constant: serialises the CREATE TABLE IF NOT EXISTS of workers starting together (it can race).
_SCHEMA_LOCK = 0x696B6A6E


class PostgresJournal(SqlJournal):
    """A :class:`~invoicekit.migrate.Journal` in a PostgreSQL table; one connection per thread. The journal's
    statements and rules are the embedded journal's (``invoicekit.migrate._sql``); this class names what
    PostgreSQL does differently."""

    # The entry's row stays locked until the transaction ends: two workers never change one entry at once.
    _lock = " FOR UPDATE"

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
        self._statements: dict[str, sql.Composed] = {}
        with self._tx() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            # "{t}" is the table, formatted by _statement; its doubled braces are JSON's empty object.
            table_sql = create_table(
                "{t}", seq="BIGSERIAL PRIMARY KEY", facts="JSONB NOT NULL DEFAULT '{{}}'", real="DOUBLE PRECISION"
            )
            db.execute(self._statement(table_sql))
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

    def _read(self) -> psycopg.Connection[Any]:
        return self._db()

    def _run(self, db: psycopg.Connection[Any], text: str, args: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        return db.execute(self._statement(text), args)

    def _statement(self, text: str) -> sql.Composed:
        # The base writes sqlite3's "?"; psycopg takes "%s" (no statement holds a literal "?" or "%").
        statement = self._statements.get(text)
        if statement is None:
            statement = sql.SQL(text.replace("?", "%s")).format(t=self._table)
            self._statements[text] = statement
        return statement

    def _now(self, db: psycopg.Connection[Any]) -> float:
        if self._clock is not None:
            return self._clock()
        row = db.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        assert row is not None
        return float(row[0])

    def _facts_in(self, facts: Mapping[str, str]) -> Jsonb:
        return Jsonb(dict(facts))

    def _facts_out(self, stored: object) -> dict[str, str]:
        assert isinstance(stored, dict)  # psycopg reads JSONB as a dict
        return dict(stored)

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
