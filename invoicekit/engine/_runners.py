"""The only code that performs I/O: it executes a program's actions with an httpx client and a clock."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import aclosing, closing
from typing import Any, TypeVar

import httpx

from invoicekit.engine._body import UnreadableBody, reading
from invoicekit.engine._core import Emit, Program, Send, Sleep

__all__ = ["iterate_async", "iterate_sync", "run_async", "run_sync"]

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


def _drive_sync(program: Program[T], client: httpx.Client, sleep: Callable[[float], None]) -> Generator[Any, None, T]:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = program.throw(error) if error is not None else program.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        if isinstance(action, Send):
            try:
                value = _send_sync(client, action)
            except (httpx.RequestError, UnreadableBody) as exc:
                error = exc
        elif isinstance(action, Sleep):
            sleep(action.seconds)
        elif isinstance(action, Emit):
            yield from action.items


def run_sync(program: Program[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> T:
    driver = _drive_sync(program, client, sleep)
    while True:
        try:
            next(driver)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def iterate_sync(
    program: Program[None], client: httpx.Client, sleep: Callable[[float], None] = time.sleep
) -> Iterator[Any]:
    yield from _drive_sync(program, client, sleep)


async def _drive_async(program: Program[Any], client: httpx.AsyncClient) -> Any:
    # Emit never reaches here: iterate_async hands in a program that pauses before each Emit.
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
            import anyio  # only an async retry waits through it: a sync connect() does not import it

            await anyio.sleep(action.seconds)


async def run_async(program: Program[T], client: httpx.AsyncClient) -> T:
    result: T = await _drive_async(program, client)
    return result


async def iterate_async(program: Program[None], client: httpx.AsyncClient) -> AsyncIterator[Any]:
    # Pages are pulled one at a time: the program pauses at each Emit until the caller wants more.
    finished = False
    while not finished:
        batch: list[Any] = []
        await _drive_async(_until_emit(program, batch), client)
        finished = not batch
        for item in batch:
            yield item


def _until_emit(program: Program[None], sink: list[Any]) -> Program[None]:
    """Runs ``program`` until its next Emit, collecting the items into ``sink`` and pausing there."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = program.throw(error) if error is not None else program.send(value)
        except StopIteration:
            return
        value, error = None, None
        if isinstance(action, Emit):
            sink.extend(action.items)
            return
        try:
            value = yield action
        except BaseException as exc:
            error = exc
