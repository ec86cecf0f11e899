"""Every bundled sandbox creates in O(1) and lists a page in O(page) of its stored records, counted in records
the store decodes (``StateStore.records_read``), never timed: the times are benchmarks/store_growth.py's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import invoicekit
from benchmarks._data import seed_copies, small_invoice
from benchmarks.store_growth import PROVIDERS
from invoicekit.model import Client
from invoicekit.sandbox import MemoryStore, SqliteStore, StateStore, create_sandbox

# Both above every provider's largest page (100), so a first page is full at either size.
SMALL, BIG = 150, 900


def _records_read(provider: str, store: StateStore, size: int) -> dict[str, int]:
    sandbox = create_sandbox(provider, store=store)
    seed_copies(sandbox, provider, size)
    counts: dict[str, int] = {}
    with invoicekit.connect(provider, sandbox=sandbox) as books:
        client = books.clients.create(Client(name="Growth BV"))

        def measured(name: str, action: Callable[[], object]) -> None:
            before = store.records_read
            action()
            counts[name] = store.records_read - before

        for n in range(3):  # the first create may touch what the later ones find cached in the store
            measured("create", lambda n=n: books.invoices.create(small_invoice(client, f"Growth {n}")))
        measured("client create", lambda: books.clients.create(Client(name="Another BV")))
        measured("first page", lambda: next(iter(books.invoices.list())))
    sandbox.close()
    return counts


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_create_and_a_page_read_as_many_records_at_900_stored_as_at_150(
    provider: str, kind: str, tmp_path: Path
) -> None:
    def store(size: int) -> StateStore:
        return MemoryStore() if kind == "memory" else SqliteStore(tmp_path / f"{size}.db")

    small, big = _records_read(provider, store(SMALL), SMALL), _records_read(provider, store(BIG), BIG)
    assert big == small, f"{provider}: records decoded at {SMALL:,} stored {small}, at {BIG:,} {big}"
    assert small["create"] < 20  # a handful of lookups, not a scan
    assert small["first page"] <= 2 * 100 + 10  # a page of at most 100 documents and their clients
