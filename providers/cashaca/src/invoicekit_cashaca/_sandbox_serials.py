"""Serial numbers of Cashaca documents in the sandbox, kept in the store so a create costs O(1).

Each collection (invoices, credit notes, quotations) keeps, per year, the highest ``YYYY_NNNN`` number it
holds: one record in the ``numbering`` collection, read and written in the create's own transaction, so
concurrent creates (threads, or processes on one ``--db`` file) never share a number. Numbers are looked up
through the store's index on ``serial_number``, never by reading the collection.
"""

from __future__ import annotations

import re
from datetime import date

from invoicekit.sandbox import StateStore

__all__ = ["NUMBERING", "SERIAL_FIELD", "next_in_year", "next_serial_number", "note_serial", "taken"]

#: The store collection of the per-year high-water marks: ``{"name": "invoices:2025", "last": 41}``.
NUMBERING = "numbering"
SERIAL_FIELD = "serial_number"

_STANDARD_SERIAL = re.compile(r"^(\d{4})_(\d+)$")
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def taken(store: StateStore, collection: str, serial: str) -> bool:
    """Whether a document of ``collection`` carries ``serial`` (one indexed lookup)."""
    return bool(store.find(collection, SERIAL_FIELD, serial, limit=1))


def _mark(store: StateStore, collection: str, year: int) -> tuple[int | None, int]:
    found = store.find(NUMBERING, "name", f"{collection}:{year}", limit=1)
    if not found:
        return None, 0
    return int(found[0]["id"]), int(found[0]["last"])


def next_in_year(store: StateStore, collection: str, year: int) -> str:
    """The ``YYYY_NNNN`` after the highest of ``year`` (a number given by hand in that form moves it on too).

    A number already taken is skipped, one lookup each: only records written to the store directly (a
    test, a state file from before the marks) can hold one, so in a sandbox's own use this is O(1).
    """
    _, last = _mark(store, collection, year)
    number = last + 1
    while taken(store, collection, f"{year}_{number:04d}"):
        number += 1
    return f"{year}_{number:04d}"


def note_serial(store: StateStore, collection: str, serial: str) -> None:
    """Move the year's mark on to ``serial`` if it is a higher ``YYYY_NNNN``; call it in the create's
    transaction, so the next number is taken from what this create stored."""
    match = _STANDARD_SERIAL.match(serial)
    if match is None:
        return
    year, number = int(match[1]), int(match[2])
    mark_id, last = _mark(store, collection, year)
    if number <= last:
        return
    record = {"name": f"{collection}:{year}", "last": number}
    if mark_id is None:
        store.insert(NUMBERING, record)
    else:
        store.replace(NUMBERING, mark_id, record)


def next_serial_number(store: StateStore, collection: str, today: date) -> str:
    """The number that follows the one on the last booked document (the docs' definition).

    Assumed (numbers.yearly_restart): numbers of the form ``YYYY_NNNN`` restart every year, so after ``2025_0108``
    the next number in 2026 is ``2026_0001``; any other form has its last digits incremented
    (``L-0249`` -> ``L-0250``).
    """
    last_record = store.last(collection)
    last = str((last_record or {}).get(SERIAL_FIELD) or "")
    match = _LAST_DIGITS.search(last)
    if last_record is None or _STANDARD_SERIAL.match(last) or match is None:
        return next_in_year(store, collection, today.year)
    digits = match[1]
    return last[: match.start()] + str(int(digits) + 1).zfill(len(digits)) + last[match.end() :]
