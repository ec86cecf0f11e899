"""The transport a connection's own client uses: every connection is a *lane*, an httpx transport (one httpcore
pool) limited to one connection, and each request takes a whole lane while it runs.

Why not httpx's transport, which keeps all connections in one httpcore pool: that pool re-examines every
connection whenever a request enters or leaves (``_assign_requests_to_connections``: about 520 ``is_idle``
calls per request at 16 connections, plus, on the async side, anyio building a socket's attribute table
with a ``getpeername`` call for every idle one), and it hands the first idle connection to every request
that enters before one of them has started on it, so all but one fail with ``ConnectionNotAvailable`` and
go round again. At 16 concurrent creates that doubled the client's CPU per request (docs/performance.md).
Here a request picks a lane in O(1) (the last idle one of its origin) and its pool holds one connection.

The limits mean what they mean to httpx: at most ``max_connections`` lanes (requests beyond wait, as long
as the ``pool`` timeout), at most ``max_keepalive_connections`` idle lanes kept (a lane freed beyond that
is closed), each connection kept alive ``keepalive_expiry`` seconds. HTTP/1.1 only, as httpx by default.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

__all__ = ["AsyncLanes", "Lanes"]

Origin = tuple[bytes, bytes, int | None]

_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def _origin(request: httpx.Request) -> Origin:
    url = request.url
    return url.raw_scheme, url.raw_host, url.port


def _pool_timeout(request: httpx.Request) -> float | None:
    timeout: float | None = request.extensions.get("timeout", {}).get("pool")
    return timeout


def _lane_options(limits: httpx.Limits, options: dict[str, Any]) -> dict[str, Any]:
    """What each lane's transport is made with: one connection, and one SSL context for all of them (a
    transport given none builds its own, about 20 ms of loading the CA bundle)."""
    options = dict(options)
    if not isinstance(options.get("verify"), ssl.SSLContext):
        options["verify"] = httpx.create_ssl_context(
            verify=options.get("verify", True), cert=options.pop("cert", None), trust_env=options.get("trust_env", True)
        )
    options["limits"] = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=limits.keepalive_expiry
    )
    return options


class _Idle:
    """The idle lanes by origin, most recently used last; not thread-safe (the callers lock)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self.limit = limits.max_connections or 2**31
        self.keep = self.limit if limits.max_keepalive_connections is None else limits.max_keepalive_connections
        self.lanes: dict[Origin, list[Any]] = {}
        self.idle = 0
        self.total = 0

    def take(self, origin: Origin) -> Any | None:
        """An idle lane for ``origin``; None when a new one may be made; else any idle lane (it reconnects).

        Called with a slot held, so when ``total`` is at the limit some lane is idle."""
        lanes = self.lanes.get(origin)
        if not lanes:
            if self.total < self.limit:
                self.total += 1
                return None
            lanes = next(found for found in self.lanes.values() if found)
        self.idle -= 1
        return lanes.pop()

    def take_or_make(self, origin: Origin, make: Callable[[], Any], slots: Any) -> Any:
        """An idle lane for ``origin``, or a new one from ``make()``; a failed ``make`` gives back its count
        and the caller's slot (a ``threading`` or ``anyio`` semaphore)."""
        lane = self.take(origin)
        if lane is None:
            try:
                lane = make()
            except BaseException:
                self.drop()
                slots.release()
                raise
        return lane

    def put(self, origin: Origin, lane: Any) -> bool:
        """Keep ``lane`` for reuse; False when it is one idle lane too many (the caller closes it)."""
        if self.idle >= self.keep:
            self.total -= 1
            return False
        self.idle += 1
        self.lanes.setdefault(origin, []).append(lane)
        return True

    def drop(self) -> None:
        self.total -= 1

    def all(self) -> list[Any]:
        lanes = [lane for found in self.lanes.values() for lane in found]
        self.lanes.clear()
        return lanes


class _Released(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class Lanes(httpx.BaseTransport):
    """A sync transport of single-connection lanes (see the module). ``options`` go to each lane's
    :class:`httpx.HTTPTransport` (``verify``, ``cert``, ``trust_env``, ``retries``, ...)."""

    def __init__(self, *, limits: httpx.Limits = _DEFAULT_LIMITS, **options: Any) -> None:
        self._options = functools.cache(lambda: _lane_options(limits, options))
        self._idle = _Idle(limits)
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self._idle.limit)
        self._busy: set[httpx.HTTPTransport] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = _pool_timeout(request)
        if not self._slots.acquire(timeout=timeout):
            raise httpx.PoolTimeout("no connection became free within the pool timeout", request=request)
        origin = _origin(request)
        with self._lock:
            lane: httpx.HTTPTransport = self._idle.take_or_make(
                origin, lambda: httpx.HTTPTransport(**self._options()), self._slots
            )
            self._busy.add(lane)
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            with self._lock:
                self._busy.discard(lane)
                kept = self._idle.put(origin, lane)
            self._slots.release()
            if not kept:
                lane.close()

        try:
            response = lane.handle_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Released(response.stream, release)
        return response

    def close(self) -> None:
        with self._lock:
            lanes = [*self._idle.all(), *self._busy]
            self._busy.clear()
        for lane in lanes:
            lane.close()


class _AsyncReleased(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], Any]) -> None:
        self._stream = stream
        self._release: Callable[[], Any] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                await release()


class AsyncLanes(httpx.AsyncBaseTransport):
    """The async twin of :class:`Lanes` (asyncio or trio, through anyio)."""

    def __init__(self, *, limits: httpx.Limits = _DEFAULT_LIMITS, **options: Any) -> None:
        self._options = functools.cache(lambda: _lane_options(limits, options))
        self._idle = _Idle(limits)
        self._busy: set[httpx.AsyncHTTPTransport] = set()
        self._slots: Any = None  # an anyio.Semaphore, made in the event loop that first uses it

    async def _acquire(self, request: httpx.Request) -> None:
        import anyio

        if self._slots is None:
            # fast_acquire: no checkpoint when a slot is free (httpcore's pool checkpoints already).
            self._slots = anyio.Semaphore(self._idle.limit, fast_acquire=True)
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            timeout = _pool_timeout(request)
            with anyio.move_on_after(float("inf") if timeout is None else timeout):
                await self._slots.acquire()
                return
            raise httpx.PoolTimeout("no connection became free within the pool timeout", request=request) from None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._acquire(request)
        origin = _origin(request)
        # No await from here to the lane's first: no other task of this loop can see the idle lanes change.
        lane: httpx.AsyncHTTPTransport = self._idle.take_or_make(
            origin, lambda: httpx.AsyncHTTPTransport(**self._options()), self._slots
        )
        self._busy.add(lane)
        released = False

        async def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._busy.discard(lane)
            kept = self._idle.put(origin, lane)
            self._slots.release()
            if not kept:
                import anyio

                with anyio.CancelScope(shield=True):
                    await lane.aclose()

        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            await release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _AsyncReleased(response.stream, release)
        return response

    async def aclose(self) -> None:
        lanes = [*self._idle.all(), *self._busy]
        self._busy.clear()
        for lane in lanes:
            await lane.aclose()
