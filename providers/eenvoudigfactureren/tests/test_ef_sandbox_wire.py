"""The EF sandbox on the wire, with raw httpx: what a client of the real API would see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from invoicekit_eenvoudigfactureren._xml import from_xml, to_xml
from invoicekit_eenvoudigfactureren.sandbox import create_sandbox

from invoicekit.model import InvoiceRow, compute_totals
from invoicekit.sandbox import Sandbox
from invoicekit.xmlsafe import parse_xml

TODAY = date(2026, 11, 2)
JSON = {"Accept": "application/json"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = create_sandbox(today=lambda: TODAY, custom_fields={"segment": "Segment"})
    yield box
    box.close()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": sandbox.credentials()["api_key"]}
    with httpx.Client(base_url=sandbox.base_url + "/api/v1", transport=sandbox.transport(), headers=headers) as c:
        yield c


def post_json(http: httpx.Client, path: str, body: Any, **kw: Any) -> httpx.Response:
    return http.post(path, json=body, **kw)


def make_client(http: httpx.Client, **fields: Any) -> int:
    response = post_json(http, "/clients", {"name": "IT Services BV", "tax_code": "BE0403019261", **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["client_id"])


def make_invoice(http: httpx.Client, client_id: int, **fields: Any) -> int:
    body = {
        "client_id": client_id,
        "date": "2026-11-02",
        "days_due": 30,
        "items": [{"description": "Consultancy", "amount": "95.00", "quantity": 8, "tax_rate": 21}],
        **fields,
    }
    response = post_json(http, "/invoices", body)
    assert response.status_code == 201, response.text
    return int(response.json()["invoice_id"])


# --- authentication and formats -----------------------------------------------------------------------------


def test_x_api_key_is_required(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as anonymous:
        assert anonymous.get("/api/v1/clients").status_code == 401
        wrong = anonymous.get("/api/v1/clients", headers={"X-API-Key": "sbx_wrong", **JSON})
        assert wrong.status_code == 401
        assert wrong.json() == {"error": "authentication failed"}
        # A key in the query string is not how EF authenticates.
        key = sandbox.credentials()["api_key"]
        assert anonymous.get("/api/v1/clients", params={"api_key": key}).status_code == 401


def test_x_account_id_is_optional_but_must_name_the_account(http: httpx.Client) -> None:
    assert http.get("/accounts/current", headers={"X-AccountId": "CSANDBOX1"}).status_code == 200
    other = http.get("/accounts/current", headers={"X-AccountId": "COTHER999", **JSON})
    assert other.status_code == 403
    assert other.json() == {"error": "access denied"}


def test_xml_by_default_json_when_asked(http: httpx.Client) -> None:
    client_id = make_client(http)
    default = http.get(f"/clients/{client_id}")
    assert default.headers["content-type"].startswith("application/xml")
    root = parse_xml(default.content)
    assert root.tag == "client"
    assert root.findtext("name") == "IT Services BV"
    by_header = http.get(f"/clients/{client_id}", headers=JSON)
    by_param = http.get(f"/clients/{client_id}", params={"format": "json"})
    for response in (by_header, by_param):
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.json()["client_id"] == client_id
    # The answer follows the request body: JSON in, JSON out; XML in, XML out.
    created = http.post("/clients", json={"name": "JSON BV"})
    assert created.headers["content-type"].startswith("application/json")
    created_xml = http.post("/clients", content=to_xml("client", {"name": "XML BV"}))
    assert created_xml.status_code == 201
    assert created_xml.headers["content-type"].startswith("application/xml")
    answer = from_xml(created_xml.content)
    assert answer["success"] == "client created"
    assert answer["client_id"].isdigit()
    assert answer["uri"].endswith(f"/api/v1/clients/{answer['client_id']}")


def test_create_answer_shape(http: httpx.Client) -> None:
    response = post_json(http, "/clients", {"name": "Shape BV"})
    assert response.status_code == 201
    data = response.json()
    assert data == {
        "success": "client created",
        "client_id": data["client_id"],
        "uri": f"http://eenvoudigfactureren.sandbox/api/v1/clients/{data['client_id']}",
    }
    assert isinstance(data["client_id"], int)


def test_malformed_json_gets_http_200_with_code_400(http: httpx.Client) -> None:
    broken = http.post("/clients", content=b'{"name": "x",', headers={"Content-Type": "application/json"})
    assert broken.status_code == 200
    assert broken.json() == {"code": 400, "error": "Syntax error"}
    latin1 = http.post("/clients", content=b'{"name": "Caf\xe9"}', headers={"Content-Type": "application/json"})
    assert latin1.status_code == 200
    assert latin1.json() == {"code": 400, "error": "Malformed UTF-8 characters, possibly incorrectly encoded"}
    xml = http.post("/clients", content=b"<client><name>x</client>", headers={"Content-Type": "application/xml"})
    assert xml.status_code == 200
    assert from_xml(xml.content) == {"code": "400", "error": "Syntax error"}
    assert http.get("/clients", headers=JSON).json() == []  # nothing was created


def test_hostile_xml_bodies_are_refused_like_syntax_errors(http: httpx.Client) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<client><name>&b;</name></client>"
    )
    response = http.post("/clients", content=bomb, headers={"Content-Type": "application/xml"})
    assert response.status_code == 200
    assert from_xml(response.content)["error"] == "Syntax error"


# --- clients ---------------------------------------------------------------------------------------------------


def test_client_errors_use_efs_messages(http: httpx.Client) -> None:
    cases = [
        ({"attention": "x"}, "name is required"),
        ({"name": "x", "phone_number": "0" * 21}, "phone_number too long"),
        ({"name": "x" * 76}, "name too long"),
        ({"name": "x", "country_code": "be"}, "country_code invalid"),
        ({"name": "x", "state": "deleted"}, "state invalid"),
        ({"name": "x", "default_structured_message": "12345"}, "default_structured_message too short"),
        ({"name": "x", "default_structured_message": "123456789012"}, "default_structured_message invalid"),
        ({"name": "x", "delivery_address": {"street": "a", "city": "b"}}, "delivery_address.country_code is required"),
        ({"name": "x", "custom_values": [{"name": "nope", "value": "1"}]}, "custom_value nope unknown"),
        ({"name": "x", "colour": "blue"}, "colour unknown"),
    ]
    for body, message in cases:
        response = post_json(http, "/clients", body)
        assert (response.status_code, response.json()) == (400, {"error": message}), body


def test_client_document_as_the_seed_shows_it(http: httpx.Client) -> None:
    client_id = make_client(
        http,
        external_client_id="Client-98437",
        street="Langestraat 189",
        postal_code="2000",
        city="Antwerpen",
        country_code="BE",
        delivery_address={
            "street": "Gebouw X",
            "street2": "Kortestraat 3",
            "postal_code": "2000",
            "city": "Antwerpen",
            "country_code": "BE",
        },
        sepa_collection={
            "name": "John Smith",
            "iban": "BE68539007547034",
            "mandate_date": "2021-01-01",
            "mandate_reference": "SEPA-REF-1",
        },
        custom_values=[{"name": "myreference", "value": "123456"}],
        private_note_html="<p>Betaald steeds correct.</p>",
        default_language="french",
    )
    xml = http.get(f"/clients/{client_id}").content
    assert b"<private_note_html><![CDATA[<p>Betaald steeds correct.</p>]]></private_note_html>" in xml
    data = from_xml(xml)
    assert data["country"] == "België"
    assert data["delivery_address"]["country"] == "België"
    assert data["number"] == "1"  # generated: the sandbox account numbers clients
    assert data["state"] == "active"
    assert data["custom_values"] == [{"name": "myreference", "description": "Onze referentie", "value": "123456"}]
    assert data["sepa_collection"]["iban"] == "BE68539007547034"
    assert data["contacts"] == []
    assert data["details"] == []  # deprecated: a new account has none (hvr4's efClientsBean reads the list)
    assert http.get(f"/clients/{client_id}/details", headers=JSON).json() == []


def test_post_updates_named_fields_put_replaces(http: httpx.Client) -> None:
    client_id = make_client(http, email_address="a@b.example", website="https://b.example")
    updated = post_json(http, f"/clients/{client_id}", {"email_address": "new@b.example"})
    assert updated.json() == {"success": "client updated"}
    after_post = http.get(f"/clients/{client_id}", headers=JSON).json()
    assert (after_post["email_address"], after_post["website"]) == ("new@b.example", "https://b.example")
    cleared = post_json(http, f"/clients/{client_id}", {"website": ""})
    assert cleared.status_code == 200
    assert http.get(f"/clients/{client_id}", headers=JSON).json()["website"] == ""
    replaced = http.put(f"/clients/{client_id}", json={"name": "Replaced BV"})
    assert replaced.status_code == 200
    after_put = http.get(f"/clients/{client_id}", headers=JSON).json()
    assert (after_put["name"], after_put["email_address"], after_put["tax_code"]) == ("Replaced BV", "", "")
    assert after_put["number"] == after_post["number"]
    assert http.put(f"/clients/{client_id}", json={"email_address": "x@y.example"}).json() == {
        "error": "name is required"
    }


def test_delete_client(http: httpx.Client) -> None:
    client_id = make_client(http)
    assert http.delete(f"/clients/{client_id}", headers=JSON).json() == {"success": "client removed"}
    gone = http.get(f"/clients/{client_id}", headers=JSON)
    assert (gone.status_code, gone.json()) == (404, {"error": "client_id unknown"})
    assert http.get("/clients/abc", headers=JSON).status_code == 404


def test_contacts_subdomain(http: httpx.Client) -> None:
    client_id = make_client(http)
    created = post_json(
        http, f"/clients/{client_id}/contacts", {"contact_name": "John Smith", "phone_number": "098/90.20.20"}
    )
    assert created.status_code == 201
    contact_id = created.json()["contact_id"]
    assert created.json()["uri"].endswith(f"/clients/{client_id}/contacts/{contact_id}")
    refused = post_json(http, f"/clients/{client_id}/contacts", {"contact_name": "No Way"})
    assert refused.json() == {"error": "email_address is required"}
    assert post_json(http, f"/clients/{client_id}/contacts", {"email_address": "a@b.example"}).json() == {
        "error": "contact_name is required"
    }
    post_json(http, f"/clients/{client_id}/contacts/{contact_id}", {"email_address": "john@it.example"})
    contact = http.get(f"/clients/{client_id}/contacts/{contact_id}", headers=JSON).json()
    assert contact["email_address"] == "john@it.example"
    assert contact["phone_number"] == "098/90.20.20"  # a POST changes only what it names
    listed = from_xml(http.get(f"/clients/{client_id}/contacts").content)
    assert [c["contact_name"] for c in listed] == ["John Smith"]
    assert http.get(f"/clients/{client_id}", headers=JSON).json()["contacts"][0]["contact_id"] == contact_id
    assert http.delete(f"/clients/{client_id}/contacts/{contact_id}", headers=JSON).json() == {
        "success": "contact removed"
    }
    assert http.get(f"/clients/{client_id}/contacts", headers=JSON).json() == []


def test_custom_values_subdomain(http: httpx.Client) -> None:
    client_id = make_client(http)
    assert (
        post_json(http, f"/clients/{client_id}/custom_values", {"name": "segment", "value": "retail"}).status_code
        == 200
    )
    assert post_json(http, f"/clients/{client_id}/custom_values", {"value": "x"}).json() == {
        "error": "name is required"
    }
    values = http.get(f"/clients/{client_id}/custom_values", headers=JSON).json()
    assert values == [{"name": "segment", "description": "Segment", "value": "retail"}]
    http.delete(f"/clients/{client_id}/custom_values/segment")
    assert http.get(f"/clients/{client_id}/custom_values", headers=JSON).json() == []


# --- lists -----------------------------------------------------------------------------------------------------


def test_search_filter_sort_fields(http: httpx.Client) -> None:
    for name, city, number in (
        ("Restaurant De Kat", "Brussel", "7"),
        ("Bakkerij Peeters", "Gent", "12"),
        ("Restaurant Zon", "Gent", "3"),
    ):
        make_client(http, name=name, city=city, number=number)

    def names(**params: str) -> list[str]:
        response = http.get("/clients", params=params, headers=JSON)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()]

    assert names(search="restaurant") == ["Restaurant De Kat", "Restaurant Zon"]
    assert names(filter="city=Gent,name=~Rest") == ["Restaurant Zon"]
    assert names(filter="city!=Gent") == ["Restaurant De Kat"]
    assert names(filter="number__ge__7", sort="number") == ["Restaurant De Kat", "Bakkerij Peeters"]
    assert names(filter="number>3,number<12") == ["Restaurant De Kat"]
    assert names(sort="city -name") == ["Restaurant De Kat", "Restaurant Zon", "Bakkerij Peeters"]
    assert names(sort="-client_id") == ["Restaurant Zon", "Bakkerij Peeters", "Restaurant De Kat"]
    assert http.get("/clients", params={"fields": "name,city"}, headers=JSON).json()[0] == {
        "name": "Restaurant De Kat",
        "city": "Brussel",
    }
    assert http.get("/clients", params={"sort": "contacts"}, headers=JSON).json() == {
        "error": "sort field contacts unknown"
    }
    assert http.get("/clients", params={"filter": "nonsense"}, headers=JSON).status_code == 400
    # The list root in XML is the plural domain name.
    assert parse_xml(http.get("/clients").content).tag == "clients"


def test_skip_take_default_50_max_100(http: httpx.Client) -> None:
    xml_client = to_xml("client", {"name": "Many"})
    for _ in range(120):
        http.post("/clients", content=xml_client)
    assert len(http.get("/clients", headers=JSON).json()) == 50
    assert len(http.get("/clients", params={"take": 500}, headers=JSON).json()) == 100
    page = http.get("/clients", params={"skip": 110, "take": 20}, headers=JSON).json()
    assert [c["client_id"] for c in page] == list(range(111, 121))
    assert http.get("/clients", params={"take": "-1"}, headers=JSON).json() == {"error": "take invalid"}


# --- invoices --------------------------------------------------------------------------------------------------


def test_invoice_totals_status_and_structured_message(http: httpx.Client) -> None:
    client_id = make_client(http)
    invoice_id = make_invoice(
        http,
        client_id,
        discount_percentage=5,
        items=[
            {"description": "Consultancy", "amount": "95.00", "quantity": "7.5", "unit": "h", "tax_rate": 21},
            {"description": "Catering", "amount": "4.333", "quantity": 12, "tax_rate": 12},
            {"description": "Books", "amount": "19.99", "quantity": 3, "tax_rate": 6},
            {"description": "Works", "amount": "100", "tax_rate": 0, "tax_rate_special_status": "MC"},
        ],
    )
    data = http.get(f"/invoices/{invoice_id}", headers=JSON).json()
    assert data["type"] == "invoice"
    assert data["status"] == "open"
    assert data["number"] == "2026-0001"
    assert len(data["structured_message"]) == 12
    # Per rate, on the rate's total after the discount: 712.50 - 35.63 = 676.87 at 21 % gives 142.14, ...
    assert (data["total_without_tax"], data["total_tax_1"], data["total_tax_2"], data["total_tax_3"]) == (
        "878.24",
        "142.14",
        "5.93",
        "3.42",
    )
    assert data["discount_total_without_tax"] == "46.23"
    assert data["total_with_tax"] == "1029.73"
    # The same figures as invoicekit's EN 16931 engine computes for the same rows.
    rows = [
        InvoiceRow(description="a", quantity="7.5", unit_price="95.00", vat_rate=21),
        InvoiceRow(description="b", quantity=12, unit_price="4.333", vat_rate=12),
        InvoiceRow(description="c", quantity=3, unit_price="19.99", vat_rate=6),
        InvoiceRow(description="d", unit_price="100", vat_rate=0, vat_category="AE"),
    ]
    totals = compute_totals(rows, discount_percent=Decimal(5))
    assert (totals.tax_exclusive, totals.payable) == (Decimal("878.24"), Decimal("1029.73"))
    assert [i["total_without_tax"] for i in data["items"]] == ["712.50", "52.00", "59.97", "100.00"]
    assert data["items"][3]["tax_rate_special_status"] == "MC"
    assert data["items"][0]["quantity"] == "7.5"
    assert data["items"][1]["quantity"] == 12


def test_invoice_errors(http: httpx.Client) -> None:
    client_id = make_client(http)
    item = {"description": "x", "amount": "10", "tax_rate": 21}
    cases = [
        ({"items": [item]}, "client_id is required"),
        ({"client_id": 999, "items": [item]}, "client_id unknown"),
        ({"client_id": client_id, "items": []}, "items cannot be empty"),
        ({"client_id": client_id, "items": [{"amount": "1"}]}, "items.0.description is required"),
        ({"client_id": client_id, "items": [{**item, "tax_rate": 7}]}, "items.0.tax_rate invalid"),
        (
            {"client_id": client_id, "items": [{**item, "tax_rate_special_status": "MC"}]},
            "items.0.tax_rate_special_status invalid",
        ),
        ({"client_id": client_id, "items": [{**item, "unit": "2 uur"}]}, "items.0.unit invalid"),
        ({"client_id": client_id, "items": [item], "structured_message": "12345"}, "structured_message too short"),
        ({"client_id": client_id, "items": [item], "structured_message": "123456789012"}, "structured_message invalid"),
    ]
    for body, message in cases:
        response = post_json(http, "/invoices", body)
        assert (response.status_code, response.json()) == (400, {"error": message}), body
    make_invoice(http, client_id, number="F-1")
    duplicate = post_json(http, "/invoices", {"client_id": client_id, "number": "F-1", "items": [item]})
    assert duplicate.json() == {"error": "number not unique"}


def test_a_negative_total_is_a_credit_note(http: httpx.Client) -> None:
    client_id = make_client(http)
    note_id = make_invoice(
        http,
        client_id,
        structured_message="+++010/8068/17183+++",
        items=[{"description": "Refund", "amount": "-50.00", "tax_rate": 21}],
    )
    data = http.get(f"/invoices/{note_id}", headers=JSON).json()
    assert (data["type"], data["total_with_tax"], data["structured_message"]) == ("creditnote", "-60.50", "")
    listed = http.get("/invoices", params={"filter": "type=creditnote"}, headers=JSON).json()
    assert [i["invoice_id"] for i in listed] == [note_id]


def test_payments_and_status(http: httpx.Client, sandbox: Sandbox) -> None:
    client_id = make_client(http)
    invoice_id = make_invoice(http, client_id)  # 760.00 + 159.60 = 919.60
    assert post_json(http, f"/invoices/{invoice_id}/payments", {"amount": "0"}).json() == {
        "error": "amount can not be 0.00"
    }
    assert post_json(http, f"/invoices/{invoice_id}/payments", {"amount": "1", "method": "cheque"}).json() == {
        "error": "method invalid"
    }
    first = post_json(
        http, f"/invoices/{invoice_id}/payments", {"amount": "100", "date": "2026-11-03", "method": "transfer"}
    )
    assert first.status_code == 201
    assert http.get(f"/invoices/{invoice_id}", headers=JSON).json()["total_paid"] == "100.00"
    rest = post_json(
        http, f"/invoices/{invoice_id}/payments", {"remaining_amount": "yes", "description": "WooCommerce"}
    )
    assert rest.status_code == 201
    payments = http.get(f"/invoices/{invoice_id}/payments", headers=JSON).json()
    assert [(p["amount"], p["description"]) for p in payments] == [("100.00", ""), ("819.60", "WooCommerce")]
    assert payments[1]["date"] == "2026-11-02"  # today, by default
    invoice = http.get(f"/invoices/{invoice_id}", headers=JSON).json()
    assert (invoice["status"], invoice["total_paid"]) == ("closed", "919.60")
    assert post_json(http, f"/invoices/{invoice_id}/payments", {"remaining_amount": "yes"}).json() == {
        "error": "amount can not be 0.00"
    }
    unpaid = http.get("/invoices", params={"filter": "status!=closed"}, headers=JSON).json()
    assert unpaid == []


def test_overdue_after_the_term(sandbox: Sandbox) -> None:
    late = create_sandbox(today=lambda: date(2027, 1, 15))
    try:
        headers = {"X-API-Key": late.credentials()["api_key"], **JSON}
        with httpx.Client(base_url=late.base_url + "/api/v1", transport=late.transport(), headers=headers) as http:
            invoice_id = make_invoice(http, make_client(http))
            data = http.get(f"/invoices/{invoice_id}").json()
            assert (data["status"], data["date_overdue"], data["days_overdue"]) == ("overdue", "2026-12-02", 44)
    finally:
        late.close()


def test_items_subdomain(http: httpx.Client) -> None:
    invoice_id = make_invoice(http, make_client(http))
    added = post_json(
        http,
        f"/invoices/{invoice_id}/items",
        {"description": "Extra", "quantity_with_unit": "2 h", "amount": "50", "tax_rate": 21},
    )
    assert added.status_code == 201
    items = http.get(f"/invoices/{invoice_id}/items", headers=JSON).json()
    assert [(i["description"], i["quantity"], i["unit"]) for i in items] == [("Consultancy", 8, ""), ("Extra", 2, "h")]
    assert http.get(f"/invoices/{invoice_id}", headers=JSON).json()["total_without_tax"] == "860.00"
    http.delete(f"/invoices/{invoice_id}/items/{items[0]['item_id']}")
    last = http.delete(f"/invoices/{invoice_id}/items/{items[1]['item_id']}", headers=JSON)
    assert last.json() == {"error": "items cannot be empty"}


def test_amount_with_tax_and_tax_included(http: httpx.Client) -> None:
    client_id = make_client(http)
    invoice_id = make_invoice(
        http, client_id, items=[{"description": "Gross", "amount_with_tax": "121.00", "tax_rate": 21}]
    )
    assert http.get(f"/invoices/{invoice_id}", headers=JSON).json()["items"][0]["amount"] == "100.000000"
    other = make_invoice(
        http, client_id, tax_included="yes", items=[{"description": "Incl", "amount": "60.50", "tax_rate": 21}]
    )
    assert http.get(f"/invoices/{other}", headers=JSON).json()["total_with_tax"] == "60.50"


def test_send_peppol_and_email(http: httpx.Client) -> None:
    company = make_client(http, email_address="ap@company.example")
    person = make_client(http, name="An Janssens", tax_code="")
    invoice_id = make_invoice(http, company)
    sent = post_json(
        http, f"/invoices/{invoice_id}/send", {"methods": {"peppol": {}, "email": {"recipient": "main_contact"}}}
    )
    assert sent.json() == {"success": "invoice sent", "methods": {"peppol": "sent", "email": "sent"}}
    events = http.get(f"/invoices/{invoice_id}/events", headers=JSON).json()
    # Events carry content and recipients, as hvr4's efInvoicesEventsBean reads them.
    assert "0208:0403019261" in events[0]["content"]
    assert events[1]["recipients"] == [{"name": "", "email_address": "ap@company.example"}]
    assert events[1]["type"] == "email sent"  # the type the 2017 JSON shows (hvierendeels/efAPI)
    # The older query-flag form does the same.
    assert http.post(f"/invoices/{invoice_id}?send_peppol", headers=JSON).json()["success"] == "invoice sent"
    person_invoice = make_invoice(http, person)
    refused = post_json(http, f"/invoices/{person_invoice}/send", {"methods": {"peppol": {}}})
    assert (refused.status_code, refused.json()) == (400, {"error": "client tax_code is required"})
    no_mail = post_json(http, f"/invoices/{person_invoice}/send", {"methods": {"email": {}}})
    assert no_mail.json() == {"error": "recipient is required"}
    assert post_json(http, f"/invoices/{invoice_id}/send", {}).json() == {"error": "methods is required"}
    xml = http.post(f"/invoices/{invoice_id}/send", content=to_xml("send", {"methods": {"peppol": {}}}))
    assert from_xml(xml.content)["success"] == "invoice sent"


def test_peppolbis3_download_is_ubl(http: httpx.Client) -> None:
    invoice_id = make_invoice(http, make_client(http))
    response = http.get(f"/invoices/{invoice_id}", params={"format": "peppolbis3"})
    assert response.status_code == 200
    assert 'filename="factuur-2026-0001.xml"' in response.headers["content-disposition"]
    root = parse_xml(response.content)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert Decimal(root.findtext(".//{*}LegalMonetaryTotal/{*}PayableAmount") or "0") == Decimal("919.60")
    assert root.findtext(".//{*}AccountingSupplierParty//{*}RegistrationName") == "EF Sandbox BV"
    unknown = http.get(f"/invoices/{invoice_id}", params={"format": "docx"}, headers=JSON)
    assert unknown.status_code == 400
    assert b"format docx unknown" in unknown.content


def test_account_and_settings(http: httpx.Client) -> None:
    account = http.get("/accounts/current", headers=JSON).json()
    assert (account["name"], account["vat_number"]) == ("EF Sandbox BV", "BE0428759497")
    taxes = http.get("/settings", params={"fields": "taxes"}, headers=JSON).json()
    assert taxes == {"taxes": {"tax1": {"rate": 21}, "tax2": {"rate": 12}, "tax3": {"rate": 6}}}
    assert http.get("/quotes", headers=JSON).json() == {"error": "domain unknown"}


def test_bulk_client_create(http: httpx.Client) -> None:
    existing = make_client(http)
    body = [{"name": "Bulk A"}, {"client_id": existing, "email_address": "x@y.example"}, {"phone_number": "1"}]
    results = http.post("/clients?bulk", json=body).json()
    assert results[0]["success"] == "client created"
    assert results[1] == {"success": "client updated", "client_id": existing}
    assert results[2] == {"error": "2: name is required"}


def test_the_state_is_plain_json(sandbox: Sandbox, http: httpx.Client) -> None:
    # Stores serialise records as JSON: a Decimal or date left in one would break SQLite persistence.
    make_invoice(http, make_client(http))
    for collection in ("clients", "invoices"):
        json.dumps(sandbox.store.all(collection))


def test_state_and_key_survive_a_restart_on_sqlite(tmp_path: Any) -> None:
    from invoicekit.sandbox import SqliteStore

    store = SqliteStore(tmp_path / "ef.sqlite")
    try:
        first = create_sandbox(store=store, custom_fields={"segment": "Segment"})
        key = first.credentials()["api_key"]
        headers = {"X-API-Key": key, **JSON}
        with httpx.Client(base_url=first.base_url + "/api/v1", transport=first.transport(), headers=headers) as http:
            client_id = make_client(http, custom_values=[{"name": "segment", "value": "retail"}])
        again = create_sandbox(store=store, custom_fields={"segment": "Segment"})
        assert again.credentials()["api_key"] == key
        with httpx.Client(base_url=again.base_url + "/api/v1", transport=again.transport(), headers=headers) as http:
            assert http.get(f"/clients/{client_id}").json()["custom_values"][0]["value"] == "retail"
        assert len(store.all("custom_field_definitions")) == 2  # not defined twice
    finally:
        store.close()


@pytest.mark.parametrize("form", ["external_invoice_id={}", "external_invoice_id__eq__{}"])
def test_a_filter_on_the_key_answers_as_a_full_scan_does(http: httpx.Client, form: str) -> None:
    # The index on the key's comparable copy must find what the filter's own rules find: case-insensitive
    # text, numbers by value, and a key changed by an update.
    client_id = make_client(http)
    ids = {key: make_invoice(http, client_id, external_invoice_id=key) for key in ("Order-1", "7.0", "other")}
    post_json(http, f"/invoices/{ids['other']}", {"external_invoice_id": "moved"})

    def found(value: str) -> list[int]:
        response = http.get("/invoices", params={"filter": form.format(value), "format": "json"}, headers=JSON)
        assert response.status_code == 200, response.text
        return [int(i["invoice_id"]) for i in response.json()]

    assert found("order-1") == [ids["Order-1"]]
    assert found("7") == [ids["7.0"]]
    assert found("other") == []
    assert found("moved") == [ids["other"]]
    response = http.get(f"/invoices/{ids['Order-1']}", headers=JSON)
    assert "external_invoice_id_comparable" not in response.json()
