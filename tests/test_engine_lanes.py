"""The lanes transport connect() gives its own clients: httpx's limits, one request per connection at a time,
connections reused, freed on close, error and cancellation. Against a real loopback HTTP/1.1 server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest

import invoicekit
from invoicekit._client import _LazyTransport
from invoicekit.engine._lanes import AsyncLanes, Lanes


class Counting(ThreadingHTTPServer):
    """Keeps connections alive; counts them, those open now, and the requests in progress at once."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = self.open = self.busy = self.most_busy = 0
        self.release = threading.Event()  # what GET /hold waits for
        self.release.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Counting

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this the body waits for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections += 1
            self.server.open += 1

    def finish(self) -> None:
        super().finish()
        with self.server.lock:
            self.server.open -= 1

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.busy += 1
            self.server.most_busy = max(self.server.most_busy, self.server.busy)
        if self.path == "/hold":
            self.server.release.wait(5)
        else:
            time.sleep(0.01)  # long enough for requests to overlap
        with self.server.lock:
            self.server.busy -= 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Counting]:
    served = Counting()
    thread = threading.Thread(target=served.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield served
    served.release.set()
    served.shutdown()
    served.server_close()


def _wait_for(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_sync_lanes_bound_and_reuse_connections(server: Counting) -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=3)
    with httpx.Client(base_url=server.url, transport=Lanes(limits=limits)) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get("/").json(), range(12)))
    assert answers == [{"ok": True}] * 12
    assert server.most_busy == 3  # never more than max_connections at once, and all of them used
    assert server.connections == 3  # every later request reused one of them


def test_sync_pool_timeout_and_a_closed_response_frees_its_lane(server: Counting) -> None:
    server.release.clear()
    transport = Lanes(limits=httpx.Limits(max_connections=1))
    with httpx.Client(base_url=server.url, transport=transport, timeout=httpx.Timeout(5, pool=0.1)) as client:
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(client.get, "/hold")
            _wait_for(lambda: server.busy == 1)
            with pytest.raises(httpx.PoolTimeout):
                client.get("/")
            server.release.set()
            assert held.result().status_code == 200
        assert client.get("/").status_code == 200  # the lane came back
    assert server.connections == 1


def test_sync_surplus_idle_lanes_are_closed(server: Counting) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=1)
    with httpx.Client(base_url=server.url, transport=Lanes(limits=limits)) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: client.get("/"), range(4)))
        _wait_for(lambda: server.open == 1)  # three of the four connections closed once idle


def test_sync_an_error_frees_its_lane(server: Counting) -> None:
    transport = Lanes(limits=httpx.Limits(max_connections=1))
    with httpx.Client(transport=transport, timeout=httpx.Timeout(2, pool=0.5)) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("http://127.0.0.1:1/")  # nothing listens on port 1
        assert client.get(server.url).status_code == 200  # another origin, on the same (freed) lane


@pytest.mark.anyio
async def test_async_lanes_bound_reuse_and_survive_cancellation(server: Counting) -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=3)
    async with httpx.AsyncClient(base_url=server.url, transport=AsyncLanes(limits=limits)) as client:
        answers: list[object] = []

        async def get() -> None:
            answers.append((await client.get("/")).json())

        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(get)
        assert answers == [{"ok": True}] * 12
        assert server.most_busy == 3
        assert server.connections == 3

        server.release.clear()
        with anyio.move_on_after(0.2):
            await client.get("/hold")  # cancelled while its lane waits for the answer
        server.release.set()
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(get)  # all three lanes are free again
        assert len(answers) == 15


@pytest.mark.anyio
async def test_async_pool_timeout(server: Counting) -> None:
    server.release.clear()
    transport = AsyncLanes(limits=httpx.Limits(max_connections=1))
    async with httpx.AsyncClient(
        base_url=server.url, transport=transport, timeout=httpx.Timeout(5, pool=0.1)
    ) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.get, "/hold")
            await anyio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await client.get("/")
            server.release.set()
        assert (await client.get("/")).status_code == 200


def test_connect_uses_lanes_unless_a_proxy_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with invoicekit.connect("cashaca", token="t") as books:
        lazy = books._client._transport
        assert isinstance(lazy, _LazyTransport)  # built on the first request (invoicekit/_client.py)
        assert isinstance(lazy._transport(), Lanes)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    with invoicekit.connect("cashaca", token="t") as books:
        assert not isinstance(books._client._transport, Lanes)
        assert any(transport is not None for transport in books._client._mounts.values())
