"""connect()'s own client builds httpx's network transport (and the shared SSL context) on its first request."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit._client import shared_ssl_context
from invoicekit.errors import NotFound
from invoicekit.sandbox import create_sandbox, running


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every httpx network transport built from here on."""
    made: list[str] = []

    class Sync(httpx.HTTPTransport):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append("sync")
            super().__init__(*args, **kwargs)

    class Async(httpx.AsyncHTTPTransport):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append("async")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(httpx, "HTTPTransport", Sync)
    monkeypatch.setattr(httpx, "AsyncHTTPTransport", Async)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return made


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, dict[str, Any]]]:
    box = create_sandbox("cashaca")
    with running(box) as url:
        yield url, box.credentials()


def test_the_transport_is_built_by_the_first_request_and_only_once(
    built: list[str], served: tuple[str, dict[str, Any]]
) -> None:
    url, credentials = served
    with invoicekit.connect("cashaca", base_url=url, **credentials) as books:
        assert built == []  # connect() alone imports no httpcore and loads no CA bundle
        assert list(books.clients.list()) == []
        assert list(books.clients.list()) == []
        assert built == ["sync"]


def test_the_async_transport_is_built_by_the_first_request(
    built: list[str], served: tuple[str, dict[str, Any]]
) -> None:
    url, credentials = served

    async def run() -> None:
        async with invoicekit.connect_async("cashaca", base_url=url, **credentials) as books:
            assert built == []
            assert [c async for c in books.clients.list()] == []
            assert [c async for c in books.clients.list()] == []
        assert built == ["async"]

    asyncio.run(run())


def test_a_sandbox_connection_never_builds_an_ssl_context(built: list[str]) -> None:
    shared_ssl_context.cache_clear()
    with invoicekit.connect("cashaca", sandbox=True) as books:
        assert list(books.clients.list()) == []
    assert built == []
    assert shared_ssl_context.cache_info().currsize == 0


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback "proxy" that answers every request 404 and keeps each request line."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    lines: list[bytes] = []

    def serve() -> None:
        with server:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                lines.append(request.split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", lines
    server.close()
    thread.join(10)


def test_proxies_from_the_environment_are_still_used(
    built: list[str], proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, lines = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # cashaca.invalid cannot resolve: only the proxy can have answered the 404.
    with (
        invoicekit.connect("cashaca", token="t", base_url="http://cashaca.invalid") as books,
        pytest.raises(NotFound),
    ):
        books.clients.get("1")
    assert len(lines) == 1
    assert lines[0].startswith(b"GET http://cashaca.invalid/api/v2/clients/1.json?")
