"""A write the provider accepted is never an ordinary failure: whatever fails after it (its answer, the read
that follows, a lookup's follow-up) raises WriteLanded, naming the document that exists, and a caller's
natural retry loop does not catch it, so no duplicate is made. Sync and async, on the toy provider and on both
bundled adapters against their sandboxes."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from toy_server import TOKEN, ToyServer, drop_after_commit, respond

import invoicekit
from invoicekit import Address, Client, Invoice, InvoiceRow, Payment
from invoicekit.engine import RetryPolicy
from invoicekit.errors import (
    InvoicekitError,
    MalformedResponse,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WriteLanded,
)
from invoicekit.sandbox import FaultRule, Sandbox
from invoicekit.testing import SandboxFactory, run_books

pytestmark = pytest.mark.usefixtures("toy_entry_point")

FAST = RetryPolicy(backoff=0.001, max_backoff=0.01)
# What a caller's retry loop catches: an error that says "try again".
RETRY_LOOP = (ProviderUnavailable, TransportError, MalformedResponse, RateLimited)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def retried(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``op(books)`` that does what a caller's code naturally does: try ``make(books)`` up to three times."""

    def op(books: Any) -> Any:
        if isinstance(books, invoicekit.AsyncBooks):

            async def attempts() -> Any:
                for attempt in range(3):
                    try:
                        return await make(books)
                    except RETRY_LOOP:
                        if attempt == 2:
                            raise
                return None

            return attempts()
        for attempt in range(3):
            try:
                return make(books)
            except RETRY_LOOP:
                if attempt == 2:
                    raise
        return None

    return op


def a_client() -> Client:
    address = Address(street="Langestraat 189", postal_code="2000", city="Antwerpen")
    return Client(name="IT Services BV", vat_number="BE0403019261", email="info@it-services.example", address=address)


def an_invoice(client: Client) -> Invoice:
    rows = [InvoiceRow(description="Consultancy", quantity=8, unit_price="95.00", vat_rate=21)]
    return Invoice(issue_date="2026-11-30", payment_term_days=30, client=client, rows=rows)


def landed(mode: str, box: Sandbox, name: str, make: Callable[[Any], Any]) -> WriteLanded:
    with pytest.raises(WriteLanded) as caught:
        run_books(mode, name, retried(make), sandbox=box, retry=FAST)
    assert not isinstance(caught.value, RETRY_LOOP)
    return caught.value


# --- EenvoudigFactureren: every create POSTs, then reads the new document back --------------------------------


def test_ef_a_503_on_the_read_after_an_accepted_invoice_create(mode: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox("eenvoudigfactureren")
    box.faults.add(FaultRule.server_error(1.0, status=503, method="GET", path="/api/v1/invoices/*"))
    error = landed(mode, box, "eenvoudigfactureren", lambda b: b.invoices.create(an_invoice(a_client())))
    stored = box.store.all("invoices")
    assert len(stored) == 1  # and not three: the retry loop never saw an error it retries
    assert error.provider_id == str(stored[0]["id"])
    assert error.operation == "POST /invoices"
    assert isinstance(error.cause, ProviderUnavailable)
    assert error.cause.status == 503
    assert f"document {error.provider_id} exists" in str(error)


def test_ef_a_503_on_the_read_after_an_accepted_payment(mode: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox("eenvoudigfactureren")
    invoice = run_books(mode, "eenvoudigfactureren", lambda b: b.invoices.create(an_invoice(a_client())), sandbox=box)
    box.faults.add(FaultRule.server_error(1.0, status=503, method="GET", path="/api/v1/invoices/*/payments/*"))
    payment = Payment(invoice_id=invoice.provider_id, date="2026-11-30", amount="10.00")
    error = landed(mode, box, "eenvoudigfactureren", lambda b: b.payments.create(payment))
    box.faults.clear()
    stored = run_books(mode, "eenvoudigfactureren", lambda b: b.payments.list(invoice.provider_id), sandbox=box)
    assert [p.provider_id for p in stored] == [error.provider_id]
    assert error.provider_id is not None


def test_ef_a_garbled_answer_to_an_accepted_create(mode: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox("eenvoudigfactureren", seed=3)
    box.faults.add(FaultRule.malformed(1.0, method="POST", path="/api/v1/clients", times=1))
    error = landed(mode, box, "eenvoudigfactureren", lambda b: b.clients.create(a_client()))
    stored = box.store.all("clients")
    assert len(stored) == 1
    assert isinstance(error.cause, MalformedResponse)
    # What to look it up by: the reconciliation key the create carried (the library's own, made for it).
    assert error.reference == stored[0]["external_client_id"]
    assert str(error.reference).startswith("ik-")


# --- Cashaca: creates read the POST's own answer; a lost answer is found by its key ------------------------------


def test_cashaca_a_garbled_answer_to_an_accepted_create(mode: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox("cashaca", seed=5)
    box.faults.add(FaultRule.malformed(1.0, method="POST", path="/api/v2/invoices.json", times=1))
    error = landed(mode, box, "cashaca", lambda b: b.invoices.create(an_invoice(a_client())))
    stored = box.store.all("invoices")
    assert len(stored) == 1
    # What to look it up by, since its id is unreadable: the reconciliation key the create carried.
    assert error.reference == stored[0]["internal_description"]
    assert str(error.reference).startswith("ik-")
    assert error.provider_id in (None, str(stored[0]["id"]))


def test_cashaca_the_read_after_a_recovered_create_fails(mode: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox("cashaca")
    box.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/api/v2/invoices.json", times=1))
    box.faults.add(FaultRule.server_error(1.0, status=503, method="GET", path="/api/v2/invoices/*"))
    error = landed(mode, box, "cashaca", lambda b: b.invoices.create(an_invoice(a_client())))
    stored = box.store.all("invoices")
    assert len(stored) == 1
    assert error.provider_id == str(stored[0]["id"])  # the lookup found it; only reading it back failed


# --- the toy provider: the engine's rules, one by one ---------------------------------------------------------


def toy(mode: str, handler: Callable[[httpx.Request], httpx.Response], make: Callable[[Any], Any]) -> Any:
    transport = httpx.MockTransport(handler)
    return run_books(mode, "toy", retried(make), transport=transport, token=TOKEN, retry=FAST)


def create(external_id: str | None = "ext-1") -> Callable[[Any], Any]:
    return lambda books: books.clients.create(Client(name="IT Services BV", external_id=external_id))


def test_a_lookup_found_the_write_and_its_follow_up_read_fails(mode: str) -> None:
    server = ToyServer()
    server.faults = [drop_after_commit(server), lambda request, committed: None] + [respond(503)] * 5
    with pytest.raises(WriteLanded) as caught:
        toy(mode, server.handler, create())
    assert (caught.value.provider_id, caught.value.operation) == ("1", "POST /clients")
    assert isinstance(caught.value.cause, ProviderUnavailable)
    assert server.posts() == 1
    assert len(server.clients) == 1


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer body that arrives in pieces and may break off, as over a socket."""

    def __init__(self, pieces: list[bytes], *, then_fail: bool = False) -> None:
        self.pieces, self.then_fail = pieces, then_fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.then_fail:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


def committing(server: ToyServer, answer: Callable[[httpx.Request], httpx.Response]) -> None:
    """The next POST is committed by the server, then answered with ``answer``."""

    def fault(request: httpx.Request, committed: bool) -> httpx.Response:
        server._route(request)
        return answer(request)

    server.faults = [fault]


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(201, stream=Body([b'{"id": 1, "name": "IT'], then_fail=True)),
        lambda r: httpx.Response(201, stream=Body([b"x" * 1024 * 1024] * 21)),
        lambda r: httpx.Response(201, headers={"Content-Encoding": "gzip"}, stream=Body([b"not gzip at all"])),
    ],
    ids=["cut-mid-body", "too-large", "undecodable"],
)
def test_an_unreadable_success_answer_to_a_write_is_recovered_by_its_lookup(mode: str, answer: Any) -> None:
    server = ToyServer()
    committing(server, answer)
    created = toy(mode, server.handler, create("ext-7"))
    assert created.provider_id == "1"
    assert created.external_id == "ext-7"
    assert server.posts() == 1  # it landed: looked up, never sent again


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (lambda r: httpx.Response(201, stream=Body([b'{"id": 1, "na'], then_fail=True)), TransportError),
        (lambda r: httpx.Response(201, stream=Body([b"x" * 1024 * 1024] * 21)), MalformedResponse),
        (lambda r: httpx.Response(201, content=b"<html>Created</html>"), MalformedResponse),
    ],
    ids=["cut-mid-body", "too-large", "html"],
)
def test_an_unreadable_success_answer_without_a_lookup_is_write_landed(
    mode: str, answer: Any, cause: type[Exception]
) -> None:
    server = ToyServer()
    committing(server, answer)
    with pytest.raises(WriteLanded) as caught:
        toy(mode, server.handler, create(None))
    assert isinstance(caught.value.cause, cause)
    assert server.posts() == 1
    assert len(server.clients) == 1


def test_the_id_of_what_landed_is_read_from_a_location_header(mode: str) -> None:
    server = ToyServer()
    committing(server, lambda r: httpx.Response(201, headers={"Location": "/api/clients/1"}, content=b"{oops"))
    with pytest.raises(WriteLanded) as caught:
        toy(mode, server.handler, create(None))
    assert caught.value.provider_id == "1"


def test_a_refused_write_is_not_write_landed(mode: str) -> None:
    server = ToyServer()
    server.faults = [respond(422)]
    with pytest.raises(ProviderRejected):
        toy(mode, server.handler, create("ext-3"))
    assert server.clients == []


def test_an_uncertain_write_stays_uncertain(mode: str) -> None:
    server = ToyServer(lookup_status=500)
    server.faults = [drop_after_commit(server)]
    with pytest.raises(UncertainOutcome):
        toy(mode, server.handler, create("ext-4"))


def test_write_landed_pickles() -> None:
    error = WriteLanded("toy", "POST /clients", "7", "ext-1", InvoicekitError("toy: the read failed"))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert (copy.provider_id, copy.reference, str(copy)) == ("7", "ext-1", str(error))
    assert str(copy.cause) == "toy: the read failed"
