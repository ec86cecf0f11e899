"""Books' reconciliation keys, through an adapter that carries them (keyed_providers.KeyedEF) and the bundled
EF adapter that does not, against EF's sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import keyed_providers
import pytest
from invoicekit_eenvoudigfactureren.sandbox import create_sandbox

import invoicekit
from invoicekit import Books, Client, Invoice, Payment
from invoicekit.errors import Conflict, UnsupportedOperation, ValidationError
from invoicekit.model import Address, InvoiceRow
from invoicekit.sandbox import Sandbox
from invoicekit.sandbox import create_sandbox as create_named_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = create_sandbox(seed=1)
    yield box
    box.close()


@pytest.fixture
def books(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Books]:
    real = invoicekit._connect.load_provider
    monkeypatch.setattr(
        invoicekit._connect, "load_provider", lambda name: keyed_providers.keyed if name == "ef_keyed" else real(name)
    )
    with invoicekit.connect("ef_keyed", sandbox=sandbox, load_entry_point_hooks=False) as made:
        yield made


def _invoice(description: str = "Consulting") -> Invoice:
    client = Client(name="Keyed BV", address=Address(street="Langestraat 1", postal_code="2000", city="Antwerpen"))
    return Invoice(
        issue_date=date(2026, 12, 1),
        client=client,
        rows=[InvoiceRow(description=description, unit_price=Decimal("100"), vat_rate=Decimal(21))],
    )


def _posts(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.request_log if entry[0] == "POST" and entry[1].endswith("/invoices"))


def test_a_second_create_with_the_same_key_returns_the_first_and_sends_nothing(books: Books, sandbox: Sandbox) -> None:
    first = books.invoices.create(_invoice(), idempotency_key="order-1234")
    posts = _posts(sandbox)
    again = books.invoices.create(_invoice("Something else"), idempotency_key="order-1234")
    assert again.provider_id == first.provider_id
    assert again.rows[0].description == "Consulting"  # the existing document, not the second one
    assert _posts(sandbox) == posts
    stored = [r for r in sandbox.store.all("invoices") if r.get("external_invoice_id") == "order-1234"]
    assert len(stored) == 1


def test_the_key_travels_to_the_provider_and_comes_back(books: Books, sandbox: Sandbox) -> None:
    made = books.invoices.create(_invoice(), idempotency_key="order-77")
    assert made.idempotency_key == "order-77"
    assert made.provider_id is not None
    assert books.invoices.get(made.provider_id).idempotency_key == "order-77"
    record = sandbox.store.get("invoices", int(made.provider_id))
    assert record is not None
    assert record["external_invoice_id"] == "order-77"


def test_without_a_key_the_library_makes_a_short_unique_one(books: Books) -> None:
    one, two = books.invoices.create(_invoice()), books.invoices.create(_invoice())
    assert one.idempotency_key
    assert two.idempotency_key
    assert one.idempotency_key != two.idempotency_key
    assert one.idempotency_key.startswith("ik-")
    assert len(one.idempotency_key) <= 50


def test_two_documents_with_one_key_are_a_conflict_naming_it(books: Books, sandbox: Sandbox) -> None:
    made = books.invoices.create(_invoice(), idempotency_key="order-9")
    other = books.invoices.create(_invoice())
    assert other.provider_id is not None
    record = sandbox.store.get("invoices", int(other.provider_id))
    assert record is not None
    sandbox.store.replace("invoices", int(other.provider_id), {**record, "external_invoice_id": "order-9"})
    with pytest.raises(Conflict, match="'order-9'"):
        books.invoices.create(_invoice(), idempotency_key="order-9")
    assert made.provider_id


def test_equal_payments_with_their_own_keys_are_two_payments(books: Books) -> None:
    invoice = books.invoices.create(_invoice())
    assert invoice.provider_id is not None
    payments = [
        books.payments.create(
            Payment(invoice_id=invoice.provider_id, date=date(2026, 12, 1), amount=Decimal("10.00")),
            idempotency_key=f"psp-{i}",
        )
        for i in range(2)
    ]
    assert payments[0].provider_id != payments[1].provider_id
    assert books.invoices.get(invoice.provider_id).paid_amount == Decimal("20.00")


@pytest.mark.parametrize(
    ("key", "reason"),
    [("has space", "without spaces"), ("x" * 51, "1 to 50"), ("", "1 to 50")],
)
def test_a_malformed_key_is_refused_before_any_request(books: Books, sandbox: Sandbox, key: str, reason: str) -> None:
    before = len(sandbox.request_log)
    with pytest.raises(ValidationError, match=reason) as caught:
        books.invoices.create(_invoice(), idempotency_key=key)
    assert caught.value.fields == ("idempotency_key",)
    assert len(sandbox.request_log) == before


def test_a_key_on_the_document_and_another_one_given_is_refused(books: Books) -> None:
    invoice = _invoice().model_copy(update={"idempotency_key": "order-1"})
    with pytest.raises(ValidationError, match="pass one"):
        books.invoices.create(invoice, idempotency_key="order-2")


def test_an_adapter_without_key_support_refuses_an_explicit_key() -> None:
    # Flowtly documents no invoice field that could carry a key.
    with (
        create_named_sandbox("flowtly") as sandbox,
        invoicekit.connect("flowtly", sandbox=sandbox, load_entry_point_hooks=False) as plain,
    ):
        client = plain.clients.create(_invoice().client)
        invoice = _invoice().model_copy(update={"client": client})
        before = len(sandbox.request_log)
        with pytest.raises(UnsupportedOperation) as caught:
            plain.invoices.create(invoice, idempotency_key="order-1")
        assert caught.value.capability == "invoices.create_by_key"
        assert len(sandbox.request_log) == before
        assert plain.invoices.create(invoice).provider_id  # without a key it creates as before


@pytest.mark.anyio
async def test_async_get_or_create_returns_the_existing_document(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = invoicekit._connect.load_provider
    monkeypatch.setattr(
        invoicekit._connect, "load_provider", lambda name: keyed_providers.keyed if name == "ef_keyed" else real(name)
    )
    async with invoicekit.connect_async("ef_keyed", sandbox=sandbox, load_entry_point_hooks=False) as books:
        first = await books.clients.create(Client(name="Async BV"), idempotency_key="cust-1")
        again = await books.clients.create(Client(name="Async BV"), idempotency_key="cust-1")
    assert first.provider_id == again.provider_id
    assert first.idempotency_key == "cust-1"


def test_one_key_from_five_threads_on_one_connection_makes_one_document(books: Books, sandbox: Sandbox) -> None:
    with ThreadPoolExecutor(max_workers=5) as pool:
        made = list(pool.map(lambda _: books.invoices.create(_invoice(), idempotency_key="webhook-1"), range(5)))
    assert len({m.provider_id for m in made}) == 1
    assert len([r for r in sandbox.store.all("invoices") if r.get("external_invoice_id") == "webhook-1"]) == 1
