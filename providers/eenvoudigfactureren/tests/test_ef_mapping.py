"""The pure EF <-> neutral mapping: tolerant reading of what other EF clients wrote, and what is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from invoicekit_eenvoudigfactureren import _mapping as m
from invoicekit_eenvoudigfactureren._xml import XmlEncodeError, from_xml, to_xml

import invoicekit
from invoicekit import Address, Client, CreditNote, Invoice, InvoiceRow
from invoicekit.errors import AuthenticationError, NotFound, ValidationError
from invoicekit.vat import VatCategory

BE = Client(name="Klant BV", vat_number="BE0403019261")


@pytest.mark.parametrize(
    ("rate", "status", "expected"),
    [
        ("21", "", (VatCategory.S, None, None)),
        ("21", "MC", (VatCategory.S, None, None)),  # a status is meaningless above 0 %
        ("0", "", (VatCategory.Z, None, None)),
        ("0", "MC", (VatCategory.AE, "VATEX-EU-AE", None)),
        ("0", "Verlegd", (VatCategory.AE, "VATEX-EU-AE", None)),  # the hvr4 docs' own example
        ("0", "ICD", (VatCategory.AE, "VATEX-EU-AE", None)),
        ("0", "icl", (VatCategory.K, "VATEX-EU-IC", None)),
        ("0", "EXPORT", (VatCategory.G, "VATEX-EU-G", None)),
        ("0", "NIET ONDERWORPEN", (VatCategory.O, "VATEX-EU-O", None)),
        ("0", "vatex-eu-132", (VatCategory.E, "VATEX-EU-132", None)),
        ("0", "Art. 44 WBTW", (VatCategory.E, None, "Art. 44 WBTW")),
    ],
)
def test_special_status_to_category(
    rate: str, status: str, expected: tuple[VatCategory, str | None, str | None]
) -> None:
    assert m.category_from_ef(Decimal(rate), status) == expected


def test_category_to_special_status_round_trips() -> None:
    dutch = Client(name="Handel BV", vat_number="NL004495445B01")
    cases = [
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="AE"), BE, "MC"),
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="AE"), dutch, "ICD"),
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="K"), dutch, "ICL"),
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="G"), BE, "EXPORT"),
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="O"), BE, "NIET ONDERWORPEN"),
        (InvoiceRow(description="a", unit_price="1", vat_rate=0, vat_category="Z"), BE, ""),
        (InvoiceRow(description="a", unit_price="1", vat_rate=21), BE, ""),
    ]
    for row, client, status in cases:
        assert m.special_status(row.vat_category, row, client) == status
        back = m.category_from_ef(row.vat_rate, status)
        assert (back[0], back[1]) == (row.vat_category, row.exemption_code)


def test_units() -> None:
    assert [m.unit_to_ef(code) for code in ("C62", "HUR", "KGM", "DAY")] == [None, "h", "kg", "DAY"]
    assert [m.unit_from_ef(text) for text in ("", None, "uur", "Stuks", "h", "dag", "DAY", "doos")] == [
        "C62",
        "C62",
        "HUR",
        "C62",
        "HUR",
        "DAY",
        "DAY",
        "DOOS",
    ]


def test_a_credit_note_goes_negative_and_comes_back_positive() -> None:
    note = CreditNote(
        issue_date=date(2026, 11, 2), client=BE, rows=[InvoiceRow(description="x", unit_price="10", vat_rate=21)]
    )
    body = m.document_to_ef(note, "7")
    assert (body["items"][0]["amount"], body["structured_message"]) == ("-10", None)
    read = m.document_from_ef({**body, "invoice_id": "3", "type": "creditnote", "total_paid": "-5.00"}, CreditNote)
    assert isinstance(read, CreditNote)
    assert (read.rows[0].unit_price, read.paid_amount) == (Decimal(10), Decimal("5.00"))


def test_2017_json_and_xml_text_read_the_same() -> None:
    # EF's JSON mixed ints and strings and used null for empty ids; XML makes everything text.
    json_like = {"client_id": 67290, "name": "Oud BV", "tax_code": None, "contacts": [], "custom_values": None}
    xml_like = from_xml(to_xml("client", {"client_id": "67290", "name": "Oud BV", "tax_code": "", "contacts": []}))
    assert m.client_from_ef(json_like).model_dump() == m.client_from_ef(xml_like).model_dump()
    assert m.client_from_ef(json_like).kind == "person"


def test_provider_data_that_breaks_neutral_rules_is_still_read() -> None:
    data = {
        "client_id": "5",
        "name": "",
        "email_address": "not-an-address",
        "street": "Kerkstraat 1",  # no postcode or city: no neutral address, raw keeps it
        "delivery_address": {"street": "A", "postal_code": "1000", "city": "Brussel", "country_code": "??"},
        "contacts": [{"contact_id": "9", "contact_name": "", "email_address": "bad"}],
        "sepa_collection": {"iban": "BE00", "mandate_reference": "x", "mandate_date": "2020-01-01"},
    }
    client = m.client_from_ef(data)
    assert (client.name, client.email, client.address, client.sepa_mandate) == ("?", None, None, None)
    assert client.delivery_address == Address(street="A", postal_code="1000", city="Brussel", country="BE")
    assert (client.contacts[0].name, client.contacts[0].email) == ("?", None)


def test_unsupported_and_refused_document_fields() -> None:
    rows = [
        InvoiceRow(description="a", unit_price="1", vat_rate=21, discount_percent=5),
        InvoiceRow(
            description="b",
            unit_price="1",
            vat_rate=0,
            vat_category="E",
            exemption_code="VATEX-EU-132",
            exemption_reason="Art. 44",
        ),
        InvoiceRow(description="c", unit_price="1.1234567", vat_rate=21),
    ]
    invoice = Invoice(issue_date=date(2026, 11, 2), client=BE, rows=rows, buyer_reference="B", order_reference="O")
    lost = [issue.path for issue in m.unsupported_document_fields(invoice)]
    assert lost == ["rows.0.discount_percent", "rows.1.exemption_reason", "buyer_reference"]
    refused = [issue.path for issue in m.document_issues(invoice)]
    assert refused == ["rows.2.unit_price"]
    long_name = invoice.model_copy(update={"client": Client(name="x" * 80)})
    assert [issue.path for issue in m.document_issues(long_name)][-1] == "client.name"  # created on the way


def test_xml_encoding_refuses_what_xml_cannot_carry() -> None:
    with pytest.raises(XmlEncodeError) as caught:
        to_xml("client", {"name": "bell\x07"})
    assert caught.value.path == "name"
    assert to_xml("client", {"private_note_html": "<p>a</p>"}).endswith(
        b"<![CDATA[<p>a</p>]]></private_note_html></client>"
    )
    with invoicekit.connect(
        "eenvoudigfactureren", api_key="ef-encode-key", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    ) as books:
        with pytest.raises(ValidationError) as refused:
            books.clients.create(Client(name="Bell\x07 BV"))
        assert refused.value.fields == ("name",)


@pytest.mark.parametrize(("code", "error"), [(401, AuthenticationError), (404, NotFound)])
def test_the_quirk_keeps_the_status_it_carries(code: int, error: type[Exception]) -> None:
    answer = httpx.Response(200, json={"code": code, "error": "nope"})
    with (
        invoicekit.connect(
            "eenvoudigfactureren", api_key="ef-quirk-key", transport=httpx.MockTransport(lambda r: answer)
        ) as books,
        pytest.raises(error),
    ):
        books.clients.get("1")
