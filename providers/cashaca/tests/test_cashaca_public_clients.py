"""Replays of the public Cashaca (Zenfactuur) clients' requests against the sandbox over a real loopback server.

Each request is written here as the client's source builds it (method, path with its double slashes, query,
body encoding, headers), citing the file and line it comes from, and the test checks the answer fields that
client reads. Every replay runs against the assumed sandbox and the strict one: these clients work against
the real API, so they must work against what the sources show alone.

Sources (snapshots read with ``fetch``; no code of theirs is in this repository):

- maartendeblock/zenfactuurapi @ dfff8ce: Guzzle, ``base_uri`` https://app.zenfactuur.be, JSON bodies
  (``RequestOptions::JSON``), the token first in the query (src/ZenFactuurApi.php:43,63-64,84-85).
- tombroucke/zenfactuur-php-client @ e559b45: Fansipan connector, base ``.../api/v2/``, ``?token=`` by
  QueryAuthenticator (app/ZenfactuurConnector.php:14-31); every request ``AsJson``, so even a GET carries
  ``Content-Type: application/json`` and the body ``[]`` (fansipan 1.4.1 src/Util.php:152-160,
  src/Body/JsonPayload.php:31).
- stijn1989/Zenfactuur @ b697434: Guzzle, END_POINT https://www.zenfactuur.be/api/v2/ + path + ``?`` +
  http_build_query(params + token) (src/Zenfactuur/Api/BaseZenfactuur.php:14,48-56), JSON bodies
  (BaseZenfactuur.php:137,162).
- the production Google Apps Script MirrorEffect_Clients (read_file id 7414210413), createInvoiceInZenfacture_:
  ``UrlFetchApp.fetch(url, {method: 'post', contentType: 'application/json', payload: JSON.stringify(...)})``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pypdf
import pytest
from invoicekit_cashaca.sandbox import CashacaSandbox, create_sandbox

from invoicekit.sandbox import running

SERIAL = re.compile(r"^\d{4}_\d{4}$")


class Replay:
    """One sandbox behind a real uvicorn server, and its token."""

    def __init__(self, sandbox: CashacaSandbox, base_url: str) -> None:
        self.sandbox = sandbox
        self.base_url = base_url
        self.token = sandbox.credentials()["token"]
        self.http = httpx.Client(timeout=10)

    def send(
        self, method: str, path_and_query: str, *, body: bytes | None = None, json_body: Any = None
    ) -> httpx.Response:
        """``path_and_query`` exactly as the client puts it after the host, token included."""
        headers = {}
        content = body
        if json_body is not None:
            # PHP's json_encode and JSON.stringify: no spaces.
            content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self.http.build_request(method, self.base_url, headers=headers, content=content)
        # httpx would normalise the path (the double slash stijn1989 sends): set the raw target ourselves.
        request.url = request.url.copy_with(raw_path=path_and_query.replace("TOKEN", self.token).encode())
        return self.http.send(request)


@pytest.fixture(params=["assumed", "strict"])
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    box = create_sandbox(strict=request.param == "strict")
    assert isinstance(box, CashacaSandbox)
    with box, running(box) as base_url:
        client = Replay(box, base_url)
        yield client
        client.http.close()


# --- the production Apps Script ------------------------------------------------------------------------


def test_apps_script_creates_a_consumer_invoice_without_an_address(replay: Replay) -> None:
    # createInvoiceInZenfacture_: the payload, key order and all, for a 150.00 deposit incl. 21 % VAT.
    payload = {
        "client": {"type_id": 0, "name": "Marie Dubois", "email": "marie@example.be", "tel": None, "language": "fr"},
        "invoice": {
            "date": "2026-11-28",
            "delivery_date": "2026-11-28",
            "payment_term": 0,
            "vat_percentage": 21,
            "sales_type_id": 2,
            "custom_text_top": "Acompte événement MirrorEffect Location Photobooth (EV-1)",
            "pay_message": 1,
            "commercial_document_lines_attributes": [
                {
                    "description": "Acompte événement MirrorEffect Location Photobooth (EV-1)",
                    "number_skus": "1",
                    "unit_price": "123.97",
                    "vat_percentage": 21,
                }
            ],
        },
    }
    response = replay.send("POST", "/api/v2/invoices.json?token=TOKEN", json_body=payload)
    # The script throws on anything but 2xx, then reads json.id and json.serial_number ("ex: 2025_0108").
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert isinstance(invoice["id"], int)
    assert SERIAL.match(invoice["serial_number"])
    assert (invoice["amount"], invoice["vat_amount"]) == ("123.97", "26.03")  # 150.00, as the sheet says
    assert invoice["client_address1"] is None


# --- tombroucke/zenfactuur-php-client --------------------------------------------------------------------


def test_tombroucke_readme_flow(replay: Replay) -> None:
    # GetApiTokenRequest (app/GetApiTokenRequest.php:12): 'api_tokens.json'; README reads data()['username'].
    assert "username" in replay.send("GET", "/api/v2/api_tokens.json?token=TOKEN", body=b"[]").json()
    # CreateClientRequest (app/Clients/CreateClientRequest.php:24,29): ['client' => ...]; README: status 201, id.
    created = replay.send(
        "POST",
        "/api/v2/clients.json?token=TOKEN",
        json_body={"client": {"type_id": 0, "name": "John Doe", "email": "john@example.com"}},
    )
    assert created.status_code == 201
    client_id = created.json()["id"]
    # FindClientsRequest (app/Clients/FindClientsRequest.php:21-31): q, and page/phone only when set.
    found = replay.send("GET", "/api/v2/clients/search.json?q=John+Doe&token=TOKEN", body=b"[]")
    assert [c["id"] for c in found.json()] == [client_id]  # tests/Feature/ClientsTest.php reads data()[0]['id']
    # UpdateClientRequest (app/Clients/UpdateClientRequest.php:14,24,29): PUT ['client' => name, email].
    updated = replay.send(
        "PUT",
        f"/api/v2/clients/{client_id}.json?token=TOKEN",
        json_body={"client": {"name": "John Smith", "email": "johnsmith@example.com"}},
    )
    assert (updated.status_code, updated.json()["name"]) == (200, "John Smith")
    # GetClientsRequest with ->page(2) (app/PaginatedRequest.php:15-24): a JSON array, empty here.
    assert replay.send("GET", "/api/v2/clients.json?page=2&token=TOKEN", body=b"[]").json() == []
    # CreateInvoiceRequest: the README's body as PHP encodes it (75.00 -> 75.0), no sale block, a global rate.
    readme_invoice = {
        "client": {
            "type_id": 0,
            "name": "John Doe",
            "email": "john@example.com",
            "street": "Main Street 123",
            "postcode": "12345",
            "city": "Brussels",
            "country": "BE",
        },
        "invoice": {
            "date": "2026-12-01",
            "internal_description": "Invoice for services",
            "vat_percentage": 21,
            "pay_message": True,
            "commercial_document_lines_attributes": [
                {"description": "Web Development Services", "unit_price": 75.0, "number_skus": 10},
                {"description": "Hosting Services", "unit_price": 25.0, "number_skus": 1},
            ],
        },
    }
    invoice = replay.send("POST", "/api/v2/invoices.json?token=TOKEN", json_body=readme_invoice)
    assert invoice.status_code == 201, invoice.text
    invoice_id = invoice.json()["id"]
    assert (invoice.json()["amount"], invoice.json()["vat_amount"]) == ("775.00", "162.75")
    unpaid = replay.send("GET", "/api/v2/invoices/unpaid.json?token=TOKEN", body=b"[]").json()
    assert invoice_id in [i["id"] for i in unpaid]
    # SendByEmailRequest (app/Invoices/SendByEmailRequest.php:39-50): array_filter of every option, 1/0 ints.
    email = {
        "to": "client@example.com",
        "cc": "manager@example.com",
        "bcc": "accounting@example.com",
        "subject": "Your Invoice from Company Name",
        "content": "Dear Client, please find your invoice attached.",
        "attach_pdf": 1,
        "attach_xml": 1,
        "send_reminder": 1,
    }
    sent = replay.send("POST", f"/api/v2/invoices/{invoice_id}/send_by_email.json?token=TOKEN", json_body=email)
    assert sent.status_code == 200
    assert isinstance(sent.json(), dict)  # tests/Feature/InvoicesTest.php: toBeArray()
    # SendToPeppolRequest: no defaultBody, so the JSON payload is "[]"; the client needs a VAT number.
    company = dict(readme_invoice, client={"type_id": 1, "name": "Test BV", "vat_number": "BE0403019261"})
    b2b = replay.send("POST", "/api/v2/invoices.json?token=TOKEN", json_body=company).json()
    peppol = replay.send("POST", f"/api/v2/invoices/{b2b['id']}/send_to_peppol.json?token=TOKEN", body=b"[]")
    assert peppol.status_code == 200
    assert isinstance(peppol.json(), dict)
    # GetRecurrentSchedulesRequest / GetRecurrentScheduleRequest (app/RecurrentSchedules/*.php:14, :19).
    schedules = replay.send("GET", "/api/v2/recurrent_schedules.json?token=TOKEN", body=b"[]")
    assert schedules.status_code == 200
    assert isinstance(schedules.json(), list)
    one = replay.send("GET", f"/api/v2/recurrent_schedules/{schedules.json()[0]['id']}.json?token=TOKEN", body=b"[]")
    assert one.status_code == 200


# --- stijn1989/Zenfactuur ----------------------------------------------------------------------------------


def test_stijn_unwrapped_client_bodies_and_squeezed_paths(replay: Replay) -> None:
    # Client::createClient (src/Zenfactuur/Api/Client.php:77-92): the entity's fields unwrapped, nulls included,
    # type_id defaulting to 1 (Entity/Client.php) and the VAT number written with dots (tests/ClientTest.php:64).
    fields = {
        "type_id": 1,
        "name": "phpunit",
        "vat_number": "0670.448.261",
        "street": None,
        "postcode": None,
        "city": None,
        "email": None,
        "country": None,
        "contact": None,
        "tel": None,
        "reference": None,
        "website": None,
        "language": "nl",
    }
    created = replay.send("POST", "/api/v2/clients.json?token=TOKEN", json_body=fields)
    assert created.status_code == 201, created.text
    client = created.json()
    assert (client["name"], client["vat_number"]) == ("phpunit", "BE0670448261")
    # Client::editClient (Client.php:111-126): PUT, unwrapped again.
    edited = replay.send(
        "PUT", f"/api/v2/clients/{client['id']}.json?token=TOKEN", json_body={**fields, "name": "phpunit 123"}
    )
    assert (edited.status_code, edited.json()["name"]) == (200, "phpunit 123")
    # Client::getClient (Client.php:62): '/clients/<id>.json' after END_POINT's trailing slash.
    fetched = replay.send("GET", f"/api/v2//clients/{client['id']}.json?token=TOKEN")
    assert (fetched.status_code, fetched.json()["id"]) == (200, client["id"])
    # testUnexistedClient and testInvalidVatNumberCreateClient (tests/ClientTest.php:41-57) expect errors.
    assert replay.send("GET", "/api/v2//clients/111111111.json?token=TOKEN").status_code == 404
    invalid = replay.send(
        "POST", "/api/v2/clients.json?token=TOKEN", json_body={**fields, "vat_number": "BE54785255441"}
    )
    assert invalid.status_code == 422
    # Client::search (Client.php:40-48): "op basis van de naam of deel" -> part of the name.
    found = replay.send("GET", "/api/v2/clients/search.json?q=phpunit&token=TOKEN").json()
    assert [c["id"] for c in found] == [client["id"]]
    # Client::validVatNumber (Client.php:141): {"valid": bool}.
    valid = replay.send("GET", "/api/v2/clients/valid_be_vat_number.json?vat_number=0670.448.261&token=TOKEN")
    assert valid.json() == {"valid": True}
    # ApiToken::getApiToken (src/Zenfactuur/Api/ApiToken.php:20): 'api_tokens', no .json.
    token = replay.send("GET", "/api/v2/api_tokens?token=TOKEN")
    assert (token.status_code, "username" in token.json()) == (200, True)


def test_stijn_invoice_reads(replay: Replay) -> None:
    replay.send(
        "POST",
        "/api/v2/invoices.json?token=TOKEN",
        json_body={
            "client": {"type_id": 0, "name": "danapig"},
            "invoice": {
                "date": "2026-12-01",
                "vat_percentage": "21",
                "commercial_document_lines_attributes": [{"description": "x", "number_skus": "1", "unit_price": "10"}],
            },
        },
    )
    # Invoice::getInvoices (src/Zenfactuur/Api/Invoice.php:26): per_age (sic) and page, then the token.
    listed = replay.send("GET", "/api/v2/invoices.json?per_age=100&page=1&token=TOKEN").json()
    assert len(listed) == 1
    # Entity/Invoice.php reads these (among its other properties) and keys the lines by row_order.
    invoice = listed[0]
    for field in ("serial_number", "amount", "vat_amount", "html_url_for_client", "pdf_url_for_client"):
        assert field in invoice
    assert invoice["xml_url_for_client"].endswith(".xml")
    assert replay.send("GET", "/api/v2/invoices/unpaid.json?page=1&token=TOKEN").json()[0]["id"] == invoice["id"]
    # Invoice::getNextInvoiceNumber (Invoice.php:72): cast to a string.
    assert isinstance(replay.send("GET", "/api/v2/next_invoice_serial_number.json?token=TOKEN").json(), str)


# --- maartendeblock/zenfactuurapi ---------------------------------------------------------------------------


def docblock_document(kind: str) -> dict[str, Any]:
    """The usage example of createInvoice / createCreditNote / createQuotation (src/Apis/Invoice.php,
    CreditNote.php, Quotation.php): a client with type_id and name, and a serial number and a date."""
    return {"client": {"type_id": 0, "name": "Sohel From Api"}, kind: {"serial_number": "1234", "date": "2022-03-31"}}


def test_maartendeblock_docblock_flow(replay: Replay) -> None:
    # Customer::createCustomer docblock (src/Apis/Customer.php): a client with type_id and name only.
    customer = replay.send(
        "POST", "/api/v2/clients.json?token=TOKEN", json_body={"client": {"type_id": 0, "name": "Sohel From Api"}}
    )
    assert customer.status_code == 201
    # Customer::searchAllCustomers: q and an empty phone (null page dropped by http_build_query).
    found = replay.send("GET", "/api/v2/clients/search.json?token=TOKEN&q=Sohel&phone=").json()
    assert [c["id"] for c in found] == [customer.json()["id"]]
    # Invoice::createInvoice docblock (src/Apis/Invoice.php): client + invoice {serial_number, date}, no lines.
    invoice = replay.send("POST", "/api/v2/invoices.json?token=TOKEN", json_body=docblock_document("invoice"))
    assert invoice.status_code == 201, invoice.text
    sale_id = invoice.json()["sale_id"]
    # CreditNote::createCreditNote docblock (src/Apis/CreditNote.php): credit_note {serial_number, date}.
    note = replay.send("POST", "/api/v2/credit_notes.json?token=TOKEN", json_body=docblock_document("credit_note"))
    assert note.status_code == 201, note.text
    # Payment::createPaymentFromSale docblock (src/Apis/Payment.php): the amount as a string.
    accounts = replay.send("GET", "/api/v2/money_accounts.json?token=TOKEN").json()
    payment = replay.send(
        "POST",
        "/api/v2/financial_transactions.json?token=TOKEN",
        json_body={
            "financial_transaction": {
                "sale_id": sale_id,
                "date": "2022-03-31",
                "storage_id": accounts[0]["id"],
                "amount": "50",
            }
        },
    )
    assert payment.status_code == 201
    assert isinstance(payment.json(), dict)  # returnBody(): typed array
    # Invoice::sendInvoiceToPeppol reads $invoice['client']['vat_number'] first (src/Apis/Invoice.php).
    company = replay.send(
        "POST",
        "/api/v2/invoices.json?token=TOKEN",
        json_body={
            "client": {"type_id": 1, "name": "IT Services BV", "vat_number": "BE0403019261"},
            "invoice": {"serial_number": "1235", "date": "2022-03-31"},
        },
    ).json()
    shown = replay.send("GET", f"/api/v2/invoices/{company['id']}.json?token=TOKEN").json()
    assert shown["client"]["vat_number"] == "BE0403019261"
    assert (
        replay.send(
            "POST", f"/api/v2/invoices/{company['id']}/send_to_peppol.json?token=TOKEN", json_body=[]
        ).status_code
        == 200
    )
    # StructuredCommunication::getProposalForStructuredCommunication(): typed ': array', so an object.
    proposal = replay.send("GET", "/api/v2/proposed_invoice_ogm.json?token=TOKEN&serial_number=")
    assert isinstance(proposal.json(), dict)
    # InvoiceNumber::getNextInvoiceSerialNumber(): typed ': string' (fixed from array in commit 671a184).
    assert isinstance(replay.send("GET", "/api/v2/next_invoice_serial_number.json?token=TOKEN").json(), str)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v2/sales.json?token=TOKEN&page=", list),  # Sell::getAllSells
        ("/api/v2/sales/search.json?token=TOKEN&q=", list),  # Sell::searchAllSells
        ("/api/v2/projects.json?token=TOKEN", list),  # Project::getAllProjects
        ("/api/v2/projects/search.json?token=TOKEN&q=", list),  # Project::searchAllProjects
        ("/api/v2/quotations.json?token=TOKEN", list),  # Quotation::getAllQuotations
        ("/api/v2/units.json?token=TOKEN", list),  # BillingUnit::getListOfBillingUnits
        ("/api/v2/units/1.json?token=TOKEN", dict),  # BillingUnit::getBillingUnit
        ("/api/v2/skus.json?token=TOKEN", list),  # SaleItem::getListOfSaleItems
        ("/api/v2/skus/1.json?token=TOKEN", dict),  # SaleItem::getSaleItem
        ("/api/v2/sales_categories.json?token=TOKEN", list),  # IncomeCategories::getListOfRevenueCategories
        ("/api/v2/sales_categories/1.json?token=TOKEN", dict),  # IncomeCategories::getRevenueCategory
        ("/api/v2/country_names.json?token=TOKEN", list),  # Country::getListOfStandardEuropeanCountries
        ("/api/v2/vat_rates.json?token=TOKEN&country=NL", list),  # VatPercentage, an OSS country
        ("/api/v2/next_quotation_serial_number.json?token=TOKEN", str),  # QuotationNumber: see the docs page
    ],
)
def test_maartendeblock_lookup_lists(replay: Replay, path: str, kind: type) -> None:
    response = replay.send("GET", path)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), kind)


def test_maartendeblock_sales_projects_and_quotations(replay: Replay) -> None:
    # Sell::createSell docblock (src/Apis/Sell.php): client + sale {date}; seed 002 documents the amounts.
    sale = replay.send(
        "POST",
        "/api/v2/sales.json?token=TOKEN",
        json_body={
            "client": {"type_id": 4, "name": "Klaus Berger"},
            "sale": {"date": "2022-03-31", "sales_type_id": 3, "amount_at_21": "100.00"},
        },
    )
    assert sale.status_code == 201, sale.text
    assert replay.send("GET", f"/api/v2/sales/{sale.json()['id']}.json?token=TOKEN").json()["sales_type_id"] == 3
    # Project::createProject / modifyProject docblocks: ['project' => ['name' => 'New project']].
    project = replay.send("POST", "/api/v2/projects.json?token=TOKEN", json_body={"project": {"name": "New project"}})
    assert project.status_code == 201
    renamed = replay.send(
        "PUT", f"/api/v2/projects/{project.json()['id']}.json?token=TOKEN", json_body={"project": {"name": "Renamed"}}
    )
    assert renamed.json()["name"] == "Renamed"
    # Quotation::createQuotation docblock: client + quotation {serial_number, date}; then its own numbering.
    quotation = replay.send("POST", "/api/v2/quotations.json?token=TOKEN", json_body=docblock_document("quotation"))
    assert quotation.status_code == 201, quotation.text
    mail = replay.send(
        "POST",
        f"/api/v2/quotations/{quotation.json()['id']}/send_by_email.json?token=TOKEN",
        json_body={"to": "a@b.be"},
    )
    assert mail.status_code == 200
    assert replay.send("GET", "/api/v2/next_quotation_serial_number.json?token=TOKEN").json() == "1235"
    assert isinstance(replay.send("GET", "/api/v2/proposed_quotation_ogm.json?token=TOKEN").json(), dict)
    assert replay.sandbox.store.all("sales")[-1]["id"] == sale.json()["id"]  # a quotation books no sale


def test_client_links_serve_the_document(replay: Replay) -> None:
    invoice = replay.send(
        "POST",
        "/api/v2/invoices.json?token=TOKEN",
        json_body={
            "client": {"type_id": 0, "name": "Marie Dubois"},
            "invoice": {
                "date": "2026-12-01",
                "commercial_document_lines_attributes": [
                    {"description": "Fotobooth", "number_skus": "1", "unit_price": "123.97", "vat_percentage": 21}
                ],
            },
        },
    ).json()
    # The links are what the client receives: no token (stijn1989 Entity/Invoice.php lists all three).
    pdf = replay.http.get(invoice["pdf_url_for_client"])
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert invoice["serial_number"] in text
    assert "150.00" in text or "150,00" in text
    assert invoice["ogm"] in text
    html = replay.http.get(invoice["html_url_for_client"])
    assert invoice["serial_number"] in html.text
    xml = replay.http.get(invoice["xml_url_for_client"])
    assert f"<cbc:ID>{invoice['serial_number']}</cbc:ID>" in xml.text
    assert Decimal(re.findall(r"PayableAmount[^>]*>([\d.]+)<", xml.text)[0]) == Decimal("150.00")
    assert replay.http.get(invoice["pdf_url_for_client"].replace(".pdf", "x.pdf")).status_code == 404
