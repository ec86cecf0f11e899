"""The served sandbox: a kept-alive request, and how create and list cost grow with the store.

The keep-alive figure is the 2nd request on a connection to ``invoicekit.sandbox.running`` (raw httpx),
against the same request through the in-process transport (no socket): what the socket path adds. Its
target is absolute (<= 2 ms). The growth figures compare the same request on a big store and on a small one.
"""

from __future__ import annotations

import time
from functools import partial

import httpx

import invoicekit
from benchmarks._data import PROVIDER, invoice, seed_invoices
from benchmarks._harness import TIMEOUT, Row, Settings, interleave, median_time
from benchmarks._server import ServerProcess
from invoicekit.sandbox import create_sandbox

__all__ = ["figures"]

KEEPALIVE_TARGET = 0.002
GROWTH_LIMIT = 1.5


def _second_request(url: str, params: dict[str, str], transport: httpx.BaseTransport | None = None) -> float:
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        http.get(url, params=params).raise_for_status()
        start = time.perf_counter()
        http.get(url, params=params).raise_for_status()
        return time.perf_counter() - start


def _keepalive(settings: Settings) -> Row:
    samples = settings.pick(max(settings.rounds, 15), 3)
    local = create_sandbox(PROVIDER)
    local_id = seed_invoices(local, 1)
    with ServerProcess(invoices=1) as server:
        served_url = f"{server.url}/api/v2/invoices/{server.invoice_id}.json"
        local_url = f"{local.base_url}/api/v2/invoices/{local_id}.json"
        ours, floor = interleave(
            lambda: _second_request(served_url, server.credentials),
            lambda: _second_request(local_url, local.credentials(), local.transport()),
            samples,
        )
    local.close()
    return Row(
        "served sandbox, 2nd request on a kept-alive connection",
        ours * 1000,
        floor * 1000,
        "ms",
        ours / floor,
        "<= 2 ms",
        ours <= KEEPALIVE_TARGET,
        "floor: the same GET in-process (no socket)",
    )


def _fresh() -> httpx.HTTPTransport:
    # A connection per request: the answers are small, and the kept-alive stall would swamp the growth.
    return httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))


def _growth(settings: Settings) -> list[Row]:
    small, middle, big = (100, 200, 500) if settings.quick else (100, 1_000, 20_000)
    per_round = settings.pick(3, 2)
    rounds = settings.pick(min(settings.rounds, 3), 2)
    next_number = [big + 1]

    def create(books: invoicekit.Books) -> None:
        books.invoices.create(invoice(next_number[0]))
        next_number[0] += 1

    def list_page(http: httpx.Client, url: str, params: dict[str, str]) -> None:
        assert http.get(url, params={**params, "page": 1, "per_page": 100}).json()

    series: dict[str, dict[int, float]] = {"create": {}, "list page": {}}
    servers = [ServerProcess(invoices=size) for size in (small, middle, big)]
    for server in servers:
        server.__enter__()
    try:
        conns = [
            invoicekit.connect(PROVIDER, base_url=s.url, transport=_fresh(), timeout=TIMEOUT, **s.credentials)
            for s in servers
        ]
        raw = httpx.Client(transport=_fresh(), timeout=TIMEOUT)
        lists = [(f"{s.url}/api/v2/invoices.json", s.credentials) for s in servers]
        for index, size in enumerate((small, middle, big)):
            series["create"][size] = median_time(partial(create, conns[index]), per_round)
            series["list page"][size] = median_time(partial(list_page, raw, *lists[index]), per_round)
        create_big, create_small = interleave(
            lambda: median_time(lambda: create(conns[1]), per_round),
            lambda: median_time(lambda: create(conns[0]), per_round),
            rounds,
        )
        list_big, list_small = interleave(
            lambda: median_time(lambda: list_page(raw, *lists[2]), per_round),
            lambda: median_time(lambda: list_page(raw, *lists[0]), per_round),
            rounds,
        )
        for books in conns:
            books.close()
        raw.close()
    finally:
        for server in servers:
            server.__exit__(None, None, None)

    def shown(name: str) -> str:
        return ", ".join(f"{size:,}: {seconds * 1000:.1f} ms" for size, seconds in series[name].items())

    return [
        Row(
            f"sandbox create at {middle:,} stored invoices",
            create_big * 1000,
            create_small * 1000,
            "ms",
            create_big / create_small,
            f"O(1): <= {GROWTH_LIMIT}x of {small:,}",
            create_big / create_small <= GROWTH_LIMIT,
            f"floor: at {small:,} stored; growth {shown('create')}",
            {"growth_ms": {str(k): v * 1000 for k, v in series["create"].items()}},
        ),
        Row(
            f"sandbox list page (100) at {big:,} stored invoices",
            list_big * 1000,
            list_small * 1000,
            "ms",
            list_big / list_small,
            f"O(page): <= {GROWTH_LIMIT}x of {small:,}",
            list_big / list_small <= GROWTH_LIMIT,
            f"floor: at {small:,} stored; growth {shown('list page')}",
            {"growth_ms": {str(k): v * 1000 for k, v in series["list page"].items()}},
        ),
    ]


def figures(settings: Settings) -> list[Row]:
    return [_keepalive(settings), *_growth(settings)]
