"""Issue 9 for EenvoudigFactureren: what the public clients showed the sandbox got wrong, and strict mode.

Each test names the public client or seed behind the behaviour it checks; the replays of whole client flows
are in test_ef_public_clients.py.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pypdf
import pytest
from invoicekit_eenvoudigfactureren.sandbox import create_sandbox
from test_ef_sandbox_wire import make_client, make_invoice

from invoicekit.sandbox import Provenance, Sandbox
from invoicekit.ubl import Layer, validate
from invoicekit.xmlsafe import parse_xml

TODAY = date(2026, 11, 2)
JSON = {"Accept": "application/json"}


def open_sandbox(*, strict: bool = False) -> Sandbox:
    return create_sandbox(today=lambda: TODAY, strict=strict)


@pytest.fixture(params=[False, True], ids=["assumed", "strict"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    box = open_sandbox(strict=request.param)
    yield box
    box.close()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": sandbox.credentials()["api_key"], **JSON}
    with httpx.Client(base_url=sandbox.base_url + "/api/v1", transport=sandbox.transport(), headers=headers) as c:
        yield c


# --- paths ---------------------------------------------------------------------------------------------------


def test_a_double_slash_before_api_is_the_same_path(sandbox: Sandbox, http: httpx.Client) -> None:
    # download.rb: "https://#{domain}/#{resource}" with resource "/api/v1/invoices?format=json..."
    make_client(http)
    response = http.get(sandbox.base_url + "//api/v1/clients?format=json")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["IT Services BV"]
    assert http.get(sandbox.base_url + "/api//v1//clients").status_code == 200
    assert http.get(sandbox.base_url + "/elders/clients").status_code == 404


def test_the_repeated_api_root_of_the_woocommerce_plugin(sandbox: Sandbox, http: httpx.Client) -> None:
    # generation.php tax_rates: $this->client->get('api/v1/settings?fields=taxes'), client.php prefixes /api/v1/.
    response = http.get(sandbox.base_url + "/api/v1/api/v1/settings?fields=taxes")
    assert response.status_code == 200
    assert response.json() == {"taxes": {"tax1": {"rate": 21}, "tax2": {"rate": 12}, "tax3": {"rate": 6}}}


# --- filters on tags, the accountant -----------------------------------------------------------------------


def test_tag_filters_and_marking_sent_to_the_accountant(http: httpx.Client) -> None:
    client = make_client(http)
    first, second = make_invoice(http, client), make_invoice(http, client)
    # download.rb mark_sent_accountant: form-encoded mark_as_sent=1, answer read for "error" only.
    marked = http.post(f"/invoices/{first}/sendaccountant?format=json", data={"mark_as_sent": "1"})
    assert marked.status_code == 200
    assert "error" not in marked.json()
    both = "date__ge__2026-11-01,date__le__2026-11-30"
    todo = http.get("/invoices", params={"format": "json", "filter": f"{both},tag__ne__accountant"}).json()
    assert [i["invoice_id"] for i in todo] == [second]
    done = http.get("/invoices", params={"format": "json", "filter": f"{both},tag__eq__accountant"}).json()
    assert [i["invoice_id"] for i in done] == [first]
    assert [t["name"] for t in done[0]["tags"]] == ["accountant"]  # hvierendeels/efAPI efTagsBean
    assert http.post(f"/invoices/{second}?send_accountant").status_code in (200, 404)  # assumed: off when strict


# --- prices including VAT ----------------------------------------------------------------------------------


def test_tax_included_takes_the_price_with_vat(http: httpx.Client) -> None:
    # generation.php build_document: amount = net / qty, amount_with_tax = gross / qty (each rounded to cents),
    # tax_included = $order->get_prices_include_tax(). The order: 2 x 60.00 + shipping 39.72 = 159.72.
    items = [
        {"description": "Hoodie", "amount": 49.59, "amount_with_tax": 60.0, "quantity": 2, "tax_rate": 21},
        {"description": "Verzending", "amount": 32.83, "amount_with_tax": 39.72, "quantity": 1, "tax_rate": 21},
    ]
    invoice = make_invoice(http, make_client(http), tax_included=True, items=items)
    data = http.get(f"/invoices/{invoice}").json()
    assert (data["total_with_tax"], data["total_without_tax"], data["total_tax_1"]) == ("159.72", "132.00", "27.72")
    # Without tax_included the net price counts, and amount_with_tax is ignored.
    net = make_invoice(http, make_client(http), items=items)
    assert http.get(f"/invoices/{net}").json()["total_with_tax"] == "159.73"


# --- downloads -----------------------------------------------------------------------------------------------


def test_pdf_download_is_a_real_pdf(http: httpx.Client) -> None:
    invoice = make_invoice(http, make_client(http))
    data = http.get(f"/invoices/{invoice}").json()
    response = http.get(f"/invoices/{invoice}", params={"format": "pdf"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    # apiclient.rb download: filename="?(.+?)"?$ from Content-Disposition.
    assert response.headers["content-disposition"] == f'attachment; filename="factuur-{data["number"]}.pdf"'
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    ogm = data["structured_message"]
    assert data["number"] in text
    assert "919.60" in text or "919,60" in text
    assert f"+++{ogm[:3]}/{ogm[3:7]}/{ogm[7:]}+++" in text


@pytest.mark.parametrize("fmt", ["peppolbis3", "peppol", "ublbe", "efff", "ubl"])
def test_xml_downloads_are_valid_peppol_ubl(sandbox: Sandbox, http: httpx.Client, fmt: str) -> None:
    invoice = make_invoice(http, make_client(http))
    response = http.get(f"/invoices/{invoice}", params={"format": fmt})
    if fmt != "peppolbis3" and fmt != "peppol" and fmt != "ubl" and sandbox.strict:
        pytest.skip(f"{fmt} is only named by EF's help page, no client downloads it")
    assert response.status_code == 200, response.text
    report = validate(response.content)
    assert not report.fatal, [str(f) for f in report.fatal]


UBL_CASES: dict[str, dict[str, Any]] = {
    "rates and a discount": {
        "discount_percentage": "5",
        "items": [
            {"description": "Consultancy", "amount": "95.00", "quantity": 8, "tax_rate": 21},
            {"description": "Boek", "amount": "19.99", "quantity": 3, "tax_rate": 6},
        ],
    },
    "prices with VAT": {
        "tax_included": "yes",
        "items": [
            {"description": "Hoodie", "amount_with_tax": "60.00", "quantity": 2, "tax_rate": 21},
            {"description": "Verzending", "amount_with_tax": "39.72", "quantity": 1, "tax_rate": 21},
        ],
    },
    "reverse charge": {
        "items": [{"description": "Werken", "amount": "1000", "tax_rate": 0, "tax_rate_special_status": "MC"}]
    },
    "intra-community": {
        "items": [{"description": "Goederen", "amount": "250", "tax_rate": 0, "tax_rate_special_status": "ICL"}]
    },
    "paid": {
        "items": [{"description": "Consultancy", "amount": "100", "tax_rate": 21}],
        "payments": [{"remaining_amount": "yes", "description": "WooCommerce"}],
    },
    "credit note": {"items": [{"description": "Terugbetaling", "amount": "-50.00", "quantity": 1, "tax_rate": 21}]},
}


@pytest.mark.parametrize("case", list(UBL_CASES))
def test_the_sandbox_ubl_passes_the_official_rules(http: httpx.Client, case: str) -> None:
    client = make_client(http, tax_code="NL123456782B01" if case == "intra-community" else "BE0403019261")
    invoice = make_invoice(http, client, **UBL_CASES[case])
    data = http.get(f"/invoices/{invoice}").json()
    response = http.get(f"/invoices/{invoice}", params={"format": "peppolbis3"})
    report = validate(response.content)
    assert not report.fatal, [str(f) for f in report.fatal]
    # The official schema always runs; the CEN and Peppol rules run where a rule pack is installed (CI).
    assert Layer.XSD in report.layers_run
    root = parse_xml(response.content)
    sign = -1 if data["type"] == "creditnote" else 1
    inclusive = Decimal(root.findtext(".//{*}LegalMonetaryTotal/{*}TaxInclusiveAmount") or "0")
    assert inclusive == Decimal(data["total_with_tax"]) * sign  # the UBL carries EF's own totals


# --- domains the public clients use -----------------------------------------------------------------------


def test_layouts_and_details(http: httpx.Client) -> None:
    # general-settings.php: foreach ($layouts as $value) $value->layout_id, $value->name
    assert http.get("/layouts").json() == [{"layout_id": 8001, "name": "Standaard"}]
    client = make_client(http)
    # hvierendeels/efAPI json/client_good.txt: "details":[] (efClientsBean.details).
    assert http.get(f"/clients/{client}").json()["details"] == []
    assert http.get(f"/clients/{client}/details").json() == []


def test_basic_authentication(sandbox: Sandbox) -> None:
    # EF help "Basic authentication"; hvierendeels/efAPI efAPI.java (UsernamePasswordCredentials).
    key = sandbox.credentials()["api_key"]
    with httpx.Client(base_url=sandbox.base_url + "/api/v1", transport=sandbox.transport()) as plain:
        token = base64.b64encode(f"demo@eenvoudigfactureren.be:{key}".encode()).decode()
        assert plain.get("/clients?format=json", headers={"Authorization": f"Basic {token}"}).status_code == 200
        wrong = base64.b64encode(b"demo@eenvoudigfactureren.be:demo").decode()
        refused = plain.get("/clients?format=json", headers={"Authorization": f"Basic {wrong}"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")


# --- seed 004 ------------------------------------------------------------------------------------------------


def test_seed_004_details(http: httpx.Client) -> None:
    client = make_client(
        http,
        tax_code="",
        country_code="JP",
        tax_code_registration_pending="yes",
        default_paymentrequest_layout_id=8001,  # the table's spelling is accepted
        default_customdocuments_layout_id=8001,
    )
    data = http.get(f"/clients/{client}").json()
    assert data["country"] == "Japan"  # any ISO code, not a list of 17
    assert data["tax_code_registration_pending"] == "yes"
    assert data["default_note_position"] == "top"  # "'top' (bovenaan toevoegen; standaard)"
    # The XML example's plural names are what EF answers.
    assert data["default_paymentrequests_layout_id"] == 8001
    assert data["default_customdocuments_layout_id"] == 8001
    assert "default_paymentrequest_layout_id" not in data
    http.post(f"/clients/{client}", json={"tax_code": "BE0403019261"})
    assert http.get(f"/clients/{client}").json()["tax_code_registration_pending"] == "no"
    by_name = make_client(http, country="Duitsland")
    assert http.get(f"/clients/{by_name}").json()["country_code"] == "DE"


# --- strict mode ---------------------------------------------------------------------------------------------


def test_strict_mode_serves_nothing_assumed() -> None:
    provenance = Provenance.load("invoicekit_eenvoudigfactureren")
    assumed_fields = {o.name for o in provenance.assumed() if o.kind == "field"}
    assert "payment.method" in assumed_fields
    for strict in (False, True):
        box = open_sandbox(strict=strict)
        headers = {"X-API-Key": box.credentials()["api_key"], **JSON}
        with httpx.Client(base_url=box.base_url + "/api/v1", transport=box.transport(), headers=headers) as http:
            client = make_client(http)
            invoice = make_invoice(http, client, payments=[{"amount": "10.00", "method": "cash"}])
            payment = http.get(f"/invoices/{invoice}/payments").json()[0]
            assert ("method" in payment) is not strict
            account = http.get("/accounts/current").json()
            assert set(account) == ({"number", "name"} if strict else set(account))
            # An assumed refusal is off: an unknown field is refused, or ignored in strict mode.
            unknown = http.post("/clients", json={"name": "X", "favourite_colour": "blue"})
            assert unknown.status_code == (201 if strict else 400)
            # An assumed endpoint is unknown.
            assert http.post("/clients?bulk", json=[{"name": "Y"}]).status_code == (404 if strict else 200)
        box.close()


def test_every_served_field_has_provenance() -> None:
    provenance = Provenance.load("invoicekit_eenvoudigfactureren")
    counts = {source: sum(1 for o in provenance if o.source == source) for source in ("seed", "client", "assumed")}
    assert all(counts.values())
    for origin in provenance:
        assert origin.ref or origin.why, origin
