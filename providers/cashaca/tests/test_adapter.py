"""The Cashaca adapter end to end against its sandbox: in-process (sync and async) and over uvicorn."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import invoicekit
from invoicekit import Address, Client, Invoice, InvoiceRow, Payment
from invoicekit.engine import RetryPolicy
from invoicekit.errors import AuthenticationError, NotFound, UncertainOutcome, UnsupportedOperation, ValidationError
from invoicekit.sandbox import FaultRule, running
from invoicekit.testing import run_books

FAST = RetryPolicy(backoff=0.001, max_backoff=0.01)
TODAY = date(2026, 11, 2)


def a_client(**kw: Any) -> Client:
    values: dict[str, Any] = {
        "name": "IT Services BV",
        "vat_number": "BE0403019261",
        "email": "info@it-services.example",
        "address": Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        **kw,
    }
    return Client(**values)


def an_invoice(client: Client, **kw: Any) -> Invoice:
    rows = [
        InvoiceRow(description="Consultancy", quantity=8, unit_price="95.00", vat_rate=21),
        InvoiceRow(description="Book", quantity=3, unit_price="19.99", vat_rate=6),
        InvoiceRow(description="Training", unit_price="150", vat_rate=0, vat_category="E", exemption_reason="Art. 44"),
    ]
    return Invoice(issue_date=TODAY, payment_term_days=30, client=client, rows=rows, **kw)


@pytest.fixture(params=["sync", "async", "sync-strict"])
def session(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Runs ``op(books)`` against one shared in-process sandbox, in sync or async mode; "-strict" builds the
    sandbox in strict mode (only what Cashaca's docs or a public client show is served)."""
    mode, _, strict = str(request.param).partition("-")
    sandbox = invoicekit.installed_providers()["cashaca"].create_sandbox(strict=bool(strict))  # type: ignore[misc]

    def run(op: Callable[[Any], Any], **kw: Any) -> Any:
        kw.setdefault("retry", FAST)
        return run_books(mode, "cashaca", op, sandbox=sandbox, **kw)

    run.sandbox = sandbox  # type: ignore[attr-defined]
    yield run
    sandbox.close()


def test_client_round_trip(session: Callable[..., Any]) -> None:
    created = session(lambda b: b.clients.create(a_client(external_id="c-1")))
    fetched = session(lambda b: b.clients.get(created.provider_id))
    assert fetched.name == "IT Services BV"
    assert fetched.vat_number == "BE0403019261"
    assert fetched.address == a_client().address
    assert fetched.external_id == "c-1"
    # Cashaca's search matches part of the name only: a reference is found by walking the list.
    assert [c.provider_id for c in session(lambda b: b.clients.list(search="services"))] == [created.provider_id]
    assert session(lambda b: b.clients.list(search="c-1")) == []
    by_ref = session(lambda b: b.clients.list(external_id="c-1"))
    assert [c.provider_id for c in by_ref] == [created.provider_id]
    by_vat = session(lambda b: b.clients.list(vat_number="BE0403019261"))
    assert [c.provider_id for c in by_vat] == [created.provider_id]


def test_consumer_invoice_without_an_address(session: Callable[..., Any]) -> None:
    # What the production Apps Script books: a private person with a name, e-mail and language only.
    person = Client(kind="person", name="Marie Dubois", email="marie@example.be", language="fr")
    invoice = session(lambda b: b.invoices.create(an_invoice(person)))
    fetched = session(lambda b: b.invoices.get(invoice.provider_id))
    assert (fetched.client.name, fetched.client.address) == ("Marie Dubois", None)
    assert fetched.totals.payable == Decimal("1133.17")


def test_lost_client_answer_is_found_by_its_reference(session: Callable[..., Any]) -> None:
    sandbox = session.sandbox  # type: ignore[attr-defined]
    session(lambda b: b.clients.create(a_client(external_id="K-76")))  # same name, another reference
    sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/api/v2/clients.json", times=1))
    try:
        created = session(lambda b: b.clients.create(a_client(external_id="K-77")))
    finally:
        sandbox.faults.clear()
    stored = [c for c in sandbox.store.all("clients") if c.get("reference") == "K-77"]
    assert len(stored) == 1
    assert (created.provider_id, created.idempotency_key) == (str(stored[0]["id"]), "K-77")
    assert len(sandbox.store.all("clients")) == 2


def test_a_client_key_other_than_its_external_id_is_refused(session: Callable[..., Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        session(lambda b: b.clients.create(a_client(external_id="K-1"), idempotency_key="other-key"))
    assert "idempotency_key" in refused.value.fields
    assert session.sandbox.store.all("clients") == []  # type: ignore[attr-defined]


def test_an_invoice_is_numbered_by_cashaca_and_carries_its_key(session: Callable[..., Any]) -> None:
    sandbox = session.sandbox  # type: ignore[attr-defined]
    client = a_client()
    first = session(lambda b: b.invoices.create(an_invoice(client), idempotency_key="order-1234"))
    again = session(lambda b: b.invoices.create(an_invoice(client), idempotency_key="order-1234"))
    own = session(lambda b: b.invoices.create(an_invoice(client, number="MIG-0042")))
    paths = [entry[1] for entry in sandbox.request_log]
    assert "/api/v2/next_invoice_serial_number.json" not in paths  # never read the next number and post it
    assert (again.provider_id, again.idempotency_key) == (first.provider_id, "order-1234")
    stored = sandbox.store.all("invoices")
    assert [(r["internal_description"], r["serial_number"]) for r in stored] == [
        ("order-1234", first.number),
        (own.idempotency_key, "MIG-0042"),  # the caller's own number, kept as given
    ]
    assert first.number
    assert session(lambda b: b.invoices.get(first.provider_id)).idempotency_key == "order-1234"


def test_lost_invoice_answer_is_found_by_its_key_only(session: Callable[..., Any]) -> None:
    sandbox = session.sandbox  # type: ignore[attr-defined]
    other = session(lambda b: b.invoices.create(an_invoice(a_client())))
    sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/api/v2/invoices.json", times=1))
    try:
        mine = session(lambda b: b.invoices.create(an_invoice(a_client())))
    finally:
        sandbox.faults.clear()
    assert len(sandbox.store.all("invoices")) == 2
    assert mine.provider_id != other.provider_id
    assert mine.idempotency_key
    assert mine.idempotency_key != other.idempotency_key


def test_invoice_with_mixed_rates(session: Callable[..., Any]) -> None:
    client = session(lambda b: b.clients.create(a_client()))
    invoice = session(lambda b: b.invoices.create(an_invoice(client)))
    assert invoice.number is not None
    assert invoice.number.startswith("2026_")
    assert len(invoice.rows) == 3
    totals = invoice.totals
    provider_total = Decimal(invoice.raw["amount"]) + Decimal(invoice.raw["vat_amount"])
    assert provider_total == totals.payable == Decimal("1133.17")
    assert invoice.structured_communication is not None
    assert len(invoice.structured_communication) == 12
    again = session(lambda b: b.invoices.get(invoice.provider_id))
    assert again.totals == totals
    assert [r.vat_category for r in again.rows] == ["S", "S", "E"]


def test_partial_then_full_payment_and_unpaid_list(session: Callable[..., Any]) -> None:
    client = session(lambda b: b.clients.create(a_client()))
    invoice = session(lambda b: b.invoices.create(an_invoice(client)))

    def unpaid() -> list[str | None]:
        return [i.provider_id for i in session(lambda b: b.invoices.list(unpaid=True))]

    assert invoice.provider_id in unpaid()
    paid = session(lambda b: b.payments.create(Payment(invoice_id=invoice.provider_id, date=TODAY, amount="100")))
    # The 201 answer's id is the only handle on a payment (no GET exists): the caller holds it. The answer's
    # shape is assumed, so a strict sandbox serves none of it, and the id stays unknown rather than made up.
    sandbox = session.sandbox  # type: ignore[attr-defined]
    stored = sandbox.store.all("financial_transactions")
    assert paid.provider_id == (None if sandbox.strict else str(stored[0]["id"]))
    assert invoice.provider_id in unpaid()
    # An invoice's JSON says nothing about payments (stijn1989's entity has no paid field): unknown, not guessed.
    partly = session(lambda b: b.invoices.get(invoice.provider_id))
    assert (partly.status, partly.paid_amount) == (None, None)
    session(lambda b: b.payments.create(Payment(invoice_id=invoice.provider_id, date=TODAY, amount="1033.17")))
    assert invoice.provider_id not in unpaid()


def test_lost_payment_answer_is_uncertain_and_never_booked_twice(session: Callable[..., Any]) -> None:
    invoice = session(lambda b: b.invoices.create(an_invoice(a_client())))
    sandbox = session.sandbox  # type: ignore[attr-defined]
    sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/api/v2/financial_transactions.json"))
    try:
        with pytest.raises(UncertainOutcome):
            session(lambda b: b.payments.create(Payment(invoice_id=invoice.provider_id, date=TODAY, amount="100")))
    finally:
        sandbox.faults.clear()
    assert len(sandbox.store.all("financial_transactions")) == 1


def test_reverse_charge_comes_back_from_the_sale(session: Callable[..., Any]) -> None:
    row = InvoiceRow(description="Renovation", unit_price="1000", vat_rate=0, vat_category="AE")
    invoice = session(lambda b: b.invoices.create(Invoice(issue_date=TODAY, client=a_client(), rows=[row])))
    sandbox = session.sandbox  # type: ignore[attr-defined]
    sandbox.request_log.clear()
    fetched = session(lambda b: b.invoices.get(invoice.provider_id))
    assert fetched.rows[0].vat_category == "AE"
    assert "reallocation_of_vat" not in fetched.raw  # an invoice does not carry the sale's flag
    assert [entry[1] for entry in sandbox.request_log] == [
        f"/api/v2/invoices/{invoice.provider_id}.json",
        f"/api/v2/sales/{fetched.raw['sale_id']}.json",
    ]


def test_250_invoices_over_3_pages(session: Callable[..., Any]) -> None:
    client = session(lambda b: b.clients.create(a_client()))
    row = InvoiceRow(description="x", unit_price="1", vat_rate=21)

    def create_many(books: Any) -> Any:
        async def go() -> None:
            for i in range(250):
                await books.invoices.create(Invoice(issue_date=TODAY, client=client, rows=[row], number=f"L-{i:04d}"))

        if isinstance(books, invoicekit.AsyncBooks):
            return go()
        for i in range(250):
            books.invoices.create(Invoice(issue_date=TODAY, client=client, rows=[row], number=f"L-{i:04d}"))
        return None

    session(create_many)
    log = session.sandbox.request_log  # type: ignore[attr-defined]
    log.clear()
    listed = session(lambda b: b.invoices.list())
    numbers = [i.number for i in listed if i.number.startswith("L-")]
    assert len(numbers) == 250
    assert len(set(numbers)) == 250
    assert [path for method, path in log] == ["/api/v2/invoices.json"] * 3


def test_bad_token_unknown_id_and_422(session: Callable[..., Any]) -> None:
    with pytest.raises(AuthenticationError) as auth:
        session(lambda b: b.invoices.get("1"), token="wrong-token-123")
    assert auth.value.status == 401
    with pytest.raises(NotFound):
        session(lambda b: b.invoices.get("999999"))
    client = session(lambda b: b.clients.create(a_client()))
    session(lambda b: b.invoices.create(an_invoice(client, number="DUP-1")))
    if session.sandbox.strict:  # type: ignore[attr-defined]
        return  # a unique serial number is an assumed refusal: off in strict mode
    with pytest.raises(ValidationError) as dup:  # the sandbox refuses a duplicate serial number (422)
        session(lambda b: b.invoices.create(an_invoice(client, number="DUP-1")))
    assert dup.value.provider == "cashaca"
    assert "number" in dup.value.fields


def test_preflight_catches_what_cashaca_rejects(session: Callable[..., Any]) -> None:
    session.sandbox.request_log.clear()  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as lost:
        session(lambda b: b.clients.create(a_client(custom_fields={"tier": "gold"})))
    assert lost.value.fields == ("custom_fields",)
    with pytest.raises(UnsupportedOperation):
        session(lambda b: b.invoices.delete("1"))
    assert session.sandbox.request_log == []  # type: ignore[attr-defined]


def test_commit_then_drop_on_create_never_duplicates(session: Callable[..., Any]) -> None:
    client = session(lambda b: b.clients.create(a_client()))
    sandbox = session.sandbox  # type: ignore[attr-defined]
    before = len(sandbox.store.all("invoices"))
    sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/api/v2/invoices.json"))
    try:
        created = session(lambda b: b.invoices.create(an_invoice(client)))
    except UncertainOutcome:
        created = None
    finally:
        sandbox.faults.clear()
    invoices = sandbox.store.all("invoices")
    assert len(invoices) == before + 1
    assert created is not None
    assert created.provider_id == str(invoices[-1]["id"])


def test_100_reads_under_a_10_per_second_limit(session: Callable[..., Any]) -> None:
    client = session(lambda b: b.clients.create(a_client()))
    sandbox = session.sandbox  # type: ignore[attr-defined]
    sandbox.faults.add(FaultRule.rate_limited(10, burst=10))
    sandbox.request_log.clear()
    try:
        results = session(lambda b: _read_many(b, client.provider_id, 100), retry=RetryPolicy(max_attempts=50))
    finally:
        sandbox.faults.clear()
    assert len(results) == 100
    assert all(r.name == "IT Services BV" for r in results)
    assert any(entry.status == 429 for entry in sandbox.request_log)


def _read_many(books: Any, client_id: str, n: int) -> Any:
    if isinstance(books, invoicekit.AsyncBooks):

        async def go() -> list[Client]:
            return [await books.clients.get(client_id) for _ in range(n)]

        return go()
    return [books.clients.get(client_id) for _ in range(n)]


def test_peppol_needs_a_vat_number_of_any_country(session: Callable[..., Any]) -> None:
    person = session(lambda b: b.clients.create(a_client(vat_number=None, kind="person", name="Jan Peeters")))
    invoice = session(lambda b: b.invoices.create(an_invoice(person)))
    with pytest.raises(ValidationError) as info:
        session(lambda b: b.invoices.send(invoice.provider_id, via="peppol"))
    assert info.value.provider == "cashaca"
    for vat, country in (("BE0403019261", "BE"), ("NL004495445B01", "NL")):
        address = Address(street="Damrak 1", postal_code="1012 LG", city="Amsterdam", country=country)
        company = session(lambda b, v=vat, a=address: b.clients.create(a_client(vat_number=v, address=a)))
        ok = session(lambda b, c=company: b.invoices.create(an_invoice(c)))
        assert session(lambda b, i=ok.provider_id: b.invoices.send(i, via="peppol")).accepted


def test_token_never_leaks(session: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "invoicekit"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    sandbox = session.sandbox  # type: ignore[attr-defined]
    token = sandbox.credentials()["token"]
    sandbox.faults.add(FaultRule.server_error(1.0, status=503, times=2))
    texts: list[str] = [repr(sandbox)]
    with pytest.raises(NotFound) as info:
        session(lambda b: texts.append(repr(b)) or b.clients.get("424242"))
    sandbox.faults.clear()
    with pytest.raises(AuthenticationError) as auth:
        session(lambda b: b.clients.get("1"), token=token + "x")
    for exc in (info.value, auth.value):
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    texts += [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert token not in "\n".join(texts)


def test_over_a_real_uvicorn_server() -> None:
    sandbox = invoicekit.installed_providers()["cashaca"].create_sandbox()  # type: ignore[misc]
    with running(sandbox) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with invoicekit.connect("cashaca", base_url=base_url, **sandbox.credentials()) as books:
            client = books.clients.create(a_client())
            invoice = books.invoices.create(an_invoice(client))
            assert books.invoices.get(invoice.provider_id).totals.payable == Decimal("1133.17")
            assert books.invoices.next_number().startswith("2026_")
    sandbox.close()


def test_ubl_is_built_from_the_fetched_invoice_when_the_seller_is_known(session: Callable[..., Any]) -> None:
    from invoicekit.ubl import from_ubl, validate

    seller = invoicekit.Seller(
        name="Demo Webshop BV",
        vat_number="BE0428759497",
        address=Address(street="Kerkstraat 1", postal_code="9000", city="Gent"),
        iban="BE71096123456769",
    )
    client = session(lambda b: b.clients.create(a_client()))
    invoice = session(lambda b: b.invoices.create(an_invoice(client)))
    with pytest.raises(UnsupportedOperation):
        session(lambda b: b.invoices.ubl(invoice.provider_id))
    xml = session(lambda b: b.invoices.ubl(invoice.provider_id), seller=seller)
    assert from_ubl(xml).document.totals.payable == invoice.totals.payable
    assert validate(xml, layers=("xsd",)).ok


def test_invoice_and_credit_note_pdf_from_pdf_url_for_client(session: Callable[..., Any]) -> None:
    import io

    import pypdf

    from invoicekit import CreditNote

    invoice = session(lambda b: b.invoices.create(an_invoice(a_client())))
    pdf = session(lambda b: b.invoices.pdf(invoice.provider_id))
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert invoice.number in text
    assert "1133.17" in text
    assert invoice.structured_communication_formatted in text
    note = CreditNote(
        issue_date=TODAY,
        client=a_client(),
        rows=an_invoice(a_client()).rows[:1],
        corrects_invoice_id=invoice.provider_id,
    )
    created = session(lambda b: b.credit_notes.create(note))
    note_pdf = session(lambda b: b.credit_notes.pdf(created.provider_id))
    assert created.number in " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(note_pdf)).pages)


@pytest.mark.parametrize(
    "link", ["https://evil.example/documents/invoices/k.pdf", "http://app.cashaca.be/documents/invoices/k.pdf", None]
)
def test_a_pdf_link_off_cashacas_site_is_not_followed(link: str | None) -> None:
    # The token goes along with every request, so the adapter only follows a link on its own site.
    import httpx
    from invoicekit_cashaca import CashacaAdapter

    from invoicekit.errors import MalformedResponse

    flow = CashacaAdapter(token="secret", base_url="https://app.cashaca.be").invoice_pdf("7")
    step = next(flow)
    assert (step.request.method, step.request.path) == ("GET", "/invoices/7.json")
    with pytest.raises(MalformedResponse):
        flow.send(httpx.Response(200, json={"id": 7, "pdf_url_for_client": link}))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_listed_invoice_that_cannot_be_read_fails_when_reached(mode: str) -> None:
    # Pages are read lazily (LazyPage): the invoices before a broken one are listed, then the broken one is a
    # typed error, a missing field MalformedResponse and a bad value the model's ValidationError naming it.
    import json

    import httpx

    from invoicekit.errors import MalformedResponse

    def invoice(n: int, **changes: Any) -> dict[str, Any]:
        line = {"description": "Works", "number_skus": "1.00", "unit_price": "10.00", "vat_percentage": "21.00"}
        client = {"id": 1, "name": "IT Services BV", "type_id": 1}
        return {"id": n, "serial_number": f"2026_{n}", "date": "2026-11-30", "client": client,
                "commercial_document_lines": [line], **changes}  # fmt: skip

    bad_price = {"commercial_document_lines": [{"description": "Works", "unit_price": "ten", "vat_percentage": "21"}]}
    for broken, error in (({"date": None}, MalformedResponse), (bad_price, ValidationError)):
        page = json.dumps([invoice(1), invoice(2, **broken), invoice(3)]).encode()
        transport = httpx.MockTransport(lambda request, page=page: httpx.Response(200, content=page))
        seen: list[str | None] = []

        def op(books: Any, seen: list[str | None] = seen) -> Any:
            if mode == "sync":
                return [seen.append(item.provider_id) for item in books.invoices.list()]

            async def consume() -> None:
                async for item in books.invoices.list():
                    seen.append(item.provider_id)

            return consume()

        with pytest.raises(error) as caught:
            run_books(mode, "cashaca", op, token="tok-lazy-0001", transport=transport)
        assert seen == ["1"]
        if isinstance(caught.value, ValidationError):
            assert caught.value.fields == ("rows.0.unit_price",)
