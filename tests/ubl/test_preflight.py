"""Pre-flight on neutral documents: what adapters call before a Peppol send, with field paths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoicekit.errors import ValidationError
from invoicekit.model import Address, Client, Invoice, InvoiceRow, InvoicingPeriod, provider_context
from invoicekit.ubl import Endpoint, Flag, Layer, Period, UblExtras, preflight, preflight_or_raise
from invoicekit.vat import VatCategory

from ._golden import credit_note, seller, standard_21_6


def provider_invoice(**changes: object) -> Invoice:
    """A document as an adapter reads it from a provider: our send rules are not applied on the way in."""
    data: dict[str, object] = {
        "number": "P-1",
        "issue_date": date(2026, 1, 5),
        "due_date": date(2026, 2, 4),
        "client": Client(
            name="IT Services BV",
            vat_number="BE0428759497",
            address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        ),
        "rows": [InvoiceRow(description="Consultancy", unit_price=Decimal(100), vat_rate=21)],
    }
    data.update(changes)
    with provider_context():
        return Invoice(**data)


def issues(document: Invoice, **kwargs: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        preflight_or_raise(document, seller(), **kwargs)  # type: ignore[arg-type]
    return {issue.path: issue.reason for issue in caught.value.issues}


def test_a_good_document_passes_and_returns_no_findings() -> None:
    assert preflight_or_raise(standard_21_6(), seller()) == []


def test_buyer_without_any_peppol_address() -> None:
    client = Client(
        kind="person",
        name="Jan Janssens",
        address=Address(street="Kerkstraat 1", postal_code="1000", city="Brussel"),
    )
    found = issues(standard_21_6().model_copy(update={"client": client}))
    assert "PEPPOL-EN16931-R010" in found["client.enterprise_number"]
    assert "UblExtras(buyer_endpoint" in found["client.enterprise_number"]


def test_explicit_buyer_endpoint_satisfies_r010() -> None:
    client = Client(name="Jan Janssens", address=Address(street="Kerkstraat 1", postal_code="1000", city="Brussel"))
    document = standard_21_6().model_copy(update={"client": client})
    extras = UblExtras(buyer_endpoint=Endpoint("0088", "5412345000013"))
    assert preflight_or_raise(document, seller(), extras=extras) == []


def test_bad_9925_endpoint_in_extras() -> None:
    found = issues(standard_21_6(), extras=UblExtras(buyer_endpoint=Endpoint("9925", "0428759497")))
    assert "INVOICEKIT-9925" in found["extras.buyer_endpoint"]


def test_buyer_enterprise_number_with_bad_check_digits_read_from_a_provider() -> None:
    client = Client.from_provider(
        name="X", enterprise_number="0428759498", address={"street": "a", "postal_code": "1", "city": "b"}
    )
    found = issues(provider_invoice(client=client))
    assert "PEPPOL-COMMON-R043" in found["client.enterprise_number"]


def test_buyer_without_address() -> None:
    client = Client(name="IT Services BV", vat_number="BE0428759497")
    found = issues(standard_21_6().model_copy(update={"client": client}))
    assert "BR-10" in found["client.address"]


@pytest.mark.parametrize(
    ("row", "field", "rule"),
    [
        ({"vat_category": VatCategory.AE, "vat_rate": 21}, "rows.0.vat_rate", "BR-AE-05"),
        ({"vat_category": VatCategory.S, "vat_rate": 0}, "rows.0.vat_rate", "BR-S-05"),
        ({"unit": "PCS"}, "rows.0.unit", "BR-CL-23"),
        ({"exemption_reason": "exempt"}, "rows.0.exemption_reason", "BR-S-10"),
        ({"vat_category": VatCategory.E, "vat_rate": 0}, "rows.0.exemption_reason", "BR-E-10"),
    ],
)
def test_row_rules_name_the_row_field(row: dict[str, object], field: str, rule: str) -> None:
    with provider_context():
        bad_row = InvoiceRow(**{"description": "Works", "unit_price": Decimal(100), "vat_rate": 21, **row})
    found = issues(provider_invoice(rows=[bad_row]))
    assert rule in found[field], found


def test_reverse_charge_without_buyer_vat() -> None:
    with provider_context():
        row = InvoiceRow(description="Works", unit_price=Decimal(100), vat_rate=0, vat_category=VatCategory.AE)
        client = Client(name="Jan", enterprise_number=None, address={"street": "a", "postal_code": "1", "city": "b"})
    found = issues(
        provider_invoice(rows=[row], client=client), extras=UblExtras(buyer_endpoint=Endpoint("0088", "5412345000013"))
    )
    assert "BR-AE-02" in found["client.vat_number"]


def test_intra_eu_supply_needs_a_delivery_date_or_an_invoicing_period() -> None:
    with provider_context():
        row = InvoiceRow(description="Goods", unit_price=Decimal(100), vat_rate=0, vat_category=VatCategory.K)
        client = Client(
            name="Van Dijk",
            vat_number="NL004495445B01",
            address={"street": "a", "postal_code": "1", "city": "b", "country": "NL"},
        )
    document = provider_invoice(rows=[row], client=client)
    assert "BR-IC-11" in issues(document)["delivery_date"]
    period = UblExtras(invoice_period=Period(date(2026, 1, 1), date(2026, 1, 31)))
    assert [f for f in preflight_or_raise(document, seller(), extras=period) if f.is_fatal] == []
    on_the_document = provider_invoice(
        rows=[row], client=client, invoicing_period=InvoicingPeriod(end=date(2026, 1, 31))
    )
    assert [f for f in preflight_or_raise(on_the_document, seller()) if f.is_fatal] == []
    with provider_context():
        reversed_period = InvoicingPeriod(start=date(2026, 2, 1), end=date(2026, 1, 31))
    found = issues(provider_invoice(rows=[row], client=client, invoicing_period=reversed_period))
    assert "BR-29" in found["invoicing_period.end"]
    conflict = issues(on_the_document, extras=period)
    assert "differs" in conflict["invoicing_period"]


def test_invoice_without_due_date_or_terms() -> None:
    found = issues(provider_invoice(due_date=None))
    assert "BR-CO-25" in found["due_date"]


def test_payment_terms_text_satisfies_br_co_25() -> None:
    extras = UblExtras(payment_terms="On receipt")
    assert preflight_or_raise(provider_invoice(due_date=None), seller(), extras=extras) == []


def test_document_without_number() -> None:
    found = issues(standard_21_6().model_copy(update={"number": None}))
    assert "number" in found


def test_credit_note_without_billing_reference_is_only_a_warning() -> None:
    findings = preflight_or_raise(credit_note(), seller())
    assert [(f.rule_id, f.flag, f.location) for f in findings] == [("BT-25", Flag.WARNING, "extras.billing_references")]


def test_model_findings_are_preflight_layer_findings() -> None:
    [finding, *_] = preflight(provider_invoice(due_date=None), seller())
    assert finding.layer is Layer.PREFLIGHT
    assert finding.rule_id == "BR-CO-25"
    assert finding.location == "due_date"


def test_error_message_names_field_and_rule() -> None:
    with pytest.raises(ValidationError, match=r"due_date: .*\[BR-CO-25\]"):
        preflight_or_raise(provider_invoice(due_date=None), seller())


def test_preflight_needs_a_seller_for_documents() -> None:
    with pytest.raises(TypeError, match="seller"):
        preflight(standard_21_6())


def test_preflight_on_garbage_bytes() -> None:
    [finding] = preflight(b"<Invoice")
    assert finding.rule_id == "XML-WELLFORMED"


def test_foreign_currency_invoice_is_warned_about_the_eur_vat_amount() -> None:
    document = standard_21_6().model_copy(update={"currency": "USD"})
    findings = preflight_or_raise(document, seller())
    assert [(f.rule_id, f.flag) for f in findings] == [("INVOICEKIT-BE-EUR", Flag.WARNING)]
    extras = UblExtras(tax_currency_code="EUR", tax_total_in_tax_currency=Decimal("150.12"))
    assert preflight_or_raise(document, seller(), extras=extras) == []
