"""Per-call overhead and listing, sync and async: ``books.invoices.get`` / ``list()`` against raw httpx.

The floor does what any client must: the same GETs on the same loopback server, ``response.json()``.
Ours also builds the neutral models; the ratio is what invoicekit costs on top.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

import invoicekit
from benchmarks._data import PROVIDER
from benchmarks._harness import (
    TIMEOUT,
    Row,
    Settings,
    alternate,
    alternate_async,
    interleave,
    interleave_async,
    ratio_row,
)
from benchmarks._server import ServerProcess

__all__ = ["figures"]

GET_LIMIT = 1.10
LIST_LIMIT = 1.30
# A kept-alive request answered slower than this hits the served sandbox's delayed-ACK stall (see served.py).
_STALL = 0.010


def _stalls(url: str, params: dict[str, str]) -> bool:
    # The stall is systematic (every kept-alive answer waits for the delayed ACK); a busy machine's delay is
    # not: the fastest of several kept-alive requests tells them apart.
    with httpx.Client(timeout=TIMEOUT) as http:
        http.get(url, params=params)
        fastest = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            http.get(url, params=params)
            fastest = min(fastest, time.perf_counter() - start)
        return fastest > _STALL


def _transports(fresh: bool) -> tuple[Callable[[], httpx.HTTPTransport], Callable[[], httpx.AsyncHTTPTransport]]:
    # While the served sandbox stalls kept-alive answers for ~40 ms, a connection per request (the first
    # exchange on a connection is ACKed at once) measures the client instead of the stall; both sides alike.
    limits = httpx.Limits(max_keepalive_connections=0) if fresh else httpx.Limits()
    return (lambda: httpx.HTTPTransport(limits=limits)), (lambda: httpx.AsyncHTTPTransport(limits=limits))


def _get_rows(settings: Settings) -> list[Row]:
    count = settings.pick(200, 10)
    with ServerProcess(invoices=1) as server:
        invoice_id = server.invoice_id
        url = f"{server.url}/api/v2/invoices/{invoice_id}.json"
        params = server.credentials
        fresh = _stalls(url, params)
        sync_transport, async_transport = _transports(fresh)
        note = "a connection per call: the served sandbox stalls kept-alive answers" if fresh else ""

        with (
            invoicekit.connect(
                PROVIDER, base_url=server.url, transport=sync_transport(), timeout=TIMEOUT, **params
            ) as books,
            httpx.Client(transport=sync_transport(), timeout=TIMEOUT) as http,
        ):
            assert len(books.invoices.get(invoice_id).rows) == 10
            ours, floor = alternate(
                lambda: books.invoices.get(invoice_id),
                lambda: http.get(url, params=params).json(),
                count,
                settings.rounds,
            )
        rows = [ratio_row("books.invoices.get, 10 rows (sync)", ours, floor, limit=GET_LIMIT, note=note)]

        async def run_async() -> tuple[float, float]:
            async with (
                invoicekit.connect_async(
                    PROVIDER, base_url=server.url, transport=async_transport(), timeout=TIMEOUT, **params
                ) as ab,
                httpx.AsyncClient(transport=async_transport(), timeout=TIMEOUT) as ahttp,
            ):

                async def raw() -> Any:
                    return (await ahttp.get(url, params=params)).json()

                await ab.invoices.get(invoice_id)
                return await alternate_async(lambda: ab.invoices.get(invoice_id), raw, count, settings.rounds)

        ours, floor = anyio.run(run_async)
        rows.append(ratio_row("books.invoices.get, 10 rows (async)", ours, floor, limit=GET_LIMIT, note=note))
    return rows


def _raw_pages(http: httpx.Client, url: str, params: dict[str, str]) -> int:
    seen, page = 0, 1
    while True:
        items = http.get(url, params={**params, "page": page, "per_page": 100}).json()
        seen += len(items)
        if len(items) < 100:
            return seen
        page += 1


async def _raw_pages_async(http: httpx.AsyncClient, url: str, params: dict[str, str]) -> int:
    seen, page = 0, 1
    while True:
        items = (await http.get(url, params={**params, "page": page, "per_page": 100})).json()
        seen += len(items)
        if len(items) < 100:
            return seen
        page += 1


def _timed(count: Callable[[], int], expected: int) -> Callable[[], float]:
    def round_() -> float:
        start = time.perf_counter()
        seen = count()
        elapsed = time.perf_counter() - start
        assert seen == expected, f"listed {seen}, expected {expected}"
        return elapsed

    return round_


def _list_rows(settings: Settings) -> list[Row]:
    pages = settings.pick(200, 5)
    total = pages * 100
    rounds = min(settings.rounds, 3)
    with ServerProcess(replay_pages=pages) as server:
        url = f"{server.url}/api/v2/invoices.json"
        params = server.credentials
        note = f"{total:,} invoices, {pages} pages replayed (the client alone: see docs/performance.md)"
        with (
            invoicekit.connect(PROVIDER, base_url=server.url, timeout=TIMEOUT, **params) as books,
            httpx.Client(timeout=TIMEOUT) as http,
        ):
            ours, floor = interleave(
                _timed(lambda: sum(1 for _ in books.invoices.list()), total),
                _timed(lambda: _raw_pages(http, url, params), total),
                rounds,
            )
        rows = [ratio_row(f"iterate invoices.list(), {total:,} (sync)", ours, floor, limit=LIST_LIMIT, unit="s")]
        rows[0].note = note

        async def run_async() -> tuple[float, float]:
            async with (
                invoicekit.connect_async(PROVIDER, base_url=server.url, timeout=TIMEOUT, **params) as ab,
                httpx.AsyncClient(timeout=TIMEOUT) as ahttp,
            ):

                async def ours_round() -> float:
                    start = time.perf_counter()
                    seen = 0
                    async for _ in ab.invoices.list():
                        seen += 1
                    assert seen == total
                    return time.perf_counter() - start

                async def floor_round() -> float:
                    start = time.perf_counter()
                    assert await _raw_pages_async(ahttp, url, params) == total
                    return time.perf_counter() - start

                return await interleave_async(ours_round, floor_round, rounds)

        ours, floor = anyio.run(run_async)
        rows.append(
            ratio_row(f"iterate invoices.list(), {total:,} (async)", ours, floor, limit=LIST_LIMIT, unit="s", note=note)
        )
    return rows


def figures(settings: Settings) -> list[Row]:
    return [*_get_rows(settings), *_list_rows(settings)]
