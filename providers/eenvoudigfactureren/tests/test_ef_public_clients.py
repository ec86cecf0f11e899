"""EenvoudigFactureren's public clients, replayed over a real loopback server in both sandbox modes.

Each request is written from what the client's source builds (method, path with its double slashes, query,
body encoding, headers), cited by file and line; each check is a field the client reads. The clients are:

* the vendor's CLI, wimverstuyf/eenvoudigfactureren-tools (Ruby, rest-client): download.rb and apiclient.rb;
* the vendor's WooCommerce plugin, wimverstuyf/woo-eenvoudigfactureren (PHP): includes/client.php,
  includes/generation.php, admin/api-settings.php, admin/general-settings.php;
* the 2017 Java client hvierendeels/efAPI (package hvr4.eenvoudigfactureren, Apache HttpClient and Gson):
  hvr4/eenvoudigfactureren/efAPI.java, with the recorded JSON of json/client_good.txt and json/invoice_good.txt.

No client code is copied: the bodies are written here the way those lines build them.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pypdf
import pytest
from invoicekit_eenvoudigfactureren.sandbox import create_sandbox

from invoicekit.sandbox import Sandbox, running
from invoicekit.ubl import validate


@dataclass
class Server:
    sandbox: Sandbox
    origin: str  # scheme://host:port, what a client's "domain" or base URL names

    @property
    def key(self) -> str:
        return self.sandbox.credentials()["api_key"]


@pytest.fixture(params=[False, True], ids=["assumed", "strict"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    sandbox = create_sandbox(strict=request.param)
    with running(sandbox) as base_url:
        yield Server(sandbox, base_url.removesuffix("/api/v1"))
    sandbox.close()


def php_json(data: Any) -> bytes:
    # PHP's json_encode: no spaces, "/" escaped, floats keep a ".0" (serialize_precision -1).
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode()


# --- the WooCommerce plugin ----------------------------------------------------------------------------------


class Woo:
    """client.php: get_url = website_url . '/api/v1/' . $resource (line 79); get_headers (lines 83-90)."""

    def __init__(self, server: Server) -> None:
        self.base = server.origin
        headers = {"Content-Type": "application/json", "Accept": "application/json", "X-API-Key": server.key}
        self.http = httpx.Client(headers=headers)

    def get(self, resource: str) -> Any:  # client.php line 20: wp_remote_get, then json_decode
        response = self.http.get(f"{self.base}/api/v1/{resource}")
        assert response.status_code < 400, response.text
        return response.json()

    def post(self, resource: str, data: Any) -> Any:  # client.php lines 43-50: wp_remote_post, json_encode body
        response = self.http.post(f"{self.base}/api/v1/{resource}", content=php_json(data))
        assert response.status_code < 400, response.text
        body = response.json()
        assert "error" not in body, body  # generation.php lines 149, 232, 245: property_exists($result, 'error')
        return body


def test_woocommerce_plugin_settings_pages(server: Server) -> None:
    woo = Woo(server)
    account = woo.get("accounts/current")  # api-settings.php line 218
    assert account["number"]
    assert account["name"]
    layouts = woo.get("layouts")  # general-settings.php line 91
    assert all({"layout_id", "name"} <= set(layout) for layout in layouts)  # line 185


def test_woocommerce_plugin_order_flow(server: Server) -> None:
    woo = Woo(server)
    # generation.php build_client (lines 283-318) for a consumer; create_or_update_client posts it (line 240).
    client = {
        "external_client_id": "",
        "name": "An Janssens",
        "tax_code": "",
        "attention": "",
        "street": "Kerkstraat 1",
        "street2": "",
        "postal_code": "9000",
        "city": "Gent",
        "country_code": "BE",
        "email_address": "an@home.example",
        "phone_number": "0470123456",
        "delivery_address": None,
    }
    client_id = woo.post("clients", client)["client_id"]  # line 249
    # get_existing_client: by the user meta (line 267), by client number (line 274).
    existing = woo.get(f"clients/{client_id}")
    assert existing["client_id"] == client_id
    assert {k: existing[k] for k in client if k != "delivery_address"} == {
        k: v for k, v in client.items() if k != "delivery_address"
    }  # lines 224-227 compare these fields before updating
    number = existing["number"]
    assert [c["client_id"] for c in woo.get(f"clients?filter=number__eq__{number}")] == [client_id]
    woo.post(f"clients/{client_id}", {**client, "phone_number": "0470999999"})  # line 229
    # tax_rates (lines 328-339): the doubled api/v1, read as $taxes->taxes->tax1->rate.
    taxes = woo.get("api/v1/settings?fields=taxes")["taxes"]
    rates = [float(taxes[f"tax{i}"]["rate"]) for i in (1, 2, 3) if taxes[f"tax{i}"]["rate"] > 0]
    assert 21.0 in rates
    # build_document (lines 399-545) for an order whose prices include VAT, paid, 159.72 in all.
    document = {
        "client_id": client_id,
        "layout_id": 8001,
        "reference": "Order 101",
        "tax_included": True,
        "items": [
            {
                "description": "Hoodie",
                "amount": 49.59,
                "amount_with_tax": 60.0,
                "quantity": 2,
                "tax_rate": 21.0,
                "tax_rate_special_status": "",
                "general_ledger_account": "700000",
                "stockitem_code": "HOOD-1",
            },
            {
                "description": "Shipping Costs: bpost",
                "amount": "32.83",
                "amount_with_tax": 39.72,
                "quantity": 1,
                "tax_rate": 21.0,
                "tax_rate_special_status": "",
            },
        ],
        "payments": [{"remaining_amount": "yes", "description": "WooCommerce"}],
    }
    invoice_id = int(woo.post("invoices", document)["invoice_id"])  # lines 147, 160
    invoice = woo.get(f"invoices/{invoice_id}")  # line 174
    assert invoice["number"]  # line 177
    assert invoice["total_with_tax"] == "159.72"  # the order's total
    assert invoice["total_paid"] == "159.72"
    # A consumer order is mailed (line 190); a business order is sent by Peppol and e-mail (line 188).
    woo.post(f"invoices/{invoice_id}/sendemail", {"recipient": "main_contact"})
    business = woo.post("clients", {**client, "name": "IT Services BV", "tax_code": "BE0403019261"})["client_id"]
    other = int(woo.post("invoices", {**document, "client_id": business, "payments": []})["invoice_id"])
    woo.post(f"invoices/{other}/send", {"methods": {"peppol": [], "email": {"recipient": "main_contact"}}})


# --- the vendor's CLI tool -------------------------------------------------------------------------------------


class Tool:
    """apiclient.rb: every URL is "https://#{domain}/#{resource}" (lines 30, 35, 53, 82) and every resource
    starts with "/" (download.rb lines 164, 171, 184), so the path starts with "//". Headers (lines 12-17):
    X-API-Key, Content-Type and Accept json; a Hash body is form-encoded (line 70)."""

    def __init__(self, server: Server) -> None:
        self.domain = server.origin  # the tool's "domain" with the scheme the sandbox speaks
        self.http = httpx.Client(
            headers={"X-API-Key": server.key, "Content-Type": "application/json", "Accept": "application/json"}
        )

    def get(self, resource: str) -> Any:
        response = self.http.get(f"{self.domain}/{resource}")
        assert response.status_code == 200, response.text  # apiclient.rb line 38
        return response.json()

    def download(self, resource: str) -> tuple[bytes, str | None]:
        response = self.http.get(f"{self.domain}/{resource}")
        assert response.status_code == 200, response.text  # line 56
        match = re.search(r'filename="?(.+?)"?$', response.headers.get("content-disposition", ""))  # lines 58-61
        return response.content, match[1] if match else None

    def post(self, resource: str, content: dict[str, str]) -> Any:
        response = self.http.post(
            f"{self.domain}/{resource}",
            content="&".join(f"{k}={v}" for k, v in content.items()),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code in (200, 201), response.text  # line 85
        return response.json()


def test_vendor_tool_download_flow(server: Server) -> None:
    woo = Woo(server)
    client_id = woo.post("clients", {"name": "IT Services BV", "tax_code": "BE0403019261"})["client_id"]
    items = [{"description": "Consultancy", "amount": 95.0, "quantity": 8, "tax_rate": 21}]
    made = [int(woo.post("invoices", {"client_id": client_id, "items": items})["invoice_id"]) for _ in range(2)]
    today = woo.get(f"invoices/{made[0]}")["date"]
    month = today[:8]
    tool = Tool(server)
    # download.rb list (lines 147-164): format=json first, then filter with a trailing comma chopped.
    listing = f"/api/v1/invoices?format=json&filter=date__ge__{month}01,date__le__{month}31,tag__ne__accountant"
    documents = tool.get(listing)
    assert [d["invoice_id"] for d in documents] == made  # get_document_id, line 199
    for document, fmt in zip(documents, ("pdf", "peppol"), strict=True):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", document["date"])  # build_path, line 226
        # download (lines 168-172): file_format is pdf, ubl or peppol (line 10), sent as is (the ublbe and
        # peppolbis3 mapping compares file_type, so it never applies).
        content, filename = tool.download(f"/api/v1/invoices/{document['invoice_id']}?format={fmt}")
        assert filename
        assert filename.endswith(".pdf" if fmt == "pdf" else ".xml")
        if fmt == "pdf":
            text = pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()
            assert woo.get(f"invoices/{document['invoice_id']}")["number"] in text
        else:
            assert not validate(content).fatal
        # mark_sent_accountant (lines 182-193): form-encoded mark_as_sent=1, only "error" is read.
        result = tool.post(
            f"/api/v1/invoices/{document['invoice_id']}/sendaccountant?format=json", {"mark_as_sent": "1"}
        )
        assert "error" not in result
    # The README's "tag: not:accountant" makes the next run skip what was marked; "tag: accountant" finds it.
    assert tool.get(listing) == []
    marked = tool.get(f"/api/v1/invoices?format=json&filter=date__ge__{month}01,tag__eq__accountant")
    assert [d["invoice_id"] for d in marked] == made
    content, _ = tool.download(f"/api/v1/invoices/{made[0]}?format=ubl")
    assert not validate(content).fatal


# --- the 2017 Java client --------------------------------------------------------------------------------------


class Java:
    """efAPI.java: base https://eenvoudigfactureren.be/api/v1/ (line 82), preemptive Basic with the user's
    e-mail address and password (lines 152-165), every URL ends in ?format=json; POST and PUT send
    Content-Type application/json;charset=UTF-8 and Accept application/json (lines 588-589, 621-622)."""

    def __init__(self, server: Server) -> None:
        token = base64.b64encode(f"demo@eenvoudigfactureren.be:{server.key}".encode()).decode()
        self.base = f"{server.origin}/api/v1/"
        self.http = httpx.Client(headers={"Authorization": f"Basic {token}"})
        self.write = {"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"}

    def get(self, uri: str) -> Any:  # doHttpGet: anything but 200 throws (line 661)
        response = self.http.get(self.base + uri)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, uri: str, body: dict[str, Any]) -> Any:  # doHttpPost: anything but 201 throws (line 606)
        response = self.http.post(self.base + uri, content=json.dumps(body).encode(), headers=self.write)
        assert response.status_code == 201, response.text
        return response.json()

    def put(self, uri: str, body: dict[str, Any]) -> Any:  # doHttpPut: 200 (line 638)
        response = self.http.put(self.base + uri, content=json.dumps(body).encode(), headers=self.write)
        assert response.status_code == 200, response.text
        return response.json()


def _gson(data: dict[str, Any]) -> dict[str, Any]:
    """What Gson writes for a bean read from ``data``: nulls left out (efAPI getGson)."""
    return {k: v for k, v in data.items() if v is not None}


CLIENT_2017 = {  # the fields of json/client_good.txt that efClientsBean keeps
    "client_id": 0,
    "uri": "",
    "name": "FastPrinting CVBA",
    "street": "Kleinwaterstraat 29",
    "city": "Heerbergen",
    "postal_code": "1928",
    "country": "België",
    "tax_code": "BE 124.124.124",
    "email_address": "",
    "phone_number": "",
    "website": "http://www.fastprinting-cvba.be",
    "state": "active",
    "invoice_count": 4,
    "receipt_count": 1,
    "quote_count": 2,
    "contacts": [
        {"contact_id": 0, "client_id": 0, "uri": "", "contact_name": "Frederic Vancastelyn", "phone_number": "029"}
    ],
    "details": [],
}


def test_java_client_flow(server: Server) -> None:
    java = Java(server)
    # doPostClient (lines 400-436): ids zeroed, then "client created" and the client_id read back.
    created = java.post("clients?format=json", _gson(CLIENT_2017))
    assert created["success"] == "client created"
    client = java.get(f"clients/{created['client_id']}?format=json")  # getClientById, line 494
    for field in ("client_id", "uri", "name", "number", "state", "invoice_count", "contacts", "details"):
        assert field in client  # efClientsBean
    assert client["details"] == []
    assert client["contacts"][0]["contact_name"] == "Frederic Vancastelyn"
    listed = java.get("clients?format=json&sort=number")  # getClients, line 472
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    by_number = java.get(f"clients?format=json&filter=number={client['number']}")  # getClientByNumber, line 508
    assert len(by_number) == 1  # getClientsBeanFromJson keeps a one-item list
    updated = java.put(f"clients/{client['client_id']}?format=json", {**client, "name": "FastPrinting CV"})
    assert updated["success"] == "client updated"  # doPutClient, line 443
    # doPostInvoice (lines 198-243) with json/invoice_good.txt's invoice: two items, one payment.
    invoice = {
        "invoice_id": 0,
        "client_id": client["client_id"],
        "type": "invoice",
        "number": "2017-0001",
        "reference": "",
        "date": "2017-04-27",
        "date_delivery": "2017-04-27",
        "days_due": 14,
        "discount_percentage": 0,
        "currency": "EUR",
        "exchange_rate": 1.0,
        "show_tax_for_exchange_rate": "yes",
        "language": "dutch",
        "tax_calculation": "total",
        "items": [
            {
                "item_id": 0,
                "uri": "",
                "description": "Gewerkte uren",
                "amount": 30.0,
                "amount_with_tax": 0.0,
                "quantity": 20.0,
                "total_without_tax": 600.0,
                "tax_rate": 21.0,
                "total_with_tax": 726.0,
            },
            {
                "item_id": 0,
                "uri": "",
                "description": "Verplaatsingskosten (per km)",
                "amount": 1.0,
                "amount_with_tax": 0.0,
                "quantity": 45.0,
                "total_without_tax": 45.0,
                "tax_rate": 21.0,
                "total_with_tax": 54.45,
            },
        ],
        "total_with_tax": 780.45,
        "tags": [],
        "payments": [
            {
                "payment_id": 0,
                "invoice_id": 0,
                "uri": "",
                "date": "2017-05-04",
                "amount": 780.45,
                "description": "Betaald per overschrijving",
            }
        ],
        "remarks": [],
        "events": [],
    }
    result = java.post("invoices?format=json", invoice)
    assert result["success"] == "invoice created"  # line 238
    read = java.get(f"invoices/{result['invoice_id']}?format=json")  # getInvoice, line 256
    assert (read["total_with_tax"], read["total_paid"], read["status"]) == ("780.45", "780.45", "closed")
    assert isinstance(read["tags"], list)
    assert isinstance(read["events"], list)
    assert [p["amount"] for p in read["payments"]] == ["780.45"]
    newest = java.get("invoices?format=json&sort=-invoice_id")  # getInvoices, line 248
    assert newest[0]["invoice_id"] == result["invoice_id"]
    assert len(java.get("invoices?format=json&filter=number=2017-0001")) == 1  # getInvoiceByNumber, line 263
    blank = java.put(f"invoices/{read['invoice_id']}?format=json", {**read, "note": ""})  # doPutInvoice
    assert blank["success"] == "invoice updated"
    removed = java.http.delete(
        f"{java.base}clients/{java.post('clients?format=json', {'name': 'Tweede'})['client_id']}?format=json"
    )
    assert (removed.status_code, removed.json()["success"]) == (200, "client removed")  # deleteClientById


def coda_file(iban: str, movements: list[tuple[str, str]]) -> str:
    """A CODA statement (Febelfin, 128-character records) with credit movements of (amount, OGM)."""
    records = ["0" + "0000" + "011226" + "725" + "05" + " " * 7 + "EF SANDBOX".ljust(26)]
    records.append("1" + "2" + "001" + iban.ljust(34) + "EUR" + "0" + "0" * 15 + "011226" + "EF Sandbox BV".ljust(26))
    for number, (amount, ogm) in enumerate(movements, start=1):
        thousandths = str(int(Decimal(amount) * 1000)).rjust(15, "0")
        communication = "1" + "101" + ogm
        records.append(
            "21"
            + f"{number:04d}"
            + "0000"
            + "REF".ljust(21)
            + "0"
            + thousandths
            + "011226"
            + "00150000"
            + communication.ljust(54)
            + "011226"
            + "001"
            + "0"
            + " "
            + "0"
        )
    records.append("8" + "001" + iban.ljust(37) + "0" + "0" * 15 + "011226")
    records.append("9" + " " * 15 + f"{len(movements) + 2:06d}" + "0" * 15 + "0" * 15)
    return "\r\n".join(line.ljust(128) for line in records) + "\r\n"


def test_vendor_tool_coda_import_flow(server: Server) -> None:
    woo = Woo(server)
    client_id = woo.post("clients", {"name": "IT Services BV", "tax_code": "BE0403019261"})["client_id"]
    items = [{"description": "Consultancy", "amount": 95.0, "quantity": 8, "tax_rate": 21}]
    invoice_id = woo.post("invoices", {"client_id": client_id, "items": items})["invoice_id"]
    invoice = woo.get(f"invoices/{invoice_id}")
    content = coda_file(
        "BE71096123456769", [(invoice["total_with_tax"], invoice["structured_message"]), ("12.00", "000000000097")]
    )
    # importcoda.rb find_account (lines 101-116): ApiClient.new(@domain, nil).post('coda/parse', content):
    # no key, a String body (so the Content-Type stays json), URL "https://#{domain}/coda/parse".
    anonymous = httpx.Client(headers={"Content-Type": "application/json", "Accept": "application/json"})
    parsed = anonymous.post(f"{server.origin}/coda/parse", content=content.strip())
    assert parsed.status_code in (200, 201), parsed.text
    assert parsed.json()[0]["account"]["number"] == "BE71096123456769"
    # import_file (lines 118-121): the same body with the account's key.
    tool = Tool(server)
    imported = tool.http.post(f"{server.origin}/coda/import", content=content.strip())
    assert imported.status_code in (200, 201), imported.text
    result = imported.json()
    assert (result["transactions_success_count"], result["transactions_count"]) == (1, 2)
    assert woo.get(f"invoices/{invoice_id}")["status"] == "closed"
