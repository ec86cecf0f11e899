"""Bulk creates: 1,000 invoices through :class:`invoicekit.Bulk` / :class:`invoicekit.AsyncBulk` at concurrency 16,
every request delayed 50 ms by the sandbox, against the ideal 16 / 0.05 s = 320 creates/s.

Each invoice carries its number, so a Cashaca create is one request (no next-number lookup). A fresh sandbox
per round: the sandbox's create cost grows with its store (see served.py), which would make rounds unequal.
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


def _sync_round(count: int) -> float:
    with (
        ServerProcess(invoices=0, latency=LATENCY) as server,
        invoicekit.connect(PROVIDER, base_url=server.url, timeout=TIMEOUT, **server.credentials) as books,
    ):
        documents = [invoice(n, rows=2) for n in range(1, count + 1)]
        start = time.perf_counter()
        results = list(invoicekit.Bulk(books, concurrency=CONCURRENCY).create(documents))
        elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    assert not failed, failed[:1]
    assert len(results) == count
    return count / elapsed


def _async_round(count: int) -> float:
    async def main() -> float:
        with ServerProcess(invoices=0, latency=LATENCY) as server:
            async with invoicekit.connect_async(
                PROVIDER, base_url=server.url, timeout=TIMEOUT, **server.credentials
            ) as books:
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
    for mode, round_ in (("sync, threads", _sync_round), ("async, task group", _async_round)):
        rate = statistics.median(round_(count) for _ in range(rounds))
        rows.append(
            Row(
                f"{count:,} invoice creates, 50 ms latency, concurrency 16 ({mode})",
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
