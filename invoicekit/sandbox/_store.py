"""State stores for sandboxes: collections of JSON records with integer ids, plus named counters.

Records are copied on the way in and out (through a JSON round trip), so a handler that mutates what
``get`` returned cannot corrupt the store, and a :class:`MemoryStore` rejects exactly what a
:class:`SqliteStore` would (a ``Decimal`` or a ``date`` left in a record fails in both, not only after a
restart).

**Transactions.** ``with store.transaction(): ...`` makes what runs inside atomic: a counter read and the
insert that uses it, a read-modify-write of a record. A :class:`MemoryStore` holds a lock; a
:class:`SqliteStore` runs ``BEGIN IMMEDIATE`` on the calling thread's own connection, so it holds across
threads *and* across processes sharing the file (several ``invoicekit sandbox serve NAME --db FILE``, or
uvicorn workers). Transactions nest (the inner ones join the outer one). They belong to a thread: do not
``await`` inside one, or another request on the same event loop runs inside it too.

**Cost.** ``insert``, ``get``, ``last``, ``replace``, ``delete`` and ``next_value`` cost O(1) in the number
of stored records; ``page``, ``find`` (on a field declared with :meth:`index`) and ``count`` cost O(page) in
records decoded. ``all`` decodes the whole collection: keep it for small ones. ``records_read`` counts the
records a store has decoded, so a test can prove what a query costs without timing it.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryStore", "SqliteStore", "StateStore"]

Record = dict[str, Any]
#: A value ``find`` compares: what a JSON field holds, bar objects and lists.
Scalar = str | int | float | bool | None


@runtime_checkable
class StateStore(Protocol):
    """Where a sandbox keeps its state. Every method is thread-safe.

    A record is a JSON-serialisable dict (keep money as strings). ``insert`` assigns the next id of the
    collection and stores it in the record under ``"id"``; ids are never reused, even after a delete,
    as in the databases behind the real APIs.
    """

    records_read: int

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Everything inside the ``with`` block is atomic (across threads, and processes for SQLite)."""
        ...

    def insert(self, collection: str, record: Mapping[str, Any]) -> int:
        """Store a copy of ``record`` under a new id and return that id."""
        ...

    def get(self, collection: str, record_id: int) -> Record | None:
        """Return a copy of the record (with its ``"id"``), or None."""
        ...

    def replace(self, collection: str, record_id: int, record: Mapping[str, Any]) -> None:
        """Overwrite an existing record; raises KeyError when there is none."""
        ...

    def delete(self, collection: str, record_id: int) -> bool:
        """Remove a record; return whether it existed."""
        ...

    def last(self, collection: str) -> Record | None:
        """A copy of the record with the highest id (the one stored last), or None when there is none."""
        ...

    def all(self, collection: str) -> list[Record]:
        """Return copies of every record of the collection, ordered by id."""
        ...

    def page(self, collection: str, offset: int, limit: int) -> list[Record]:
        """At most ``limit`` records after skipping ``offset``, ordered by id."""
        ...

    def count(self, collection: str) -> int:
        """How many records the collection holds."""
        ...

    def index(self, collection: str, field: str) -> None:
        """Declare that :meth:`find` looks records of ``collection`` up by the top-level ``field``."""
        ...

    def find(
        self, collection: str, field: str, value: Scalar, *, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        """Records whose top-level ``field`` equals ``value`` (None: missing or null), ordered by id; with
        ``offset`` and ``limit``, one page of them."""
        ...

    def next_value(self, name: str) -> int:
        """Increment the named counter (starting at 0) and return its new value: 1, 2, 3, ..."""
        ...

    def close(self) -> None:
        """Release the store's resources; it must not be used afterwards."""
        ...


def _encode(record: Mapping[str, Any], record_id: int) -> str:
    data = dict(record)
    data["id"] = record_id
    try:
        return json.dumps(data, allow_nan=False, sort_keys=False)
    except TypeError as exc:
        raise TypeError(f"sandbox records must be plain JSON (keep Decimals and dates as strings): {exc}") from exc


_ID_COUNTER = "__id__:"
# Field names go into SQL text (a JSON path and an index name), so only plain identifiers are accepted.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _field(field: str) -> str:
    if not _FIELD.fullmatch(field):
        raise ValueError(f"an indexed field is a plain identifier (letters, digits, _), not {field!r}")
    return field


def _bounds(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must not be negative (got {offset}, {limit})")
    return offset, limit


def _key(value: Any) -> Any:
    """How a field value compares in ``find``: as SQLite's json_extract compares it (true is 1)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


#: What :func:`_filed_key` answers when only the encoded text can tell.
_DECODE: Any = object()
# Values that come back from a JSON round trip as they went in (a float compares equal to its repr read back).
_ROUND_TRIP = (str, int, float, bool, type(None))
_KEYWORD_KEYS = frozenset({"true", "false", "null", "Infinity", "NaN"})


def _filed_key(record: Mapping[str, Any] | None, field: str, record_id: int) -> Any:
    """The index key of ``record``'s ``field`` as its decoded text would give it, or :data:`_DECODE`.

    Only plain JSON scalars are read from the record itself: a tuple, a dict or a str subclass may encode to
    something that decodes differently, so those (and a missing record) are read from the text."""
    if record is None:
        return _DECODE
    if field == "id":
        return record_id  # _encode writes the id it was given over the record's own
    if field not in record and field in _KEYWORD_KEYS:
        return _DECODE  # json.dumps writes a True, False or None key as "true", "false", "null"
    value = record.get(field)
    if type(value) not in _ROUND_TRIP:
        return _DECODE
    return _key(value)


class _Counted:
    records_read: int = 0

    def _decode(self, text: str) -> Record:
        self.records_read += 1
        value: Record = json.loads(text)
        return value


class MemoryStore(_Counted):
    """A store that lives as long as the process (the default).

    A transaction holds the store's lock and keeps an undo log, so one that raises leaves nothing behind,
    as in SQLite.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Records are kept encoded: decoding on every read is what gives callers independent copies. Ids
        # only grow, so each dict's insertion order is id order.
        self._collections: dict[str, dict[int, str]] = {}
        self._counters: dict[str, int] = {}
        # (collection, field) -> field value -> ids, for the declared indexes.
        self._indexes: dict[tuple[str, str], dict[Any, dict[int, None]]] = {}
        # The same, the other way round: (collection, field) -> id -> the key it is filed under, so that
        # replacing or removing a record need not decode its old text to find its index entries.
        self._filed: dict[tuple[str, str], dict[int, Any]] = {}
        self._depth = 0
        self._undo: list[tuple[str, str, int, str | None]] = []
        self.records_read = 0

    def __repr__(self) -> str:
        return "MemoryStore()"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                yield
            except BaseException:
                if self._depth == 1:
                    self._rollback()
                raise
            finally:
                self._depth -= 1
                if not self._depth:
                    self._undo.clear()

    def _rollback(self) -> None:
        for kind, name, record_id, old in reversed(self._undo):
            if kind == "counter":
                if old is None:
                    self._counters.pop(name, None)
                else:
                    self._counters[name] = int(old)
            else:
                self._put(name, record_id, old)
        self._undo.clear()

    def _put(self, collection: str, record_id: int, text: str | None, record: Mapping[str, Any] | None = None) -> None:
        """Set (or with None remove) one encoded record, keeping the indexes and the undo log.

        ``record`` is what ``text`` encodes, when the caller has it: its indexed values are then read from it
        instead of decoding ``text`` again (the same keys, see :func:`_filed_key`)."""
        records = self._collections.setdefault(collection, {})
        old = records.get(record_id)
        indexed = [(field, table) for (name, field), table in self._indexes.items() if name == collection]
        current: Mapping[str, Any] | None = None
        for field, table in indexed:
            filed = self._filed[collection, field]
            if old is not None:
                ids = table.get(filed.pop(record_id, None))
                if ids is not None:
                    ids.pop(record_id, None)
            if text is not None:
                key = _filed_key(record, field, record_id)
                if key is _DECODE:
                    current = json.loads(text) if current is None else current
                    key = _key(current.get(field))
                table.setdefault(key, {})[record_id] = None
                filed[record_id] = key
        if text is None:
            records.pop(record_id, None)
        else:
            records[record_id] = text
        if self._depth:
            self._undo.append(("record", collection, record_id, old))

    def insert(self, collection: str, record: Mapping[str, Any]) -> int:
        with self._lock:
            record_id = self.next_value(_ID_COUNTER + collection)
            self._put(collection, record_id, _encode(record, record_id), record)
            return record_id

    def get(self, collection: str, record_id: int) -> Record | None:
        with self._lock:
            text = self._collections.get(collection, {}).get(record_id)
        return None if text is None else self._decode(text)

    def replace(self, collection: str, record_id: int, record: Mapping[str, Any]) -> None:
        text = _encode(record, record_id)
        with self._lock:
            if record_id not in self._collections.get(collection, {}):
                raise KeyError(f"{collection} {record_id} does not exist")
            self._put(collection, record_id, text, record)

    def delete(self, collection: str, record_id: int) -> bool:
        with self._lock:
            if record_id not in self._collections.get(collection, {}):
                return False
            self._put(collection, record_id, None)
            return True

    def last(self, collection: str) -> Record | None:
        with self._lock:
            # Ids only grow, so the last inserted is the highest; reversed() of a dict costs O(1).
            text = next(reversed(self._collections.get(collection, {}).values()), None)
        return None if text is None else self._decode(text)

    def all(self, collection: str) -> list[Record]:
        with self._lock:
            texts = list(self._collections.get(collection, {}).values())
        return [self._decode(text) for text in texts]

    def page(self, collection: str, offset: int, limit: int) -> list[Record]:
        offset, limit = _bounds(offset, limit)
        with self._lock:
            texts = list(islice(self._collections.get(collection, {}).values(), offset, offset + limit))
        return [self._decode(text) for text in texts]

    def count(self, collection: str) -> int:
        with self._lock:
            return len(self._collections.get(collection, {}))

    def index(self, collection: str, field: str) -> None:
        with self._lock:
            if (collection, _field(field)) in self._indexes:
                return
            table: dict[Any, dict[int, None]] = {}
            filed: dict[int, Any] = {}
            for record_id, text in self._collections.get(collection, {}).items():
                key = filed[record_id] = _key(json.loads(text).get(field))
                table.setdefault(key, {})[record_id] = None
            self._indexes[(collection, field)] = table
            self._filed[(collection, field)] = filed

    def find(
        self, collection: str, field: str, value: Scalar, *, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        offset, _ = _bounds(offset, limit or 0)
        end = None if limit is None else offset + limit
        with self._lock:
            records = self._collections.get(collection, {})
            table = self._indexes.get((collection, _field(field)))
            if table is not None:
                texts = [records[i] for i in islice(sorted(table.get(_key(value), {})), offset, end)]
            else:  # no index declared: a scan, as SQLite would do
                wanted = _key(value)
                texts = [t for t in records.values() if _key(json.loads(t).get(field)) == wanted][offset:end]
        return [self._decode(text) for text in texts]

    def next_value(self, name: str) -> int:
        with self._lock:
            old = self._counters.get(name)
            value = (old or 0) + 1
            self._counters[name] = value
            if self._depth:
                self._undo.append(("counter", name, 0, None if old is None else str(old)))
            return value

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    id INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

#: How long a writer waits for another connection's transaction (seconds) before SQLite gives up.
BUSY_TIMEOUT = 30.0


class SqliteStore(_Counted):
    """A store in an SQLite file: the state survives restarts and is shared by every process that opens it.

    Each thread gets its own connection (WAL journal, so readers never wait for the writer; a busy timeout,
    so writers queue instead of failing). ``find`` uses an expression index on
    ``json_extract(data, '$.field')`` declared by :meth:`index`: SQLite maintains it on every write, so no
    handler can forget to, and it lives in the file like the records.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records_read = 0
        self._local = threading.local()
        self._lock = threading.Lock()  # guards the list of connections, not the data
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        conn = self._conn
        # WAL is a property of the file: set once, every later connection uses it.
        conn.execute("PRAGMA journal_mode=WAL")
        with self.transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: no implicit transactions; transaction() says BEGIN IMMEDIATE itself.
            # check_same_thread=False only so close() can close every thread's connection.
            # timeout: SQLite's busy handler queues a writer behind another connection's transaction.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.depth = conn, 0
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._conn
        if self._local.depth:
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        # IMMEDIATE takes the write lock up front: two read-modify-writes cannot both read the old state.
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield
        except BaseException:
            self._local.depth = 0
            conn.execute("ROLLBACK")
            raise
        self._local.depth = 0
        conn.execute("COMMIT")

    def _bump(self, name: str) -> int:
        row = self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def insert(self, collection: str, record: Mapping[str, Any]) -> int:
        with self.transaction():
            record_id = self._bump(_ID_COUNTER + collection)
            self._conn.execute(
                "INSERT INTO records (collection, id, data) VALUES (?, ?, ?)",
                (collection, record_id, _encode(record, record_id)),
            )
            return record_id

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self._conn.execute(sql, params).fetchall()

    def get(self, collection: str, record_id: int) -> Record | None:
        rows = self._rows("SELECT data FROM records WHERE collection = ? AND id = ?", (collection, record_id))
        return self._decode(rows[0][0]) if rows else None

    def replace(self, collection: str, record_id: int, record: Mapping[str, Any]) -> None:
        text = _encode(record, record_id)
        with self.transaction():
            cursor = self._conn.execute(
                "UPDATE records SET data = ? WHERE collection = ? AND id = ?", (text, collection, record_id)
            )
            if cursor.rowcount == 0:
                raise KeyError(f"{collection} {record_id} does not exist")

    def delete(self, collection: str, record_id: int) -> bool:
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection, record_id))
            return cursor.rowcount > 0

    def last(self, collection: str) -> Record | None:
        rows = self._rows("SELECT data FROM records WHERE collection = ? ORDER BY id DESC LIMIT 1", (collection,))
        return self._decode(rows[0][0]) if rows else None

    def all(self, collection: str) -> list[Record]:
        rows = self._rows("SELECT data FROM records WHERE collection = ? ORDER BY id", (collection,))
        return [self._decode(row[0]) for row in rows]

    def page(self, collection: str, offset: int, limit: int) -> list[Record]:
        offset, limit = _bounds(offset, limit)
        rows = self._rows(
            "SELECT data FROM records WHERE collection = ? ORDER BY id LIMIT ? OFFSET ?", (collection, limit, offset)
        )
        return [self._decode(row[0]) for row in rows]

    def count(self, collection: str) -> int:
        return int(self._rows("SELECT count(*) FROM records WHERE collection = ?", (collection,))[0][0])

    @staticmethod
    def _extract(field: str) -> str:
        # The same text in the index and the query: SQLite uses an expression index only on an exact match.
        return f"json_extract(data, '$.{_field(field)}')"

    def index(self, collection: str, field: str) -> None:
        # One index per field name, over every collection (the collection is its first column).
        with self.transaction():
            self._conn.execute(
                f"CREATE INDEX IF NOT EXISTS records_by_{_field(field)} "
                f"ON records (collection, {self._extract(field)}, id)"
            )

    def find(
        self, collection: str, field: str, value: Scalar, *, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        offset, _ = _bounds(offset, limit or 0)
        extract = self._extract(field)
        params: list[Any]
        if value is None:
            condition, params = f"{extract} IS NULL", [collection]
        else:
            condition, params = f"{extract} = ?", [collection, _key(value)]
        sql = f"SELECT data FROM records WHERE collection = ? AND {condition} ORDER BY id"  # noqa: S608 - field checked
        if limit is not None or offset:
            sql, params = sql + " LIMIT ? OFFSET ?", [*params, -1 if limit is None else limit, offset]
        return [self._decode(row[0]) for row in self._rows(sql, params)]

    def query_plan(self, sql: str, params: tuple[Any, ...] = ()) -> str:
        """SQLite's ``EXPLAIN QUERY PLAN`` of ``sql``, for tests that prove a query uses an index."""
        rows = self._conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(row[-1]) for row in rows)

    def next_value(self, name: str) -> int:
        with self.transaction():
            return self._bump(name)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()
