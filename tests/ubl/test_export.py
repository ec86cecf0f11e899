"""UBL export: golden documents validate on every layer, and the Belgian/Peppol conventions hold."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from invoicekit.errors import ValidationError
from invoicekit.model import Client, Invoice, InvoiceRow, InvoicingPeriod, provider_context
from invoicekit.ubl import Endpoint, Layer, Period, UblExtras, from_ubl, preflight, to_ubl
from invoicekit.vat import VatCategory

from ._golden import (
    CREDIT_NOTE_EXTRAS,
    GOLDEN,
    SELLER_KBO,
    Golden,
    allowance_charge,
    belgian_client,
    credit_note,
    exempt_e,
    intra_eu_k,
    not_subject_o,
    reverse_charge_ae,
    seller,
    sepa_direct_debit,
    standard_21_6,
)
from .conftest import Validator

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def text(root: etree._Element, path: str) -> str | None:
    found = root.find(path, NS)
    return None if found is None else found.text


def children(root: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in root]


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_golden_document_passes_xsd_cen_and_peppol(golden: Golden, full_validate: Validator) -> None:
    report = full_validate(to_ubl(golden.build(), seller(), extras=golden.extras))
    assert report.layers_run == (Layer.XSD, Layer.CEN, Layer.PEPPOL)
    assert report.fatal == (), str(report)
    assert report.ok


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_golden_document_passes_xsd(golden: Golden, xsd_validate: Validator) -> None:
    report = xsd_validate(to_ubl(golden.build(), seller(), extras=golden.extras))
    assert report.ok, str(report)


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_golden_document_passes_preflight(golden: Golden) -> None:
    document = golden.build()
    assert preflight(to_ubl(document, seller(), extras=golden.extras)) == []
    assert preflight(document, seller(), extras=golden.extras) == []


def test_invoice_header_order_and_fixed_identifiers() -> None:
    root = tree(to_ubl(standard_21_6(), seller()))
    assert children(root)[:10] == [
        "CustomizationID",
        "ProfileID",
        "ID",
        "IssueDate",
        "DueDate",
        "InvoiceTypeCode",
        "Note",
        "DocumentCurrencyCode",
        "BuyerReference",
        "AccountingSupplierParty",
    ]
    assert text(root, "cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    assert text(root, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cbc:DueDate") == "2026-02-14"  # issue date + 30 days


def test_credit_note_has_its_own_order_and_due_date_in_payment_means() -> None:
    document = credit_note()
    extras = dataclasses.replace(CREDIT_NOTE_EXTRAS, tax_point_date=date(2026, 2, 25))
    root = tree(to_ubl(document, seller(), extras=extras))
    assert etree.QName(root).localname == "CreditNote"
    names = children(root)
    assert names.index("TaxPointDate") < names.index("CreditNoteTypeCode")
    assert "DueDate" not in names
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    assert text(root, "cac:PaymentMeans/cbc:PaymentDueDate") == "2026-03-27"
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == "2026-0001"
    lines = root.findall("cac:CreditNoteLine", NS)
    assert len(lines) == 1
    assert lines[0].find("cbc:CreditedQuantity", NS) is not None
    assert root.find("cac:InvoiceLine", NS) is None


def test_buyer_reference_falls_back_to_order_reference_then_number() -> None:
    document = standard_21_6()
    assert text(tree(to_ubl(document, seller())), "cbc:BuyerReference") == "2026-0001"
    with_order = document.model_copy(update={"order_reference": "PO-1"})
    root = tree(to_ubl(with_order, seller()))
    assert text(root, "cbc:BuyerReference") == "PO-1"
    assert text(root, "cac:OrderReference/cbc:ID") == "PO-1"
    with_both = with_order.model_copy(update={"buyer_reference": "DEPT-9"})
    assert text(tree(to_ubl(with_both, seller())), "cbc:BuyerReference") == "DEPT-9"


def test_belgian_parties_use_0208_and_plain_vat_numbers() -> None:
    root = tree(to_ubl(standard_21_6(), seller()))
    for party in ("cac:AccountingSupplierParty/cac:Party", "cac:AccountingCustomerParty/cac:Party"):
        endpoint = root.find(f"{party}/cbc:EndpointID", NS)
        assert endpoint is not None
        assert endpoint.get("schemeID") == "0208"
        assert endpoint.text is not None
        assert len(endpoint.text) == 10
        vat = root.find(f"{party}/cac:PartyTaxScheme/cbc:CompanyID", NS)
        assert vat is not None
        assert vat.get("schemeID") is None
        assert vat.text == f"BE{endpoint.text}"
        legal = root.find(f"{party}/cac:PartyLegalEntity/cbc:CompanyID", NS)
        assert legal is not None
        assert legal.get("schemeID") == "0208"
        assert legal.text == endpoint.text
        assert text(root, f"{party}/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == "VAT"
    assert text(root, "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID") == SELLER_KBO


def test_payment_means_carry_iban_and_formatted_ogm() -> None:
    root = tree(to_ubl(standard_21_6(), seller()))
    assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == "+++010/8068/17183+++"
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "BE48320070184927"
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == "BBRUBEBB"
    assert text(root, "cac:PaymentTerms/cbc:Note") == "Betaling binnen 30 dagen"


def test_direct_debit_carries_the_mandate() -> None:
    root = tree(to_ubl(sepa_direct_debit(), seller()))
    assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "59"
    assert text(root, "cac:PaymentMeans/cac:PaymentMandate/cbc:ID") == "MANDATE-2025-042"
    assert text(root, "cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID") == "BE68539007547034"
    assert root.find("cac:PaymentMeans/cac:PayeeFinancialAccount", NS) is None


def test_payment_terms_follow_the_client_language() -> None:
    document = standard_21_6()
    client = document.client.model_copy(update={"language": "fr"})
    root = tree(to_ubl(document.model_copy(update={"client": client}), seller()))
    assert text(root, "cac:PaymentTerms/cbc:Note") == "Paiement à 30 jours"


def test_totals_are_the_engine_totals() -> None:
    document = allowance_charge()
    totals = document.totals
    root = tree(to_ubl(document, seller()))
    lmt = "cac:LegalMonetaryTotal/cbc:"
    assert Decimal(text(root, lmt + "LineExtensionAmount") or "") == totals.line_extension
    assert Decimal(text(root, lmt + "TaxExclusiveAmount") or "") == totals.tax_exclusive
    assert Decimal(text(root, lmt + "TaxInclusiveAmount") or "") == totals.tax_inclusive
    assert Decimal(text(root, lmt + "AllowanceTotalAmount") or "") == totals.allowance_total
    assert Decimal(text(root, lmt + "ChargeTotalAmount") or "") == totals.charge_total
    assert Decimal(text(root, lmt + "PayableAmount") or "") == totals.payable
    assert Decimal(text(root, "cac:TaxTotal/cbc:TaxAmount") or "") == totals.vat_total
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert [
        (Decimal(text(s, "cbc:TaxableAmount") or ""), Decimal(text(s, "cbc:TaxAmount") or "")) for s in subtotals
    ] == [(group.taxable_amount, group.vat_amount) for group in totals.breakdown]
    nets = [Decimal(text(line, "cbc:LineExtensionAmount") or "") for line in root.findall("cac:InvoiceLine", NS)]
    assert nets == [line.net for line in totals.lines]
    # Every amount carries the document currency.
    assert {e.get("currencyID") for e in root.iter() if e.get("currencyID")} == {"EUR"}


def test_line_discount_is_an_allowance_with_percentage_and_base() -> None:
    root = tree(to_ubl(allowance_charge(), seller()))
    line = root.findall("cac:InvoiceLine", NS)[0]
    assert text(line, "cac:AllowanceCharge/cbc:ChargeIndicator") == "false"
    assert text(line, "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == "10"
    assert text(line, "cac:AllowanceCharge/cbc:BaseAmount") == "1139.70"
    assert text(line, "cac:AllowanceCharge/cbc:Amount") == "113.97"
    assert text(line, "cbc:LineExtensionAmount") == "1025.73"


def test_reverse_charge_carries_vatex_code_and_legal_mention() -> None:
    root = tree(to_ubl(reverse_charge_ae(), seller()))
    category = root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert category is not None
    assert text(category, "cbc:ID") == "AE"
    assert text(category, "cbc:Percent") == "0"
    assert text(category, "cbc:TaxExemptionReasonCode") == "VATEX-EU-AE"
    assert "Verlegging" in (text(category, "cbc:TaxExemptionReason") or "")
    # The exemption reason lives in the breakdown only, not on the lines.
    assert root.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:TaxExemptionReason", NS) is None


def test_intra_eu_supply_has_delivery_country_and_vat_endpoint() -> None:
    root = tree(to_ubl(intra_eu_k(), seller()))
    assert text(root, "cac:Delivery/cbc:ActualDeliveryDate") == "2026-01-30"
    assert text(root, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") == "NL"
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert endpoint is not None
    assert (endpoint.get("schemeID"), endpoint.text) == ("9944", "NL004495445B01")
    assert text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == "VATEX-EU-IC"


def test_exempt_row_keeps_its_vatex_code_and_text() -> None:
    root = tree(to_ubl(exempt_e(), seller()))
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:"
    assert text(root, category + "TaxExemptionReasonCode") == "VATEX-EU-132-1C"
    assert text(root, category + "TaxExemptionReason") == "Vrijgesteld van btw - art. 44 par. 1 WBTW"


def test_not_subject_documents_carry_no_vat_identifiers_and_no_rate() -> None:
    root = tree(to_ubl(not_subject_o(), seller()))
    assert root.find(".//cac:PartyTaxScheme", NS) is None  # BR-O-02, the seller's included
    assert root.find(".//cac:ClassifiedTaxCategory/cbc:Percent", NS) is None
    assert root.find(".//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", NS) is None
    assert text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == "VATEX-EU-O"
    # The seller is still identified, by its enterprise number (BR-CO-26).
    assert text(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID") == SELLER_KBO


def test_multi_line_description_gives_name_and_description() -> None:
    line = tree(to_ubl(standard_21_6(), seller())).findall("cac:InvoiceLine", NS)[1]
    assert text(line, "cac:Item/cbc:Name") == "Reference books"
    assert text(line, "cac:Item/cbc:Description") == "Reference books\nTwo volumes, hardcover"


def test_negative_price_moves_the_sign_to_the_quantity(xsd_validate: Validator) -> None:
    document = standard_21_6()
    rows = [*document.rows, InvoiceRow(description="Deposit returned", quantity=2, unit_price="-5.00", vat_rate=21)]
    data = to_ubl(document.model_copy(update={"rows": rows}), seller())
    line = tree(data).findall("cac:InvoiceLine", NS)[2]
    assert text(line, "cbc:InvoicedQuantity") == "-2"
    assert text(line, "cac:Price/cbc:PriceAmount") == "5"
    assert text(line, "cbc:LineExtensionAmount") == "-10.00"
    assert preflight(data) == []
    assert xsd_validate(data).ok


def test_explicit_endpoints_override_the_derived_ones() -> None:
    extras = UblExtras(
        seller_endpoint=Endpoint.parse("0088:5412345000013"), buyer_endpoint=Endpoint("9925", "BE0428759497")
    )
    root = tree(to_ubl(standard_21_6(), seller(), extras=extras))
    seller_ep = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    buyer_ep = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert seller_ep is not None
    assert (seller_ep.get("schemeID"), seller_ep.text) == ("0088", "5412345000013")
    assert buyer_ep is not None
    assert (buyer_ep.get("schemeID"), buyer_ep.text) == ("9925", "BE0428759497")


def test_endpoint_parse() -> None:
    assert Endpoint.parse("iso6523-actorid-upis::0208:0403019261") == Endpoint("0208", "0403019261")
    assert str(Endpoint("0208", "0403019261")) == "0208:0403019261"
    with pytest.raises(ValueError, match="scheme"):
        Endpoint.parse("0403019261")


def test_export_needs_a_number() -> None:
    document = standard_21_6().model_copy(update={"number": None})
    with pytest.raises(ValidationError) as caught:
        to_ubl(document, seller())
    assert caught.value.fields == ("number",)


def test_export_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        to_ubl(belgian_client(), seller())  # type: ignore[arg-type]


def test_provider_read_document_without_exemption_code_gets_the_category_default() -> None:
    with provider_context():
        document = Invoice(
            number="P-1",
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
            client=Client(name="X", vat_number="BE0428759497"),
            rows=[InvoiceRow(description="Works", unit_price=100, vat_rate=0, vat_category=VatCategory.AE)],
        )
    assert document.rows[0].exemption_code is None
    root = tree(to_ubl(document, seller()))
    assert text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == "VATEX-EU-AE"


def _k_with_period(**changes: object) -> Invoice:
    data = {**intra_eu_k().model_dump(), "delivery_date": None, **changes}
    return Invoice.model_validate(data)


def test_intra_eu_supply_with_an_invoicing_period_instead_of_a_delivery_date(full_validate: Validator) -> None:
    document = _k_with_period(invoicing_period=InvoicingPeriod(start=date(2026, 1, 1), end=date(2026, 1, 31)))
    data = to_ubl(document, seller())
    root = tree(data)
    assert root.find("cac:Delivery/cbc:ActualDeliveryDate", NS) is None
    assert (text(root, "cac:InvoicePeriod/cbc:StartDate"), text(root, "cac:InvoicePeriod/cbc:EndDate")) == (
        "2026-01-01",
        "2026-01-31",
    )
    report = full_validate(data)
    assert report.ok, report
    assert from_ubl(data).document.invoicing_period == document.invoicing_period


def test_the_period_given_twice_must_agree() -> None:
    january = InvoicingPeriod(start=date(2026, 1, 1), end=date(2026, 1, 31))
    document = _k_with_period(invoicing_period=january)
    same = UblExtras(invoice_period=Period(date(2026, 1, 1), date(2026, 1, 31)))
    assert to_ubl(document, seller(), extras=same) == to_ubl(document, seller())
    other = UblExtras(invoice_period=Period(date(2026, 1, 1), date(2026, 1, 30)))
    with pytest.raises(ValidationError, match=r"differs from UblExtras\.invoice_period") as info:
        to_ubl(document, seller(), extras=other)
    assert [issue.path for issue in info.value.issues] == ["invoicing_period"]
    # The older way alone still exports the period (and satisfies BR-IC-11 in the pre-flight).
    legacy = to_ubl(_k_with_period(delivery_date=date(2026, 1, 30)), seller(), extras=other)
    assert text(tree(legacy), "cac:InvoicePeriod/cbc:EndDate") == "2026-01-30"
