"""Bulk creates: 1,000 invoices through :class:`invoicekit.Bulk` / :class:`invoicekit.AsyncBulk` at concurrency 16,
every request delayed 50 ms by the sandbox, against the ideal 16 / 0.05 s = 320 creates/s.

Each invoice carries its number, so a Cashaca create is one request (no next-number lookup). A fresh sandbox
per round: the sandbox's create cost grows with its store (see served.py), which would make rounds unequal.

Each batch starts on a connection that has made one create (untimed, its own number): the first request of a
process pays once for what is built or imported on first use (the client's transport, the server's first
answer), which is not a rate of creates. In an uncompiled environment (``PYTHONDONTWRITEBYTECODE``, as in this
repository's shells) that first request compiled modules from source on both sides: about 200 ms with 16
requests waiting, 5 % of a 1,000-create batch. See docs/performance.md.

The "helper alone" rows run the same batch against a server that answers every create at once with a canned
201 (after the same 50 ms, through the same Sandbox wrapper, on a stub server free of the kept-alive stall):
what the helper and the client reach when the sandbox's own create cost is out of the way.
"""

from __future__ import annotations

import statistics
import time

import anyio

import invoicekit
from benchmarks._data import PROVIDER, invoice
from benchmarks._harness import TIMEOUT, Row, Settings
from benchmarks._server import ServerProcess

__all__ = ["figures"]

CONCURRENCY = 16
LATENCY = 0.05
IDEAL = CONCURRENCY / LATENCY
TARGET = 0.85


def _server(canned: bool) -> ServerProcess:
    return ServerProcess(invoices=0, latency=LATENCY, canned_creates=canned)


def _sync_round(count: int, canned: bool) -> float:
    with (
        _server(canned) as server,
        invoicekit.connect(PROVIDER, base_url=server.url, timeout=TIMEOUT, **server.credentials) as books,
    ):
        books.invoices.create(invoice(count + 1, rows=2))  # the warm-up (module docstring)
        documents = [invoice(n, rows=2) for n in range(1, count + 1)]
        start = time.perf_counter()
        results = list(invoicekit.Bulk(books, concurrency=CONCURRENCY).create(documents))
        elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    assert not failed, failed[:1]
    assert len(results) == count
    return count / elapsed


def _async_round(count: int, canned: bool) -> float:
    async def main() -> float:
        with _server(canned) as server:
            async with invoicekit.connect_async(
                PROVIDER, base_url=server.url, timeout=TIMEOUT, **server.credentials
            ) as books:
                await books.invoices.create(invoice(count + 1, rows=2))  # the warm-up (module docstring)
                documents = [invoice(n, rows=2) for n in range(1, count + 1)]
                start = time.perf_counter()
                results = [r async for r in invoicekit.AsyncBulk(books, concurrency=CONCURRENCY).create(documents)]
                elapsed = time.perf_counter() - start
        assert len(results) == count
        assert all(r.ok for r in results)
        return count / elapsed

    return anyio.run(main)


def figures(settings: Settings) -> list[Row]:
    count = settings.pick(1000, 64)
    rounds = settings.pick(3, 1)
    rows = []
    for canned in (False, True):
        for mode, round_ in (("sync, threads", _sync_round), ("async, task group", _async_round)):
            rate = statistics.median(round_(count, canned) for _ in range(rounds))
            where = "helper alone, canned answers" if canned else "Cashaca sandbox"
            rows.append(
                Row(
                    f"{count:,} invoice creates, 50 ms latency, concurrency 16 ({mode}; {where})",
                    rate,
                    IDEAL,
                    "/s",
                    rate / IDEAL,
                    f">= {TARGET:.0%} of ideal",
                    rate / IDEAL >= TARGET,
                    "floor: the ideal 16 / 0.05 s",
                )
            )
    return rows
