"""The only code that performs I/O: it executes a program's actions with an httpx client and a clock."""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx

from invoicekit.engine._body import UnreadableBody, reading
from invoicekit.engine._core import Emit, Program, Send, Sleep

__all__ = ["iterate_async", "iterate_sync", "run_async", "run_sync"]

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


def _send_sync(client: httpx.Client, action: Send) -> httpx.Response:
    # Never follow a redirect, also on a caller's http_client= that would: httpx keeps every header but
    # Authorization across hosts, so a key in another header would travel to wherever the 3xx points.
    response = client.send(
        action.request,
        stream=True,
        auth=httpx.USE_CLIENT_DEFAULT if action.auth is None else action.auth,
        follow_redirects=False,
    )
    with closing(response), reading(response, action.max_bytes) as reader:
        if reader.wants_more:
            for chunk in response.iter_raw():
                reader.feed(chunk)
    return response


async def _send_async(client: httpx.AsyncClient, action: Send) -> httpx.Response:
    response = await client.send(
        action.request,
        stream=True,
        auth=httpx.USE_CLIENT_DEFAULT if action.auth is None else action.auth,
        follow_redirects=False,
    )
    async with aclosing(response):
        with reading(response, action.max_bytes) as reader:
            if reader.wants_more:
                async for chunk in response.aiter_raw():
                    reader.feed(chunk)
    return response


class _Ahead:
    """The next page's request, sent on a worker thread while the caller reads the current page.

    The thread runs in a copy of the caller's context (contextvars). Leaving the ``with`` block waits for it,
    also when the caller stops early (the generator is closed): no thread outlives the iteration, and the
    response, read in full by ``_send_sync``, has given its connection back.
    """

    __slots__ = ("_error", "_response", "_thread")

    def __init__(self, client: httpx.Client, action: Send) -> None:
        self._response: httpx.Response | None = None
        self._error: BaseException | None = None
        send = functools.partial(contextvars.copy_context().run, self._send, client, action)
        self._thread = threading.Thread(target=send, name="invoicekit-next-page", daemon=True)
        self._thread.start()

    def _send(self, client: httpx.Client, action: Send) -> None:
        try:
            self._response = _send_sync(client, action)
        except BaseException as exc:  # handed to the caller's thread, where the send would have raised it
            self._error = exc

    def __enter__(self) -> _Ahead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()

    def outcome(self) -> tuple[httpx.Response | None, BaseException | None]:
        """What the program is sent: the response, or the error _drive_sync hands back into it."""
        self._thread.join()
        error = self._error
        if error is None:
            return self._response, None
        if isinstance(error, httpx.RequestError | UnreadableBody):
            return None, error
        raise error


def _drive_sync(
    program: Program[T], client: httpx.Client, sleep: Callable[[float], None], ahead: bool = False
) -> Generator[Any, None, T]:
    value: Any = None
    error: BaseException | None = None
    # A page's items are handed out once the program has said what comes next: when that is the next page's
    # request and ``ahead`` is set, it is sent on a worker thread meanwhile, so the provider's and the
    # network's time overlap the caller's. Whatever the program raises or does next, and the outcome of that
    # request, reach the program and the caller after the page, as before.
    page: Iterable[Any] | None = None
    while True:
        try:
            action = program.throw(error) if error is not None else program.send(value)
        except StopIteration as stop:
            if page is not None:
                yield from page
            return stop.value  # type: ignore[no-any-return]
        except BaseException:
            if page is not None:
                yield from page
            raise
        value, error = None, None
        if page is not None:
            items, page = page, None
            if ahead and isinstance(action, Send):
                with _Ahead(client, action) as fetch:
                    yield from items
                    value, error = fetch.outcome()
                continue
            yield from items
        if isinstance(action, Send):
            try:
                value = _send_sync(client, action)
            except (httpx.RequestError, UnreadableBody) as exc:
                error = exc
        elif isinstance(action, Sleep):
            sleep(action.seconds)
        elif isinstance(action, Emit):
            page = action.items


def run_sync(program: Program[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> T:
    driver = _drive_sync(program, client, sleep)
    while True:
        try:
            next(driver)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def iterate_sync(
    program: Program[None],
    client: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
    *,
    ahead: bool = False,
) -> Iterator[Any]:
    """The items a listing program emits; with ``ahead``, each next page is fetched while the caller reads
    the current one (at most one page ahead)."""
    yield from _drive_sync(program, client, sleep, ahead)


async def _drive_async(program: Program[Any], client: httpx.AsyncClient) -> Any:
    # Emit never reaches here: run_async drives flows, which never list (iterate_async drives listings).
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = program.throw(error) if error is not None else program.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        if isinstance(action, Send):
            try:
                value = await _send_async(client, action)
            except (httpx.RequestError, UnreadableBody) as exc:
                error = exc
        elif isinstance(action, Sleep):
            await anyio.sleep(action.seconds)


async def run_async(program: Program[T], client: httpx.AsyncClient) -> T:
    result: T = await _drive_async(program, client)
    return result


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    # The next page is fetched ahead by an asyncio task; under trio (no task without a nursery, which an
    # async generator cannot hold across its yields) pages are fetched in turn, as the caller reaches them.
    if "asyncio" not in sys.modules:
        return None
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# While the caller reads a page, the task fetching the next one runs only when the caller's loop gets
# control: the iteration gives it a turn every this many items (a page of 100 takes a few milliseconds).
_TURN_EVERY = 16


async def _outcome(task: asyncio.Task[httpx.Response]) -> tuple[httpx.Response | None, BaseException | None]:
    try:
        return await task, None
    except (httpx.RequestError, UnreadableBody) as exc:
        return None, exc


def _retrieved(task: asyncio.Task[httpx.Response]) -> None:
    # A task the caller abandoned (it stopped early or was cancelled) has nobody to read its outcome.
    if not task.cancelled():
        task.exception()


async def iterate_async(
    program: Program[None], client: httpx.AsyncClient, *, ahead: bool = False
) -> AsyncIterator[Any]:
    """The async twin of :func:`iterate_sync`: the next page is fetched ahead by an asyncio task."""
    # As _drive_sync: a page's items are handed out once the program said what comes next, and with
    # ``ahead`` the next page's request is sent meanwhile.
    value: Any = None
    error: BaseException | None = None
    page: Iterable[Any] | None = None
    while True:
        try:
            action = program.throw(error) if error is not None else program.send(value)
        except StopIteration:
            if page is not None:
                for item in page:
                    yield item
            return
        except BaseException:
            if page is not None:
                for item in page:
                    yield item
            raise
        value, error = None, None
        if page is not None:
            items, page = page, None
            loop = _asyncio_loop() if ahead and isinstance(action, Send) else None
            if loop is not None:
                import asyncio

                assert isinstance(action, Send)
                task = loop.create_task(_send_async(client, action))
                task.add_done_callback(_retrieved)
                try:
                    await asyncio.sleep(0)  # the task sends the request now, not when the page is read
                    for index, item in enumerate(items, 1):
                        yield item
                        if index % _TURN_EVERY == 0:
                            await asyncio.sleep(0)
                    value, error = await _outcome(task)
                finally:
                    if not task.done():
                        task.cancel()  # the caller stopped or was cancelled: the request goes no further
                        await asyncio.wait({task})
                continue
            for item in items:
                yield item
        if isinstance(action, Send):
            try:
                value = await _send_async(client, action)
            except (httpx.RequestError, UnreadableBody) as exc:
                error = exc
        elif isinstance(action, Sleep):
            await anyio.sleep(action.seconds)
        elif isinstance(action, Emit):
            page = action.items
