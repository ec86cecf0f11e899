"""UBL import: our own documents round-trip exactly; official examples import and re-export valid."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from invoicekit.model import CreditNote, Invoice
from invoicekit.ubl import (
    Endpoint,
    Identifier,
    Layer,
    RulePack,
    UblImportError,
    from_ubl,
    preflight,
    to_ubl,
    validate,
)
from invoicekit.xmlsafe import UnsafeXml, XmlSyntaxError

from ._golden import GOLDEN, Golden, seller, standard_21_6
from .conftest import Validator
from .test_xmlsafe import BILLION_LAUGHS

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
OFFICIAL = ["base-example.xml", "Vat-category-S.xml", "Allowance-example.xml", "base-creditnote-correction.xml"]


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_our_documents_round_trip_byte_for_byte(golden: Golden) -> None:
    document = golden.build()
    data = to_ubl(document, seller(), extras=golden.extras)
    imported = from_ubl(data)
    assert imported.leftovers.unmapped == ()
    assert imported.leftovers.issues == ()
    expected = seller()
    if document.client.sepa_mandate is not None:
        # A direct debit names the payer's account, not the seller's: the seller's IBAN is not in the XML.
        expected = expected.model_copy(update={"iban": None, "bic": None})
    assert imported.seller == expected
    assert type(imported.document) is type(document)
    assert imported.document.totals == document.totals
    assert imported.to_ubl() == data


def test_neutral_fields_are_read_back() -> None:
    original = standard_21_6()
    imported = from_ubl(to_ubl(original, seller()))
    document = imported.document
    assert document.number == "2026-0001"
    assert document.structured_communication == "010806817183"
    assert document.due_date == original.effective_due_date
    assert document.client.enterprise_number == "0428759497"
    assert document.client.vat_number == "BE0428759497"
    assert [row.description for row in document.rows] == [row.description for row in original.rows]
    assert document.rows[0].unit == "HUR"
    assert document.rows[1].vat_rate == 6
    assert document.raw == imported.leftovers.raw
    assert imported.extras.payment_terms == "Betaling binnen 30 dagen"


def example(examples_dir: Path, name: str) -> bytes:
    return (examples_dir / name).read_bytes()


def stated_totals(data: bytes) -> dict[str, Decimal]:
    root = etree.fromstring(data)
    lmt = root.find("cac:LegalMonetaryTotal", NS)
    assert lmt is not None
    return {etree.QName(e).localname: Decimal(e.text or "") for e in lmt}


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_example_imports(examples_dir: Path, name: str) -> None:
    data = example(examples_dir, name)
    imported = from_ubl(data)
    document = imported.document
    assert isinstance(document, CreditNote if "creditnote" in name else Invoice)
    assert document.number == "Snippet1"
    assert document.currency == "EUR"
    assert imported.leftovers.raw == data
    assert imported.leftovers.customization_id is not None
    assert imported.leftovers.customization_id.endswith("billing:3.0")
    assert imported.seller is not None
    assert imported.seller.name == "SupplierOfficialName Ltd"
    assert imported.extras.seller_endpoint is not None
    assert imported.extras.seller_endpoint.scheme == "0088"
    # The UK seller's VAT number is not one python-stdnum accepts: kept as read, and said so.
    assert any(i.path == "seller.vat_number" and "kept as read" in i.reason for i in imported.leftovers.issues)
    # Item classifications have no neutral field: listed, not silently dropped.
    assert any(path.endswith("cac:Item/cac:CommodityClassification") for path in imported.leftovers.unmapped)
    # Nothing the engine computes disagrees with what the document states.
    assert not [i for i in imported.leftovers.issues if i.path.startswith("totals")]


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_example_reexport_keeps_its_totals_and_passes_preflight(examples_dir: Path, name: str) -> None:
    data = example(examples_dir, name)
    again = from_ubl(data).to_ubl()
    assert stated_totals(again) == stated_totals(data)
    assert preflight(again) == []


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_example_and_its_reexport_validate(examples_dir: Path, name: str, rule_pack: RulePack) -> None:
    # The default run: pre-flight, XSD, and the CEN and Peppol layers of a pack built from 3.0.19.
    for data in (example(examples_dir, name), from_ubl(example(examples_dir, name)).to_ubl()):
        report = validate(data, pack=rule_pack)
        assert report.layers_run == (Layer.PREFLIGHT, Layer.XSD, Layer.CEN, Layer.PEPPOL)
        assert report.fatal == (), str(report)


def test_foreign_parties_keep_their_endpoints_and_ids(examples_dir: Path) -> None:
    imported = from_ubl(example(examples_dir, "base-example.xml"))
    assert imported.extras.buyer_endpoint == Endpoint("0002", "FR23342")
    assert imported.extras.buyer_legal_id == Identifier("39937423947", "0183")
    assert imported.extras.seller_legal_id == Identifier("GB983294", None)
    assert imported.extras.payment_id == "Snippet1"
    client = imported.document.client
    assert client.vat_number == "SE4598375937"
    assert client.contacts[0].name == "Lisa Johnson"
    assert client.delivery_address is not None
    assert client.delivery_address.city == "Stockholm"


def test_party_identifiers_legal_form_and_delivery_survive_a_round_trip(examples_dir: Path) -> None:
    imported = from_ubl(example(examples_dir, "base-example.xml"))
    extras = imported.extras
    assert extras.seller_party_ids == (Identifier("99887766", None),)  # BT-29
    assert extras.buyer_party_ids == (Identifier("FR23342", "0002"),)  # BT-46
    assert extras.delivery_location_id == Identifier("9483759475923478", "0088")
    assert extras.delivery_party_name == "Delivery party Name"
    for path in ("cac:PartyIdentification", "cac:DeliveryLocation/cbc:ID", "cac:DeliveryParty"):
        assert not [p for p in imported.leftovers.unmapped if p.endswith(path)]
    again = etree.fromstring(imported.to_ubl())
    assert (
        again.findtext("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID", None, NS) == "99887766"
    )
    [buyer_id] = again.findall("cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID", NS)
    assert (buyer_id.text, buyer_id.get("schemeID")) == ("FR23342", "0002")


def test_a_seller_known_only_by_its_party_identifier_reexports_valid(
    examples_dir: Path, full_validate: Validator
) -> None:
    # As in the official vat-category-O example: no seller VAT id and no legal id, only BT-29 (BR-CO-26).
    data = example(examples_dir, "base-example.xml")
    root = etree.fromstring(data)
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert party is not None
    for path in ("cac:PartyTaxScheme", "cac:PartyLegalEntity/cbc:CompanyID"):
        for element in party.findall(path, NS):
            element.getparent().remove(element)  # type: ignore[union-attr]
    imported = from_ubl(etree.tostring(root))
    assert imported.extras.seller_party_ids == (Identifier("99887766", None),)
    seller = imported.seller
    assert seller is not None
    again = imported.to_ubl()
    report = full_validate(again)
    assert "BR-CO-26" not in report.rule_ids(), str(report)


def test_line_allowances_are_folded_into_the_unit_price_and_reported(examples_dir: Path) -> None:
    imported = from_ubl(example(examples_dir, "Allowance-example.xml"))
    rows = imported.document.rows
    assert [row.unit_price for row in rows] == [Decimal(400), Decimal(100), Decimal(90)]
    assert [line.net for line in imported.document.totals.lines] == [
        Decimal("4000.00"),
        Decimal("1000.00"),
        Decimal("900.00"),
    ]
    assert {i.path for i in imported.leftovers.issues} >= {"rows.0.unit_price", "rows.2.unit_price"}
    assert "/Invoice/cac:InvoiceLine[1]/cac:AllowanceCharge[1]" in imported.leftovers.unmapped
    # The exempt line takes its reason from the VAT breakdown.
    assert rows[1].exemption_reason == "Reason for tax exempt"
    assert imported.extras.prepaid_amount == Decimal(1000)
    assert imported.extras.tax_currency_code == "SEK"


def test_credit_note_keeps_the_invoice_it_corrects(examples_dir: Path) -> None:
    imported = from_ubl(example(examples_dir, "base-creditnote-correction.xml"))
    assert [ref.id for ref in imported.extras.billing_references] == ["Snippet1"]
    assert imported.document.rows[1].quantity == -3


def test_hostile_and_foreign_input() -> None:
    with pytest.raises(UnsafeXml):
        from_ubl(BILLION_LAUGHS)
    with pytest.raises(XmlSyntaxError):
        from_ubl(b"<Invoice")
    with pytest.raises(UblImportError, match="neither"):
        from_ubl(b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>")
    data = to_ubl(standard_21_6(), seller()).replace(b"<cbc:IssueDate>2026-01-15</cbc:IssueDate>", b"")
    with pytest.raises(UblImportError, match="IssueDate"):
        from_ubl(data)


def test_values_the_model_rejects_are_kept_and_reported() -> None:
    data = to_ubl(standard_21_6(), seller()).replace(b'unitCode="HUR"', b'unitCode="PCS"')
    data = data.replace(
        b'<cbc:TaxAmount currencyID="EUR">164.10</cbc:TaxAmount>',
        b'<cbc:TaxAmount currencyID="EUR">164.11</cbc:TaxAmount>',
    )
    imported = from_ubl(data)
    assert imported.document.rows[0].unit == "PCS"  # read tolerantly, as from a provider
    assert [i.path for i in imported.leftovers.issues] == ["totals.vat_total"]
    assert "164.11" in imported.leftovers.issues[0].reason
