"""An httpx transport that runs an ASGI app in-process, for sync and async clients alike.

Async requests run the app on the caller's event loop, as ``httpx.ASGITransport`` does. Sync requests
run it on one shared background event loop (a daemon thread), which works whether or not the calling
thread has a loop of its own running, and never keeps the interpreter alive at exit.

Unlike ``httpx.ASGITransport``, a response the app starts but never finishes is reported the way a real
socket reports it, as ``httpx.RemoteProtocolError``: that is how the sandbox's "drop after commit" fault
reaches the client in-process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
from starlette.types import ASGIApp, Message

__all__ = ["SandboxTransport"]

_Response = tuple[int, list[tuple[bytes, bytes]], bytes]


class _BackgroundLoop:
    """One event loop in a daemon thread, started on first use and shared by every sync transport."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def get(cls) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        with cls._lock:
            if cls._loop is None or cls._thread is None or not cls._thread.is_alive():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="invoicekit-sandbox-loop", daemon=True)
                thread.start()
                ready.wait()
                cls._loop, cls._thread = loop, thread
            return cls._loop, cls._thread


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts: dict[str, Any] = request.extensions.get("timeout", {})
    value = timeouts.get("read")
    return None if value is None else float(value)


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve ``httpx.Client(transport=...)`` and ``httpx.AsyncClient(transport=...)`` from an ASGI app.

    No socket is opened. The client's read timeout applies to the app (a latency fault longer than it
    raises ``httpx.ReadTimeout``). ``raise_app_exceptions``: re-raise an exception from the app in the
    test that made the request (after Starlette has answered 500), rather than only returning the 500.
    """

    def __init__(self, app: ASGIApp, *, raise_app_exceptions: bool = True) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions

    def __repr__(self) -> str:
        return f"SandboxTransport({self.app!r})"

    # --- sync --------------------------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop, thread = _BackgroundLoop.get()
        if threading.current_thread() is thread:
            # The app itself making a sync request to a sandbox would wait on its own loop forever.
            raise RuntimeError("a sync sandbox request cannot be made from inside a sandbox app")
        body = request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request, body), loop)
        timeout = _read_timeout(request)
        try:
            status, headers, content = future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("the sandbox did not answer in time", request=request) from None
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

    # --- async -------------------------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeout = _read_timeout(request)
        try:
            with anyio.fail_after(timeout):
                status, headers, content = await self._call(request, body)
        except TimeoutError:
            raise httpx.ReadTimeout("the sandbox did not answer in time", request=request) from None
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

    # --- the ASGI call -----------------------------------------------------------------------------------

    async def _call(self, request: httpx.Request, body: bytes) -> _Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, port),
            "client": ("127.0.0.1", 50000),
            "extensions": {},
        }
        request_sent = False
        finished = anyio.Event()
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        complete = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body" and not complete:
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    complete = True
                    finished.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if self.raise_app_exceptions or status is None:
                raise
        finally:
            finished.set()
        if status is None:
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        if not complete:
            received = sum(len(chunk) for chunk in chunks)
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body (received {received} bytes)"
            )
        return status, headers, b"".join(chunks)
