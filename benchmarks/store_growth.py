"""How a sandbox's create and list page cost grow with its store, for every bundled provider.

Per provider, two sandboxes on SQLite files (the store ``invoicekit sandbox serve NAME --db FILE`` uses), one
holding 1,000 invoices and one 20,000, seeded by :func:`seed_copies` (one invoice created through the public
API, then copies of its record with their own numbers and keys). Ours is the cost at 20,000, the floor the
same at 1,000, interleaved: O(1) creates and O(page) list pages keep the ratio near 1. Requests go through
the in-process transport, so the figure is the sandbox's cost plus a constant client overhead, no socket.

Each row also shows the records the store decoded for one create and one page at both sizes
(``StateStore.records_read``): a count, not a time, so it shows the cost's shape on any machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import invoicekit
from benchmarks._data import seed_copies, small_invoice
from benchmarks._harness import Row, Settings, interleave, median_time
from invoicekit.model import Client
from invoicekit.sandbox import Sandbox, SqliteStore, create_sandbox

__all__ = ["PROVIDERS", "figures"]

PROVIDERS = ("cashaca", "eenvoudigfactureren", "flowtly")
GROWTH_LIMIT = 1.5


class _Subject:
    """One sandbox with ``size`` invoices and a connection to it."""

    def __init__(self, provider: str, size: int, folder: Path) -> None:
        self.store = SqliteStore(folder / f"{provider}-{size}.db")
        self.sandbox: Sandbox = create_sandbox(provider, store=self.store)
        seed_copies(self.sandbox, provider, size)
        self.books = invoicekit.connect(provider, sandbox=self.sandbox)
        self.client = self.books.clients.create(Client(name="Growth BV"))
        self.made = 0

    def create(self) -> None:
        self.made += 1
        self.books.invoices.create(small_invoice(self.client, f"Growth {self.made}"))

    def list_page(self) -> None:
        # The first invoice of the list: the adapter asks for one page, the sandbox renders one page.
        next(iter(self.books.invoices.list()))

    def records(self, action: Callable[[], None]) -> int:
        before = self.store.records_read
        action()
        return self.store.records_read - before

    def close(self) -> None:
        self.books.close()
        self.sandbox.close()
        self.store.close()


def _rows(provider: str, small: int, big: int, settings: Settings) -> list[Row]:
    per_round = settings.pick(5, 2)
    rounds = settings.pick(min(settings.rounds, 5), 2)
    with tempfile.TemporaryDirectory() as tmp:
        low, high = _Subject(provider, small, Path(tmp)), _Subject(provider, big, Path(tmp))
        try:
            low.create()  # warm both (imports, SQLite caches)
            high.create()
            reads = {
                "create": (low.records(low.create), high.records(high.create)),
                "list page": (low.records(low.list_page), high.records(high.list_page)),
            }
            create_big, create_small = interleave(
                lambda: median_time(high.create, per_round), lambda: median_time(low.create, per_round), rounds
            )
            list_big, list_small = interleave(
                lambda: median_time(high.list_page, per_round), lambda: median_time(low.list_page, per_round), rounds
            )
        finally:
            low.close()
            high.close()

    def row(what: str, ours: float, floor: float, target: str) -> Row:
        at_small, at_big = reads[what]
        return Row(
            f"{provider} sandbox {what} at {big:,} stored invoices",
            ours * 1000,
            floor * 1000,
            "ms",
            ours / floor,
            f"{target}: <= {GROWTH_LIMIT}x of {small:,}",
            ours / floor <= GROWTH_LIMIT,
            f"floor: at {small:,} stored (SQLite, in-process); records decoded {at_small} at {small:,}, "
            f"{at_big} at {big:,}",
            {"records_read": {str(small): at_small, str(big): at_big}},
        )

    return [
        row("create", create_big, create_small, "O(1)"),
        row("list page", list_big, list_small, "O(page)"),
    ]


def figures(settings: Settings) -> list[Row]:
    small, big = (150, 600) if settings.quick else (1_000, 20_000)
    rows: list[Row] = []
    for provider in PROVIDERS:
        rows += _rows(provider, small, big, settings)
    return rows
