"""Seed 004's XML example of a client: it parses into the neutral Client, every field accounted for.

The XML below is copied verbatim from the EenvoudigFactureren documentation (seed 004, "Voorbeeld in XML van
een klant"). Each of its fields is either mapped to the neutral model or listed as provider-only, and then
kept in ``client.raw`` exactly as EF sent it.
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from invoicekit_eenvoudigfactureren import _mapping as m
from invoicekit_eenvoudigfactureren._xml import from_xml

import invoicekit
from invoicekit.model import Address, ClientKind, Contact, Language, SequenceType

SEED_XML = """\
<client>
  <client_id>1001</client_id>
  <uri>https://eenvoudigfactureren.be/api/v1/clients/1001</uri>
  <external_client_id>Client-98437</external_client_id>
  <number>B12548</number>
  <name>IT Services BVBA</name>
  <attention>dienst administratie</attention>
  <street>Langestraat 189</street>
  <street2></street2>
  <city>Antwerpen</city>
  <postal_code>2000</postal_code>
  <country>België</country>
  <country_code>BE</country_code>
  <delivery_address>
    <street>Gebouw X</street>
    <street2>Kortestraat 3</street2>
    <postal_code>2000</postal_code>
    <city>Antwerpen</city>
    <country>België</country>
    <country_code>BE</country_code>
  </delivery_address>
  <site_address>
    <street>Olifantstraat 200</street>
    <street2></street2>
    <postal_code>9000</postal_code>
    <city>Gent</city>
    <country>België</country>
    <country_code>BE</country_code>
  </site_address>
  <tax_code>BE 0123.456.789</tax_code>
  <company_id></company_id>
  <email_address>info@hisdomain.com</email_address>
  <phone_number>098/90.20.00</phone_number>
  <website>http://www.it-servicesbvba.be</website>
  <state>active</state>
  <private_note>Betaald steeds correct.</private_note>
  <private_note_html><![CDATA[<p>Betaald steeds correct.</p>]]></private_note_html>
  <last_activity>2018-05-03 11:33:45</last_activity>
  <default_days_invoice_due>30</default_days_invoice_due>
  <default_days_quote_valid>30</default_days_quote_valid>
  <default_tax_category>0</default_tax_category>
  <default_tax_category_special_status>MC</default_tax_category_special_status>
  <default_tax_country_code>NL</default_tax_country_code>
  <default_structured_message>342485986564</default_structured_message>
  <default_automatic_reminders>yes</default_automatic_reminders>
  <default_language>french</default_language>
  <default_currency>USD</default_currency>
  <default_note>Omschrijving klant</default_note>
  <default_note_html><![CDATA[<p>Omschrijving klant</p>]]></default_note_html>
  <default_note_position>replace</default_note_position>
  <default_invoices_layout_id>8001</default_invoices_layout_id>
  <default_receipts_layout_id>8001</default_receipts_layout_id>
  <default_quotes_layout_id>8001</default_quotes_layout_id>
  <default_orders_layout_id>8001</default_orders_layout_id>
  <default_paymentrequests_layout_id>8001</default_paymentrequests_layout_id>
  <default_deliveries_layout_id>8001</default_deliveries_layout_id>
  <default_customdocuments_layout_id>8001</default_customdocuments_layout_id>
  <sepa_collection>
    <name>John Smith</name>
    <iban>BE938493849384349</iban>
    <bic>BEXXXXXXXX</bic>
    <mandate_date>2021-01-01</mandate_date>
    <mandate_reference>SEPA-REF-1</mandate_reference>
  </sepa_collection>
  <invoice_count>12</invoice_count>
  <receipt_count>7</receipt_count>
  <quote_count>7</quote_count>
  <order_count>0</order_count>
  <paymentrequest_count>0</paymentrequest_count>
  <delivery_count>0</delivery_count>
  <customdocument_count>0</customdocument_count>
  <subscription_count>1</subscription_count>
  <contacts>
    <contact>
      <contact_id>2002</contact_id>
      <uri>https://eenvoudigfactureren.be/api/v1/clients/1001/contacts/2002</uri>
      <contact_name>John Smith</contact_name>
      <email_address>john.smith@hisdomain.com</email_address>
      <phone_number>098/90.20.20</phone_number>
    </contact>
  </contacts>
  <details>
    <detail>
      <contact_id>2012</contact_id>
      <uri>https://eenvoudigfactureren.be/api/v1/clients/1001/details/2012</uri>
      <name>Bankrekeningnummer</name>
      <value>000-00000011-11</value>
    </detail>
  </details>
  <custom_values>
    <custom_value>
      <name>myreference</name>
      <description>Onze referentie</description>
      <value>123456</value>
    </custom_value>
  </custom_values>
</client>
"""

# The subfields of the nested blocks, and where each goes.
ADDRESS_FIELDS = {"street", "street2", "postal_code", "city", "country_code"}  # mapped
ADDRESS_PROVIDER_ONLY = {"country"}  # derived from country_code by EF
SEPA_FIELDS = {"name", "iban", "bic", "mandate_date", "mandate_reference"}
CONTACT_FIELDS = {"contact_id", "contact_name", "email_address", "phone_number"}
CONTACT_PROVIDER_ONLY = {"uri"}
CUSTOM_VALUE_FIELDS = {"name", "value"}
CUSTOM_VALUE_PROVIDER_ONLY = {"description"}  # the field's label on the account, read-only


@pytest.fixture
def data() -> dict[str, object]:
    parsed = from_xml(SEED_XML.encode("utf-8"))
    assert isinstance(parsed, dict)
    return parsed


def test_every_field_of_the_example_is_accounted_for(data: dict[str, object]) -> None:
    mapped, provider_only = set(m.CLIENT_MAPPED), set(m.CLIENT_PROVIDER_ONLY)
    assert not mapped & provider_only
    unaccounted = set(data) - mapped - provider_only
    assert not unaccounted, f"fields of the seed example neither mapped nor listed as provider-only: {unaccounted}"
    for block in ("delivery_address", "site_address"):
        assert set(data[block]) == ADDRESS_FIELDS | ADDRESS_PROVIDER_ONLY  # type: ignore[arg-type]
    assert set(data["sepa_collection"]) == SEPA_FIELDS  # type: ignore[arg-type]
    assert set(data["contacts"][0]) == CONTACT_FIELDS | CONTACT_PROVIDER_ONLY  # type: ignore[index]
    assert set(data["custom_values"][0]) == CUSTOM_VALUE_FIELDS | CUSTOM_VALUE_PROVIDER_ONLY  # type: ignore[index]


def test_the_example_parses_into_the_neutral_client(data: dict[str, object]) -> None:
    client = m.client_from_ef(data)
    assert client.provider_id == "1001"
    assert client.external_id == "Client-98437"
    assert client.name == "IT Services BVBA"
    assert client.kind is ClientKind.COMPANY  # it has a tax_code
    assert client.address == Address(street="Langestraat 189", postal_code="2000", city="Antwerpen", country="BE")
    assert client.delivery_address == Address(
        street="Gebouw X", street2="Kortestraat 3", postal_code="2000", city="Antwerpen", country="BE"
    )
    assert client.site_address == Address(street="Olifantstraat 200", postal_code="9000", city="Gent", country="BE")
    # The example's VAT number has wrong check digits: kept as EF holds it (a send would catch it later).
    assert client.vat_number == "BE 0123.456.789"
    assert client.enterprise_number is None  # <company_id></company_id>
    assert client.email == "info@hisdomain.com"
    assert client.phone == "098/90.20.00"
    assert client.website == "http://www.it-servicesbvba.be"
    assert client.language is Language.FR
    assert client.contacts == [
        Contact(name="John Smith", email="john.smith@hisdomain.com", phone="098/90.20.20", provider_id="2002")
    ]
    assert client.custom_fields == {"myreference": "123456"}
    # The example's IBAN (BE938493849384349) and BIC (BEXXXXXXXX) fail their checks: no neutral mandate,
    # and the block stays in raw as EF sent it.
    assert client.sepa_mandate is None
    assert client.raw["sepa_collection"]["iban"] == "BE938493849384349"


def test_provider_only_fields_are_kept_in_raw_as_sent(data: dict[str, object]) -> None:
    client = m.client_from_ef(data)
    for name in m.CLIENT_PROVIDER_ONLY:
        if name in data:
            assert client.raw[name] == data[name], name
    assert client.raw["number"] == "B12548"
    assert client.raw["attention"] == "dienst administratie"
    assert client.raw["private_note_html"] == "<p>Betaald steeds correct.</p>"  # CDATA read as text
    assert client.raw["default_currency"] == "USD"
    assert client.raw["default_paymentrequests_layout_id"] == "8001"
    assert client.raw["details"] == [
        {
            "contact_id": "2012",
            "uri": "https://eenvoudigfactureren.be/api/v1/clients/1001/details/2012",
            "name": "Bankrekeningnummer",
            "value": "000-00000011-11",
        }
    ]


def test_a_valid_sepa_block_becomes_the_mandate(data: dict[str, object]) -> None:
    data["sepa_collection"] = {**data["sepa_collection"], "iban": "BE68539007547034", "bic": "GKCCBEBB"}  # type: ignore[dict-item]
    mandate = m.client_from_ef(data).sepa_mandate
    assert mandate is not None
    assert (mandate.iban, mandate.bic, mandate.account_holder) == ("BE68539007547034", "GKCCBEBB", "John Smith")
    assert (mandate.mandate_reference, mandate.signature_date) == ("SEPA-REF-1", date(2021, 1, 1))
    assert mandate.sequence_type is SequenceType.RECURRING


def test_the_adapter_reads_the_example_off_the_wire() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/clients/1001"
        assert request.headers["X-API-Key"] == "ef-key-for-the-seed-test"
        return httpx.Response(200, content=SEED_XML.encode(), headers={"Content-Type": "application/xml"})

    transport = httpx.MockTransport(serve)
    with invoicekit.connect("eenvoudigfactureren", api_key="ef-key-for-the-seed-test", transport=transport) as books:
        client = books.clients.get("1001")
    assert client == m.client_from_ef(from_xml(SEED_XML.encode()))
    assert client.contacts[0].provider_id == "2002"
