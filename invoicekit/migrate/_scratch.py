"""Per-document state a run needs while it reads, kept on disk rather than in Python maps.

A run must remember a few things per document for a while: the VAT numbers and external ids of the
clients planned so far (de-duplication), the invoices a ``since`` run keeps (which credit notes go with
them), an invoice's target id by its number (credit notes that link by number), the source ids
verification has seen on the target (to name the missing ones). In sets and dicts these grow with the
book; :class:`Scratch` keeps them in a temporary SQLite database (``sqlite3.connect("")``: a file SQLite
deletes on close), so memory holds a bounded page cache whatever the book's size.
"""

from __future__ import annotations

import sqlite3
import threading

__all__ = ["Scratch"]


class Scratch:
    """String maps, by namespace, in a temporary database. Safe from several threads (one lock)."""

    def __init__(self) -> None:
        # "" is a private temporary database on disk; nothing in it must survive a crash, hence no journal.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-2048")  # 2 MiB, then pages go to the file
        self._db.execute(
            "CREATE TABLE kv (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT, PRIMARY KEY (ns, k)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()

    def put(self, ns: str, key: str, value: str | None = None) -> None:
        """Set ``key`` in ``ns`` (to ``value``; an existing one is replaced)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv (ns, k, v) VALUES (?, ?, ?)", (ns, key, value))

    def add(self, ns: str, key: str, value: str | None = None) -> bool:
        """Set ``key`` in ``ns`` unless it is there; True when it was not."""
        with self._lock:
            return (
                self._db.execute("INSERT OR IGNORE INTO kv (ns, k, v) VALUES (?, ?, ?)", (ns, key, value)).rowcount > 0
            )

    def get(self, ns: str, key: str) -> str | None:
        """The value of ``key`` in ``ns`` (None when absent or set without one)."""
        with self._lock:
            row = self._db.execute("SELECT v FROM kv WHERE ns=? AND k=?", (ns, key)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def has(self, ns: str, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM kv WHERE ns=? AND k=?", (ns, key)).fetchone() is not None

    def filled(self, ns: str) -> bool:
        """Whether ``ns`` holds anything (a namespace built once, lazily, is marked by a key of its own)."""
        return self.has(ns, "")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
