"""State stores for sandboxes: collections of JSON records with integer ids, plus named counters.

Records are copied on the way in and out (through a JSON round trip), so a handler that mutates what
``get`` returned cannot corrupt the store, and a :class:`MemoryStore` rejects exactly what a
:class:`SqliteStore` would (a ``Decimal`` or a ``date`` left in a record fails in both, not only after a
restart).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryStore", "SqliteStore", "StateStore"]

Record = dict[str, Any]


@runtime_checkable
class StateStore(Protocol):
    """Where a sandbox keeps its state. Every method is thread-safe.

    A record is a JSON-serialisable dict (keep money as strings). ``insert`` assigns the next id of the
    collection and stores it in the record under ``"id"``; ids are never reused, even after a delete,
    as in the databases behind the real APIs.
    """

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

    def all(self, collection: str) -> list[Record]:
        """Return copies of every record of the collection, ordered by id."""
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


def _decode(text: str) -> Record:
    value: Record = json.loads(text)
    return value


_ID_COUNTER = "__id__:"


class MemoryStore:
    """A store that lives as long as the process (the default)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Records are kept encoded: decoding on every read is what gives callers independent copies.
        self._collections: dict[str, dict[int, str]] = {}
        self._counters: dict[str, int] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    def insert(self, collection: str, record: Mapping[str, Any]) -> int:
        with self._lock:
            record_id = self.next_value(_ID_COUNTER + collection)
            self._collections.setdefault(collection, {})[record_id] = _encode(record, record_id)
            return record_id

    def get(self, collection: str, record_id: int) -> Record | None:
        with self._lock:
            text = self._collections.get(collection, {}).get(record_id)
        return None if text is None else _decode(text)

    def replace(self, collection: str, record_id: int, record: Mapping[str, Any]) -> None:
        with self._lock:
            records = self._collections.get(collection, {})
            if record_id not in records:
                raise KeyError(f"{collection} {record_id} does not exist")
            records[record_id] = _encode(record, record_id)

    def delete(self, collection: str, record_id: int) -> bool:
        with self._lock:
            return self._collections.get(collection, {}).pop(record_id, None) is not None

    def all(self, collection: str) -> list[Record]:
        with self._lock:
            texts = [text for _, text in sorted(self._collections.get(collection, {}).items())]
        return [_decode(text) for text in texts]

    def next_value(self, name: str) -> int:
        with self._lock:
            value = self._counters.get(name, 0) + 1
            self._counters[name] = value
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


class SqliteStore:
    """A store in an SQLite file, so a sandbox keeps its state across restarts.

    One connection serialised by a lock: sandbox traffic is light, and it keeps every operation atomic
    without relying on SQLite's own locking across threads.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        # check_same_thread=False: the uvicorn thread, the in-process loop thread and the test thread all
        # use this connection; the lock above is what makes that safe.
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"{self!r} is closed")
        return self._db

    def _bump(self, name: str) -> int:
        row = self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def insert(self, collection: str, record: Mapping[str, Any]) -> int:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                record_id = self._bump(_ID_COUNTER + collection)
                conn.execute(
                    "INSERT INTO records (collection, id, data) VALUES (?, ?, ?)",
                    (collection, record_id, _encode(record, record_id)),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return record_id

    def get(self, collection: str, record_id: int) -> Record | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM records WHERE collection = ? AND id = ?", (collection, record_id)
            ).fetchone()
        return None if row is None else _decode(row[0])

    def replace(self, collection: str, record_id: int, record: Mapping[str, Any]) -> None:
        text = _encode(record, record_id)
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE records SET data = ? WHERE collection = ? AND id = ?", (text, collection, record_id)
            )
            if cursor.rowcount == 0:
                raise KeyError(f"{collection} {record_id} does not exist")

    def delete(self, collection: str, record_id: int) -> bool:
        with self._lock:
            cursor = self._conn.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection, record_id))
            return cursor.rowcount > 0

    def all(self, collection: str) -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM records WHERE collection = ? ORDER BY id", (collection,)
            ).fetchall()
        return [_decode(row[0]) for row in rows]

    def next_value(self, name: str) -> int:
        with self._lock:
            return self._bump(name)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
