"""Lists over the network fetch the next page while the caller reads the current one (engine/_runners.py).

The toy provider pages by 10 through ``httpx.MockTransport``; ``fetch_ahead`` is what connect() sets for
its own network transport. Checked, sync and async: the same items and requests as paging in turn; the next
page's request goes out while the caller still holds the current page; never more than one page ahead; an
error of the next page reaches the caller after the current page's last item, where it did before; and
stopping early or being cancelled leaves no worker thread or task behind.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

import invoicekit
from invoicekit.engine import RetryPolicy
from invoicekit.errors import NotFound, TransportError

pytestmark = pytest.mark.usefixtures("toy_entry_point")

CLIENTS = 25  # pages of 10, 10 and 5
FAST = RetryPolicy(max_attempts=2, backoff=0.001, max_backoff=0.001)


def _page(request: httpx.Request) -> list[dict[str, Any]]:
    page = int(request.url.params["page"])
    first = (page - 1) * 10
    return [{"id": n, "name": f"Client {n}"} for n in range(first, min(first + 10, CLIENTS))]


class Server:
    """Answers the toy's pages; ``fail`` maps a page number to what that page does instead of answering."""

    def __init__(self, fail: dict[int, Callable[[], httpx.Response]] | None = None) -> None:
        self.pages: list[int] = []
        self.fail = fail or {}
        self.asked = threading.Event()  # set when page 2 is asked for

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        self.pages.append(page)
        if page == 2:
            self.asked.set()
        if page in self.fail:
            return self.fail[page]()
        return httpx.Response(200, json=_page(request))


def _books(server: Server) -> invoicekit.Books:
    books = invoicekit.connect("toy", token="tok-ahead-01", transport=httpx.MockTransport(server), retry=FAST)
    books._ops.fetch_ahead = True
    return books


def _async_books(server: Server) -> invoicekit.AsyncBooks:
    books = invoicekit.connect_async("toy", token="tok-ahead-01", transport=httpx.MockTransport(server), retry=FAST)
    books._ops.fetch_ahead = True
    return books


def _workers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "invoicekit-next-page"]


def test_sync_lists_the_same_with_the_next_page_asked_for_while_the_caller_reads() -> None:
    server = Server()
    with _books(server) as books:
        listing = books.clients.list()
        first = next(listing)
        assert server.asked.wait(5)  # page 2 goes out while the caller holds page 1
        rest = list(listing)
    assert [c.provider_id for c in [first, *rest]] == [str(n) for n in range(CLIENTS)]
    assert server.pages == [1, 2, 3]
    assert not _workers()


def test_sync_stopping_early_asks_at_most_one_page_ahead_and_leaves_no_thread() -> None:
    server = Server()
    with _books(server) as books:
        listing = books.clients.list()
        next(listing)
        listing.close()  # also what dropping the iterator does
        assert not _workers()
    assert server.pages == [1, 2]


def _take_all(books: invoicekit.Books, seen: list[str]) -> None:
    for client in books.clients.list():
        seen.append(client.provider_id or "")


def test_sync_an_error_of_the_next_page_comes_after_the_current_page() -> None:
    def broken() -> httpx.Response:
        raise httpx.ConnectError("refused")

    for fail, error in (({2: lambda: httpx.Response(404)}, NotFound), ({3: broken}, TransportError)):
        seen: list[str] = []
        with _books(Server(fail)) as books, pytest.raises(error):
            _take_all(books, seen)
        assert len(seen) == 10 * (min(fail) - 1)
        assert not _workers()


def _run(main: Callable[[], Any]) -> Any:
    return anyio.run(main)


def test_async_lists_the_same_with_the_next_page_asked_for_while_the_caller_reads() -> None:
    server = Server()

    async def main() -> list[str]:
        async with _async_books(server) as books:
            listing = books.clients.list()
            ids = [(await anext(listing)).provider_id]
            assert server.asked.is_set()  # page 2 went out before the caller took page 1's second item
            ids += [client.provider_id async for client in listing]
            return [i or "" for i in ids]

    assert _run(main) == [str(n) for n in range(CLIENTS)]
    assert server.pages == [1, 2, 3]


def test_async_an_error_of_the_next_page_comes_after_the_current_page() -> None:
    server = Server({2: lambda: httpx.Response(404)})

    async def main() -> tuple[int, BaseException | None]:
        seen = 0
        async with _async_books(server) as books:
            try:
                async for _ in books.clients.list():
                    seen += 1
            except NotFound as exc:
                return seen, exc
        return seen, None

    seen, error = _run(main)
    assert isinstance(error, NotFound)
    assert seen == 10


def test_async_cancelled_or_stopped_while_the_next_page_is_in_flight_leaves_no_task() -> None:
    ended = threading.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        if int(request.url.params["page"]) == 1:
            return httpx.Response(200, json=_page(request))
        try:
            await asyncio.sleep(30)
        finally:
            ended.set()  # cancelled, not left running
        raise AssertionError("page 2 was never meant to arrive")

    async def main() -> set[asyncio.Task[Any]]:
        books = invoicekit.connect_async("toy", token="tok-ahead-01", transport=httpx.MockTransport(slow))
        books._ops.fetch_ahead = True
        async with books:
            with anyio.move_on_after(0.2):  # cancelled while waiting for page 2
                async for _ in books.clients.list():
                    pass
            assert ended.is_set()
            ended.clear()
            listing = books.clients.list()
            await anext(listing)
            await listing.aclose()  # stopped while page 2 is in flight
            assert ended.is_set()
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}

    assert _run(main) == set()


def test_connect_fetches_ahead_over_the_network_only() -> None:
    with invoicekit.connect("toy", token="tok-ahead-01") as books:
        assert books._ops.fetch_ahead
    with invoicekit.connect("toy", token="tok-ahead-01", transport=httpx.MockTransport(Server())) as books:
        assert not books._ops.fetch_ahead  # a given transport (a mock, a sandbox) pages in turn
