"""Fields a provider cannot store are refused before any request, unless the caller accepts the loss.

The check is driven by ``Adapter.document_fields``: a field the neutral model gained after an adapter was
written (``invoicing_period``) is refused by that adapter without any provider-specific code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import invoicekit
from invoicekit import Address, Client, Invoice, InvoiceRow, InvoicingPeriod, ValidationError
from invoicekit.adapter import BASE_DOCUMENT_FIELDS
from invoicekit.testing import SandboxFactory

PROVIDERS = ["cashaca", "eenvoudigfactureren", "flowtly"]


def an_invoice(**changes: object) -> Invoice:
    client = Client(
        name="IT Services BV",
        vat_number="BE0403019261",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
    )
    rows = [InvoiceRow(description="Consultancy", quantity=8, unit_price=Decimal("95.00"), vat_rate=21)]
    data: dict[str, object] = {"issue_date": date(2026, 11, 30), "client": client, "rows": rows, **changes}
    return Invoice.model_validate(data)


NOVEMBER = InvoicingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30))


def test_the_base_declaration_leaves_out_the_period_and_covers_every_older_field() -> None:
    fields = (set(Invoice.model_fields) | set(invoicekit.CreditNote.model_fields)) - {"provider_id", "raw"}
    assert fields - BASE_DOCUMENT_FIELDS == {"invoicing_period"}


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_period_the_provider_cannot_store_is_refused_before_any_request(
    name: str, invoicekit_sandbox: SandboxFactory
) -> None:
    box = invoicekit_sandbox(name)
    with invoicekit.connect(name, sandbox=box) as books, pytest.raises(ValidationError) as info:
        books.invoices.create(an_invoice(invoicing_period=NOVEMBER))
    assert [issue.path for issue in info.value.issues] == ["invoicing_period"]
    assert info.value.provider == name
    assert box.request_log == []


@pytest.mark.parametrize("name", PROVIDERS)
def test_allow_field_loss_sends_the_document_without_the_period(name: str, invoicekit_sandbox: SandboxFactory) -> None:
    box = invoicekit_sandbox(name)
    with invoicekit.connect(name, sandbox=box, allow_field_loss=True) as books:
        client = books.clients.create(an_invoice().client)  # Flowtly links documents to existing clients
        created = books.invoices.create(an_invoice(invoicing_period=NOVEMBER, client=client))
        assert created.provider_id
        assert books.invoices.get(created.provider_id).invoicing_period is None
    assert box.request_log != []
