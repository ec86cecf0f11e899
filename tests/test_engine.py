"""The engine against httpx.MockTransport, every scenario in sync and in async mode."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from toy_server import TOKEN, ToyServer, drop_after_commit, drop_before_commit, respond

import invoicekit
from invoicekit.engine import RetryPolicy, parse_retry_after
from invoicekit.errors import (
    AuthenticationError,
    MalformedResponse,
    NotFound,
    ProviderUnavailable,
    TransportError,
    UncertainOutcome,
    UnknownProvider,
    UnsupportedOperation,
    WriteLanded,
)
from invoicekit.hooks import hookimpl
from invoicekit.testing import run_books

pytestmark = pytest.mark.usefixtures("toy_entry_point")

FAST = RetryPolicy(backoff=0.001, max_backoff=0.01)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.retries: list[tuple[int, float, str]] = []
        self.created: list[Any] = []

    @hookimpl
    def invoicekit_before_request(self, provider: str, request: httpx.Request) -> None:
        self.sent.append(f"{request.method} {request.url.path}")

    @hookimpl
    def invoicekit_on_retry(
        self, provider: str, method: str, path: str, attempt: int, delay: float, reason: str
    ) -> None:
        self.retries.append((attempt, delay, reason))

    @hookimpl
    def invoicekit_document_created(self, provider: str, kind: str, document: Any) -> None:
        self.created.append(document)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Callable[..., Any]:
    mode = request.param

    def runner(server: ToyServer, op: Callable[[Any], Any], *, plugins: tuple[object, ...] = (), **kw: Any) -> Any:
        kw.setdefault("retry", FAST)
        kw.setdefault("token", TOKEN)
        transport = httpx.MockTransport(server.handler)
        return run_books(mode, "toy", op, transport=transport, plugins=plugins, **kw)

    return runner


def new_client(ref: str | None = "ext-1") -> invoicekit.Client:
    return invoicekit.Client(name="IT Services BV", external_id=ref)


def test_429_with_retry_after_then_success(run: Callable[..., Any]) -> None:
    server = ToyServer()
    server.faults = [respond(429, {"Retry-After": "1"})]
    recorder = Recorder()
    created = run(server, lambda b: b.clients.create(new_client()), plugins=(recorder,))
    assert created.provider_id == "1"
    assert server.posts() == 2
    assert recorder.retries == [(1, 1.0, "HTTP 429")]


def test_503_twice_then_success(run: Callable[..., Any]) -> None:
    server = ToyServer(clients=[{"id": 1, "name": "A"}])
    server.faults = [respond(503), respond(503)]
    got = run(server, lambda b: b.clients.get("1"))
    assert got.name == "A"
    assert server.requests == [("GET", "/api/clients/1")] * 3


def test_gives_up_after_max_attempts(run: Callable[..., Any]) -> None:
    server = ToyServer(clients=[{"id": 1, "name": "A"}])
    server.faults = [respond(503)] * 10
    with pytest.raises(ProviderUnavailable) as info:
        run(server, lambda b: b.clients.get("1"), retry=RetryPolicy(max_attempts=3, backoff=0.001))
    assert info.value.status == 503
    assert len(server.requests) == 3


def test_lost_post_response_is_looked_up_and_not_sent_twice(run: Callable[..., Any]) -> None:
    server = ToyServer()
    server.faults = [drop_after_commit(server)]
    recorder = Recorder()
    created = run(server, lambda b: b.clients.create(new_client("ext-9")), plugins=(recorder,))
    assert server.posts() == 1
    assert len(server.clients) == 1
    assert created.provider_id == "1"
    assert created.external_id == "ext-9"
    assert recorder.created == [created]
    assert recorder.sent == ["POST /api/clients", "GET /api/clients", "GET /api/clients/1"]


def test_lost_post_that_did_not_land_is_sent_again(run: Callable[..., Any]) -> None:
    server = ToyServer()
    server.faults = [drop_before_commit()]
    created = run(server, lambda b: b.clients.create(new_client("ext-2")))
    assert server.posts() == 2
    assert [c["external_id"] for c in server.clients] == ["ext-2"]
    assert created.provider_id == "1"


def test_5xx_on_a_post_is_reconciled_not_retried_blindly(run: Callable[..., Any]) -> None:
    server = ToyServer()

    def commit_then_500(request: httpx.Request, committed: bool) -> httpx.Response:
        server._route(request)
        return httpx.Response(500, json={"error": "oops"})

    server.faults = [commit_then_500]
    created = run(server, lambda b: b.clients.create(new_client("ext-3")))
    assert server.posts() == 1
    assert len(server.clients) == 1
    assert created.external_id == "ext-3"


def test_uncertain_outcome_when_the_lookup_cannot_decide(run: Callable[..., Any]) -> None:
    server = ToyServer(lookup_status=500)
    server.faults = [drop_after_commit(server)]
    with pytest.raises(UncertainOutcome) as info:
        run(server, lambda b: b.clients.create(new_client("ext-4")))
    assert server.posts() == 1
    assert info.value.reference == "ext-4"
    assert "not retried" in str(info.value)


def test_uncertain_outcome_when_there_is_nothing_to_look_up_by(run: Callable[..., Any]) -> None:
    server = ToyServer()
    server.faults = [drop_after_commit(server)]
    with pytest.raises(UncertainOutcome):
        run(server, lambda b: b.clients.create(new_client(None)))
    assert server.posts() == 1


def test_unreadable_answer_to_an_accepted_create_says_it_landed(run: Callable[..., Any]) -> None:
    server = ToyServer()

    def garble(request: httpx.Request, committed: bool) -> httpx.Response:
        server._route(request)
        return httpx.Response(201, content=b'{"id": 1, "na')

    server.faults = [garble]
    with pytest.raises(WriteLanded) as info:
        run(server, lambda b: b.clients.create(new_client("ext-5")))
    assert server.posts() == 1
    assert len(server.clients) == 1
    assert isinstance(info.value.cause, MalformedResponse)
    assert (info.value.operation, info.value.provider_id, info.value.reference) == ("POST /clients", None, "ext-5")
    assert "do not send it again; look it up by 'ext-5'" in str(info.value)


def test_auto_paging(run: Callable[..., Any]) -> None:
    server = ToyServer(clients=[{"id": i, "name": f"C{i}"} for i in range(1, 26)])
    listed = run(server, lambda b: b.clients.list())
    assert [c.provider_id for c in listed] == [str(i) for i in range(1, 26)]
    assert len(server.requests) == 3


def test_errors_are_typed(run: Callable[..., Any]) -> None:
    server = ToyServer()
    with pytest.raises(NotFound):
        run(server, lambda b: b.clients.get("77"))
    with pytest.raises(AuthenticationError) as info:
        run(server, lambda b: b.clients.get("1"), token="wrong-token")
    assert info.value.status == 401


def test_unsupported_operation_sends_nothing(run: Callable[..., Any]) -> None:
    server = ToyServer()
    with pytest.raises(UnsupportedOperation) as info:
        run(server, lambda b: b.invoices.get("1"))
    assert info.value.capability == "invoices.get"
    assert server.requests == []


def test_transport_error_after_retries(run: Callable[..., Any]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    server = ToyServer()
    server.handler = refuse  # type: ignore[method-assign]
    with pytest.raises(TransportError):
        run(server, lambda b: b.clients.get("1"), retry=RetryPolicy(max_attempts=2, backoff=0.001))


def test_invalid_input_sends_zero_requests(run: Callable[..., Any]) -> None:
    """Bad VAT check digits and an AE row for a buyer without VAT number: typed errors, no request."""
    server = ToyServer()
    recorder = Recorder()

    def bad_vat(books: Any) -> Any:
        return books.clients.create(invoicekit.Client(name="X", vat_number="BE0403019262"))

    with pytest.raises(invoicekit.ValidationError) as info:
        run(server, bad_vat, plugins=(recorder,))
    assert info.value.fields == ("vat_number",)
    assert "check digits" in info.value.issues[0].reason

    def reverse_charge_without_vat(books: Any) -> Any:
        row = invoicekit.InvoiceRow(description="Works", unit_price="100", vat_rate=0, vat_category="AE")
        invoice = invoicekit.Invoice(issue_date="2026-11-02", client=invoicekit.Client(name="Y"), rows=[row])
        return books.invoices.create(invoice)

    with pytest.raises(invoicekit.ValidationError) as info:
        run(server, reverse_charge_without_vat, plugins=(recorder,))
    assert info.value.fields == ("client.vat_number",)
    assert "AE" in str(info.value)
    assert recorder.sent == []
    assert server.requests == []


def test_token_never_appears_in_logs_errors_or_reprs(run: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    server = ToyServer()
    server.faults = [respond(503)] * 2 + [drop_before_commit()]
    root = logging.getLogger()
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "invoicekit"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    texts: list[str] = []

    def failing(books: Any) -> Any:
        texts.append(repr(books))
        texts.append(repr(books.adapter))
        return books.clients.get("999")

    with pytest.raises(NotFound) as info:
        run(server, failing)
    with pytest.raises(AuthenticationError) as auth:  # the 401 body echoes the token it was sent
        run(server, failing, token=TOKEN + "-bad")
    for exc in (info.value, auth.value):
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), str(getattr(exc, "body", ""))]
    texts += [record.getMessage() for record in caplog.records]
    assert any("HTTP Request" in record.getMessage() for record in caplog.records), "httpx did log its URLs"
    assert root is not None
    joined = "\n".join(texts)
    assert TOKEN not in joined
    assert "***" in joined


def test_unknown_provider_lists_installed() -> None:
    with pytest.raises(UnknownProvider) as info:
        invoicekit.connect("nope", token="x")
    assert "toy" in info.value.installed
    assert "toy" in str(info.value)


def test_toy_is_found_through_its_entry_point() -> None:
    providers = invoicekit.installed_providers()
    assert providers["toy"].title == "Toy"
    assert "invoicekit_cashaca" not in providers["toy"].create_adapter.__module__


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("-2", 0.0), ("soon", None), (None, None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0


def test_backoff_grows_and_has_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, backoff=1.0, max_backoff=100.0)
    delays = [policy.delay(attempt, None) for attempt in range(1, 6)]
    assert all(d is not None for d in delays)
    for attempt, delay in enumerate(delays, start=1):
        ceiling = 2.0 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling  # type: ignore[operator]
    assert policy.delay(6, None) is None
    assert policy.delay(1, 500.0) is None  # longer than max_retry_after: not waited out


class _Frozen(ProviderUnavailable):
    """An error that refuses any change after it is built, as errors must be treated."""

    _built = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._built = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self._built:
            raise AttributeError(f"errors are immutable: {name}")
        super().__setattr__(name, value)


def test_errors_are_built_from_a_masked_answer_and_never_changed(
    run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from toy_provider import ToyAdapter

    seen: list[httpx.Response] = []

    def error_for(self: Any, response: httpx.Response, body: str) -> Any:
        seen.append(response)
        return _Frozen(f"down: {response.text}", provider=self.name, status=response.status_code, body=body)

    monkeypatch.setattr(ToyAdapter, "error_for", error_for)
    server = ToyServer()
    echo = lambda request, committed: httpx.Response(503, json={"error": f"busy {request.url}"})  # noqa: E731
    server.faults = [echo] * 5
    with pytest.raises(_Frozen) as info:
        run(server, lambda b: b.clients.get("1"))
    assert TOKEN not in seen[0].text
    assert TOKEN not in str(seen[0].request.url)
    assert "token=***" in str(seen[0].request.url)
    assert TOKEN not in str(info.value)
    assert "busy" in str(info.value)


def test_rate_limited_gets_the_retry_after_it_was_sent(run: Callable[..., Any]) -> None:
    server = ToyServer()
    server.faults = [respond(429, {"Retry-After": "0"})] * 5
    with pytest.raises(invoicekit.RateLimited) as info:
        run(server, lambda b: b.clients.get("1"))
    assert info.value.retry_after == 0.0
    assert info.value.status == 429
