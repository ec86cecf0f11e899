"""The neutral model's input rules: typed errors that name the field, Belgian and EN 16931 rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoicekit import (
    Address,
    Client,
    CreditNote,
    Invoice,
    InvoiceRow,
    InvoicingPeriod,
    Payment,
    SepaMandate,
    ValidationError,
)
from invoicekit.model import provider_context


def row(**kw: object) -> InvoiceRow:
    values: dict[str, object] = {"description": "Consultancy", "unit_price": "95", "vat_rate": 21, **kw}
    return InvoiceRow(**values)  # type: ignore[arg-type]


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, ...]:
    return exc.value.fields


def test_amounts_are_decimals_and_floats_are_refused() -> None:
    r = row(quantity=8, unit_price="95.00")
    assert r.quantity == Decimal(8)
    assert isinstance(r.unit_price, Decimal)
    with pytest.raises(ValidationError) as info:
        row(unit_price=95.1)
    assert fields_of(info) == ("unit_price",)
    assert "float" in str(info.value)


def test_client_numbers_are_normalised() -> None:
    c = Client(name="X", vat_number="be 0403.019.261")
    assert c.vat_number == "BE0403019261"
    assert c.enterprise_number == "0403019261"
    assert c.peppol_id == "0208:0403019261"


def test_bad_vat_number_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Client(name="X", vat_number="BE0403019262")
    assert fields_of(info) == ("vat_number",)


def test_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Client(name="X", vat="BE0403019261")  # type: ignore[call-arg]
    assert fields_of(info) == ("vat",)


def test_pcs_unit_gets_a_hint() -> None:
    with pytest.raises(ValidationError) as info:
        row(unit="PCS")
    assert fields_of(info) == ("unit",)
    assert "C62" in str(info.value)


@pytest.mark.parametrize(
    ("category", "rate", "message"),
    [("AE", 21, "0 %"), ("S", 0, "above 0"), ("K", 6, "0 %")],
)
def test_category_and_rate_must_agree(category: str, rate: int, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        row(vat_category=category, vat_rate=rate)
    assert message in str(info.value)


def _invoice(client: Client, *rows: InvoiceRow, **kw: object) -> Invoice:
    return Invoice(issue_date=date(2026, 11, 2), client=client, rows=list(rows), **kw)  # type: ignore[arg-type]


def test_k_needs_delivery_date_and_eu_vat() -> None:
    k = row(vat_category="K", vat_rate=0)
    with pytest.raises(ValidationError) as info:
        _invoice(Client(name="X", vat_number="BE0403019261"), k)
    assert set(fields_of(info)) == {"delivery_date", "client.vat_number"}
    ok = _invoice(Client(name="NL BV", vat_number="NL004495445B01"), k, delivery_date=date(2026, 11, 1))
    assert ok.rows[0].exemption_code == "VATEX-EU-IC"


def test_k_accepts_an_invoicing_period_instead_of_a_delivery_date() -> None:
    k = row(vat_category="K", vat_rate=0)
    nl = Client(name="NL BV", vat_number="NL004495445B01")
    with pytest.raises(ValidationError) as info:
        _invoice(nl, k)
    assert fields_of(info) == ("delivery_date",)
    november = InvoicingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert _invoice(nl, k, invoicing_period=november).invoicing_period == november
    assert _invoice(nl, k, invoicing_period={"end": date(2026, 11, 30)}).invoicing_period is not None
    with pytest.raises(ValidationError) as info:
        _invoice(nl, k, invoicing_period={"start": date(2026, 11, 30), "end": date(2026, 11, 1)})
    assert fields_of(info) == ("invoicing_period.end",)
    with pytest.raises(ValidationError) as info:
        _invoice(nl, k, invoicing_period={})
    assert fields_of(info) == ("invoicing_period",)


def test_an_invoicing_period_is_frozen_and_checked_on_its_own() -> None:
    period = InvoicingPeriod(start=date(2026, 11, 1))
    with pytest.raises(ValidationError):
        period.end = date(2026, 10, 1)  # type: ignore[misc]
    with pytest.raises(ValidationError) as info:
        InvoicingPeriod(start=date(2026, 11, 2), end=date(2026, 11, 1))
    assert fields_of(info) == ("end",)
    with provider_context():  # read tolerantly: a provider's reversed period is kept as read
        assert InvoicingPeriod(start=date(2026, 11, 2), end=date(2026, 11, 1)).end == date(2026, 11, 1)


def test_o_forbids_vat_ids_and_mixing() -> None:
    with pytest.raises(ValidationError) as info:
        _invoice(Client(name="X", vat_number="BE0403019261"), row(vat_category="O", vat_rate=0), row())
    assert set(fields_of(info)) == {"client.vat_number", "rows"}


def test_e_needs_a_reason() -> None:
    with pytest.raises(ValidationError) as info:
        _invoice(Client(name="X"), row(vat_category="E", vat_rate=0))
    assert fields_of(info) == ("rows.0.exemption_reason",)
    _invoice(Client(name="X"), row(vat_category="E", vat_rate=0, exemption_reason="Art. 44 §2 WBTW"))


def test_document_needs_rows_and_sane_dates() -> None:
    with pytest.raises(ValidationError) as info:
        _invoice(Client(name="X"), due_date=date(2026, 1, 1))
    assert set(fields_of(info)) == {"rows", "due_date"}


def test_structured_communication_any_spelling() -> None:
    inv = _invoice(Client(name="X"), row(), structured_communication="+++010/8068/17183+++")
    assert inv.structured_communication == "010806817183"
    assert inv.structured_communication_formatted == "+++010/8068/17183+++"
    with pytest.raises(ValidationError) as info:
        _invoice(Client(name="X"), row(), structured_communication="+++010/8068/17184+++")
    assert fields_of(info) == ("structured_communication",)


def test_provider_data_is_read_tolerantly() -> None:
    # A provider may hold a document made elsewhere that breaks our sending rules; reading must not fail.
    inv = Invoice.from_provider(
        issue_date="2026-11-02",
        client={"name": "X", "vat_number": "BE0403019262"},
        rows=[{"description": "x", "unit_price": "1", "vat_rate": "0", "vat_category": "AE", "unit": "PCS"}],
        raw={"id": 1},
    )
    assert inv.client.vat_number == "BE0403019262"
    assert inv.raw == {"id": 1}
    assert "raw" not in repr(inv)


def test_payment_and_mandate() -> None:
    with pytest.raises(ValidationError) as info:
        Payment(invoice_id="1", date=date(2026, 11, 2), amount="0.001")
    assert fields_of(info) == ("amount",)
    mandate = SepaMandate(iban="BE68 5390 0754 7034", mandate_reference="M-1", signature_date=date(2024, 1, 1))
    assert mandate.iban == "BE68539007547034"
    with pytest.raises(ValidationError) as info:
        SepaMandate(iban="BE68 5390 0754 7035", mandate_reference="M-1", signature_date=date(2024, 1, 1))
    assert fields_of(info) == ("iban",)


def test_credit_note_links_invoice() -> None:
    cn = CreditNote(
        issue_date=date(2026, 11, 2),
        client=Client(name="X", address=Address(street="Kerkstraat 1", postal_code="9000", city="Gent")),
        rows=[row()],
        corrects_invoice_number="2026_0001",
    )
    assert cn.totals.payable == Decimal("114.95")


def _provider_invoice(**changes: object) -> dict[str, object]:
    # What an adapter hands from_provider: plain dicts for the nested client, address and rows.
    return {
        "issue_date": date(2026, 11, 30),
        "client": {"name": "IT Services BV", "vat_number": "BE0403019262", "address": {**ADDRESS, "country": "UK"}},
        "rows": [{"description": "Works", "unit_price": "10", "vat_rate": 0, "unit": "PCS"}],
        "structured_communication": "010806817184",
        **changes,
    }


ADDRESS = {"street": "Langestraat 189", "postal_code": "2000", "city": "Antwerpen"}


def test_from_provider_reads_nested_models_tolerantly_and_input_strictly() -> None:
    # One validation for the document and everything nested in it: the tolerant reading reaches every level.
    read = Invoice.from_provider(**_provider_invoice())
    assert read.client.vat_number == "BE0403019262"  # wrong check digits, kept as the provider holds it
    assert read.client.address is not None
    assert read.client.address.country == "UK"
    assert (read.rows[0].vat_rate, read.rows[0].unit) == (Decimal(0), "PCS")  # S at 0 %, not a Rec 20 unit
    assert read.structured_communication == "010806817184"
    with pytest.raises(ValidationError) as info:  # the same data as input is refused, every field named
        Invoice(**_provider_invoice())  # type: ignore[arg-type]
    assert set(fields_of(info)) >= {"client.vat_number", "client.address.country", "rows.0.unit"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rows": [{"description": "Works", "unit_price": "NaN", "vat_rate": 21}]}, "rows.0.unit_price"),
        ({"rows": [{"description": "", "unit_price": "1", "vat_rate": 21}]}, "rows.0.description"),
        ({"client": {"name": "X", "address": {"street": "Kerkstraat 1"}}}, "client.address.postal_code"),
        ({"issue_date": "not a date"}, "issue_date"),
    ],
)
def test_from_provider_refuses_data_of_the_wrong_type_naming_the_nested_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Invoice.from_provider(**_provider_invoice(**changes))
    assert field in fields_of(info)
