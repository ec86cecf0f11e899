"""connect(http_client=...): the caller's httpx client carries the connection; and the User-Agent."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit._version import __version__
from invoicekit.errors import ConfigurationError
from invoicekit.sandbox import Sandbox, create_sandbox


class Recording(httpx.BaseTransport):
    """Passes every request to the sandbox and keeps its headers and query."""

    def __init__(self, box: Sandbox) -> None:
        self.inner = box.transport()
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.inner.handle_request(request)


@pytest.fixture
def box() -> Sandbox:
    return create_sandbox("cashaca")


def _connect(box: Sandbox, http: httpx.Client) -> invoicekit.Books:
    return invoicekit.connect("cashaca", http_client=http, base_url=box.base_url, **box.credentials())


def test_the_callers_client_carries_auth_and_our_user_agent_and_stays_open(box: Sandbox) -> None:
    recording = Recording(box)
    with httpx.Client(transport=recording) as http:
        for _ in range(2):  # two connections, one client
            with _connect(box, http) as books:
                assert isinstance(list(books.clients.list()), list)
        assert not http.is_closed
        assert ("GET", "/api/v2/clients.json") in box.request_log
    assert len(recording.seen) == 2
    for request in recording.seen:
        assert request.url.params["token"] == box.credentials()["token"]  # the adapter's auth, per request
        assert request.headers["User-Agent"] == f"invoicekit/{__version__} (cashaca)"


def test_a_user_agent_the_caller_set_is_kept(box: Sandbox) -> None:
    recording = Recording(box)
    with httpx.Client(transport=recording, headers={"User-Agent": "shop/2.0"}) as http, _connect(box, http) as books:
        list(books.clients.list())
    assert recording.seen[0].headers["User-Agent"] == "shop/2.0"


def test_a_default_connection_names_invoicekit_and_closes_its_own_client(box: Sandbox) -> None:
    with invoicekit.connect("cashaca", sandbox=box) as books:
        list(books.clients.list())
        client = books.clients._client
    assert client.is_closed
    assert box.request_log


class Cookied(Recording):
    """The sandbox's answers with a cookie set on each."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        answer.headers["Set-Cookie"] = "session=abc; Path=/"
        return answer


def test_connects_own_client_keeps_no_cookies_and_a_callers_client_keeps_its_own(box: Sandbox) -> None:
    # No provider uses cookies, and the engine never sends a client's (it builds its requests itself): the
    # own client skips httpx's per-response cookie extraction. A caller's client is left as httpx made it.
    with invoicekit.connect("cashaca", transport=Cookied(box), base_url=box.base_url, **box.credentials()) as books:
        list(books.clients.list())
        assert not books.clients._client.cookies
    with httpx.Client(transport=Cookied(box)) as http, _connect(box, http) as books:
        list(books.clients.list())
        assert http.cookies["session"] == "abc"


def test_the_async_twin_leaves_the_callers_client_open(box: Sandbox) -> None:
    async def run() -> bool:
        async with httpx.AsyncClient(transport=box.transport()) as http:
            connection = invoicekit.connect_async(
                "cashaca", http_client=http, base_url=box.base_url, **box.credentials()
            )
            async with connection as books:
                assert isinstance([c async for c in books.clients.list()], list)
            return http.is_closed

    assert asyncio.run(run()) is False


@pytest.mark.parametrize("bringing", ["sandbox=box", "sandbox=True", "transport="])
def test_http_client_and_a_transport_are_refused_before_anything_is_built(
    box: Sandbox, bringing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nothing_may_be_loaded(name: str) -> None:
        raise AssertionError(f"provider {name!r} loaded (and a sandbox=True started) before the check")

    monkeypatch.setattr("invoicekit._connect.load_provider", nothing_may_be_loaded)
    brought: dict[str, Any] = {"sandbox=box": {"sandbox": box}, "sandbox=True": {"sandbox": True}}
    brought["transport="] = {"transport": box.transport()}
    with httpx.Client(transport=box.transport()) as http, pytest.raises(ConfigurationError, match="http_client="):
        invoicekit.connect("cashaca", http_client=http, **brought[bringing])
    ahttp = httpx.AsyncClient(transport=box.transport())
    with pytest.raises(ConfigurationError, match="http_client="):
        invoicekit.connect_async("cashaca", http_client=ahttp, **brought[bringing])


def test_a_redirect_is_not_followed_even_when_the_callers_client_would() -> None:
    """httpx keeps every header but Authorization across hosts, so an API key in another header (EF's
    X-API-Key) would travel to wherever a 3xx points: the engine never follows one."""
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/api/v1/clients"})

    client = httpx.Client(transport=httpx.MockTransport(serve), follow_redirects=True)
    with (
        invoicekit.connect("eenvoudigfactureren", api_key="redirect-key", http_client=client) as books,
        pytest.raises(invoicekit.InvoicekitError),
    ):
        list(books.clients.list())
    client.close()
    assert "elsewhere.example" not in seen
    assert seen
