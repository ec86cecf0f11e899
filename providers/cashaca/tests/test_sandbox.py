"""The Cashaca sandbox, spoken to with raw httpx exactly as the provider's docs describe the API."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from invoicekit_cashaca.sandbox import USERNAME, CashacaSandbox, create_sandbox

from invoicekit.belgium import format_ogm, ogm_from_reference, validate_ogm
from invoicekit.sandbox import FaultKind, FaultRule, SqliteStore, running

TODAY = date(2025, 6, 1)
BE_VAT = "BE0403019261"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^-?\d+\.\d{2,}$")


def new_sandbox(**options: Any) -> CashacaSandbox:
    box = create_sandbox(**options)
    assert isinstance(box, CashacaSandbox)
    box.today = lambda: TODAY
    return box


@pytest.fixture
def sandbox() -> Iterator[CashacaSandbox]:
    with new_sandbox() as box:
        yield box


@pytest.fixture
def api(sandbox: CashacaSandbox) -> Iterator[httpx.Client]:
    """A client that puts the token on every call, as Cashaca wants (POST and PUT included)."""
    with httpx.Client(
        base_url=f"{sandbox.base_url}/api/v2", transport=sandbox.transport(), params=sandbox.credentials()
    ) as client:
        yield client


def a_client(**fields: Any) -> dict[str, Any]:
    return {
        "type_id": 1,
        "name": "IT Services BV",
        "vat_number": BE_VAT,
        "street": "Langestraat 189",
        "postcode": "2000",
        "city": "Antwerpen",
        "country": "BE",
        "email": "boekhouding@it-services.example",
        **fields,
    }


def a_line(**fields: Any) -> dict[str, Any]:
    return {"description": "Consultancy", "number_skus": "8", "unit_price": "95.00", "vat_percentage": 21, **fields}


def invoice_body(client: dict[str, Any] | None = None, lines: Any = None, **invoice: Any) -> dict[str, Any]:
    return {
        "client": a_client() if client is None else client,
        "invoice": {
            "date": "2025-05-01",
            "payment_term": 30,
            "commercial_document_lines_attributes": [a_line()] if lines is None else lines,
            **invoice,
        },
        "sale": {"sales_type_id": 2},
    }


def create_invoice(api: httpx.Client, **kw: Any) -> dict[str, Any]:
    response = api.post("/invoices.json", json=invoice_body(**kw))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def pay(api: httpx.Client, sale_id: int, amount: str, **fields: Any) -> httpx.Response:
    body = {"financial_transaction": {"sale_id": sale_id, "date": "2025-05-20", "storage_id": 1, "amount": amount}}
    body["financial_transaction"].update(fields)
    return api.post("/financial_transactions.json", json=body)


# --- authentication --------------------------------------------------------------------------------------


def test_every_call_needs_the_token_in_the_query_string(sandbox: CashacaSandbox) -> None:
    token = sandbox.credentials()["token"]
    with httpx.Client(base_url=f"{sandbox.base_url}/api/v2", transport=sandbox.transport()) as raw:
        for response in (
            raw.get("/clients.json"),
            raw.get("/clients.json", params={"token": "wrong"}),
            raw.post("/clients.json", json={"client": a_client()}),
            raw.put("/clients/1.json", json={"client": {"name": "x"}}),
            # A token in a header does not count: Cashaca has no header authentication.
            raw.get("/clients.json", headers={"Authorization": f"Bearer {token}"}),
        ):
            assert response.status_code == 401
            assert isinstance(response.json()["error"], str)
        assert sandbox.store.all("clients") == []
        assert raw.get("/clients.json", params={"token": token}).status_code == 200
        assert raw.get("/api_tokens.json", params={"token": token}).json() == {"username": USERNAME}
        fresh = sandbox.issue_credentials()["token"]
        assert raw.get("/clients.json", params={"token": fresh}).status_code == 200
    assert token not in repr(sandbox)
    assert all(token not in path and "?" not in path for _, path in sandbox.request_log)


# --- clients ---------------------------------------------------------------------------------------------


def test_create_get_and_update_a_client(api: httpx.Client) -> None:
    created = api.post("/clients.json", json={"client": a_client(vat_number="0403.019.261", tel="03 123 45 67")})
    assert created.status_code == 201
    client = created.json()
    assert isinstance(client["id"], int)
    assert client["vat_number"] == client["btw_number"] == BE_VAT
    assert client["name"] == "IT Services BV"
    assert client["company_id"] == 1
    assert TIMESTAMP.match(client["created_at"])
    assert api.get(f"/clients/{client['id']}.json").json() == client

    updated = api.put(f"/clients/{client['id']}.json", json={"client": {"email": None, "city": "Berchem"}})
    assert updated.status_code == 200
    assert updated.json()["city"] == "Berchem"
    assert updated.json()["email"] is None
    assert updated.json()["name"] == "IT Services BV"  # every field is optional on update
    assert api.get(f"/clients/{client['id']}.json").json()["city"] == "Berchem"


def test_client_accepts_the_v1_btw_number(api: httpx.Client) -> None:
    body = a_client()
    body["btw_number"] = body.pop("vat_number")
    assert api.post("/clients.json", json={"client": body}).json()["vat_number"] == BE_VAT


def test_422_names_the_fields_rails_style(api: httpx.Client) -> None:
    response = api.post("/clients.json", json={"client": {"type_id": 7, "vat_number": "BE0403019262"}})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"type_id", "name", "vat_number"}
    assert errors["name"] == ["can't be blank"]
    assert errors["type_id"] == ["is not included in the list"]
    assert all(isinstance(messages, list) and messages for messages in errors.values())

    # Rails wraps an unwrapped JSON body in the resource name (stijn1989 posts clients that way).
    unwrapped = api.post("/clients.json", json={"name": "not wrapped"})
    assert unwrapped.status_code == 422
    assert unwrapped.json() == {"errors": {"type_id": ["can't be blank"]}}
    assert api.post("/clients.json", json={}).json() == {"errors": {"client": ["is missing"]}}
    assert api.put("/clients/999.json", json={"client": {"name": "x"}}).status_code == 404


def test_unknown_ids_and_routes_are_404(api: httpx.Client) -> None:
    for response in (
        api.get("/clients/999.json"),
        api.get("/invoices/999.json"),
        api.get("/credit_notes/999.json"),
        api.post("/invoices/999/send_to_peppol.json"),
        api.get("/clients/abc.json"),
        api.get("/no_such_thing.json"),
        api.delete("/clients/1.json"),  # nothing can be deleted
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "not found"}


def test_search_clients_by_part_of_the_name_and_phone(api: httpx.Client) -> None:
    api.post("/clients.json", json={"client": a_client(reference="shop-1001", tel="+32 3 123 45 67")})
    api.post("/clients.json", json={"client": a_client(name="Bakkerij Peeters", type_id=0, vat_number=None)})
    assert [c["name"] for c in api.get("/clients/search.json", params={"q": "bakkerij"}).json()] == ["Bakkerij Peeters"]
    assert len(api.get("/clients/search.json", params={"q": "services"}).json()) == 1
    # "by name or part of it" (stijn1989's docblock): the reference, VAT number or city do not match.
    for other in ("shop-1001", "0403019261", "Antwerpen"):
        assert api.get("/clients/search.json", params={"q": other}).json() == []
    assert len(api.get("/clients/search.json", params={"phone": "123 45 67"}).json()) == 1
    assert api.get("/clients/search.json", params={"q": "nobody"}).json() == []


@pytest.mark.parametrize(
    ("number", "valid"),
    [(BE_VAT, True), ("0403.019.261", True), ("BE0403019262", False), ("NL004495445B01", False), ("", False)],
)
def test_valid_be_vat_number(api: httpx.Client, number: str, valid: bool) -> None:
    response = api.get("/clients/valid_be_vat_number.json", params={"vat_number": number})
    assert response.json() == {"valid": valid}


# --- invoices --------------------------------------------------------------------------------------------


def test_create_invoice_books_a_sale_and_renders_plain_json(api: httpx.Client) -> None:
    lines = [
        a_line(),
        a_line(description="Book", number_skus=3, unit_price="19.99", vat_percentage="6"),
        a_line(description="Training", number_skus="1", unit_price="150", vat_percentage=0),
    ]
    response = api.post(
        "/invoices.json", json=invoice_body(lines=lines, po_number="PO-7", delivery_date="2025-04-30", pay_message=1)
    )
    assert response.status_code == 201
    invoice = response.json()
    assert invoice["serial_number"] == "2025_0001"
    assert (invoice["amount"], invoice["vat_amount"]) == ("969.97", "163.20")
    assert "paid_amount" not in invoice  # no source shows a paid amount on an invoice
    assert "reallocation_of_vat" not in invoice  # a sale field (seed 002), not an invoice field
    assert invoice["due_date"] == "2025-05-31"
    assert invoice["delivery_date"] == "2025-04-30"
    assert invoice["po_number"] == "PO-7"
    assert invoice["pay_message"] is True
    assert invoice["client"]["vat_number"] == BE_VAT
    assert invoice["client_id"] == invoice["client"]["id"]
    assert [line["row_order"] for line in invoice["commercial_document_lines"]] == [0, 1, 2]
    line = invoice["commercial_document_lines"][1]
    assert (line["number_skus"], line["unit_price"], line["vat_percentage"]) == ("3.00", "19.99", "6.00")
    assert line["commercial_document_id"] == invoice["id"]
    assert api.get(f"/invoices/{invoice['id']}.json").json() == invoice

    sale = api.get(f"/sales/{invoice['sale_id']}.json").json()
    assert sale["invoice_id"] == invoice["id"]
    assert (sale["amount_at_21"], sale["amount_at_6"], sale["amount_at_0"]) == ("760.00", "59.97", "150.00")
    assert_plain_json(invoice)


def assert_plain_json(value: Any, key: str = "") -> None:
    """Ids are ints, dates YYYY-MM-DD, timestamps ISO 8601, amounts strings: nothing a float could spoil."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert_plain_json(v, k)
    elif isinstance(value, list):
        for item in value:
            assert_plain_json(item, key)
    else:
        assert not isinstance(value, float), key
        if value is None:
            return
        if key == "id" or key.endswith("_id"):
            assert type(value) is int, key
        elif key.endswith("_at"):
            assert TIMESTAMP.match(value), key
        elif key in ("date", "due_date", "delivery_date"):
            assert DAY.match(value), key
        elif key in ("amount", "vat_amount", "paid_amount", "unit_price", "discount_amount"):
            assert MONEY.match(value), key


def test_vat_is_rounded_per_rate_over_the_total_not_per_line(api: httpx.Client) -> None:
    # Each line: 0.10 at 6 % = 0.006, which would round to 0.01 per line (0.03); over the total 0.018 -> 0.02.
    lines = [a_line(number_skus=1, unit_price="0.10", vat_percentage=6) for _ in range(3)]
    invoice = create_invoice(api, lines=lines)
    assert (invoice["amount"], invoice["vat_amount"]) == ("0.30", "0.02")


def test_document_discounts(api: httpx.Client) -> None:
    lines = [a_line(number_skus=1, unit_price="100", vat_percentage=21), a_line(unit_price="50", number_skus=1)]
    percent = create_invoice(api, lines=lines, discount_style_id=2, discount_percentage="10")
    assert (percent["amount"], percent["vat_amount"], percent["discount_amount"]) == ("135.00", "28.35", "15.00")
    assert percent["discount_percentage"] == "10.00"
    mixed = [
        a_line(number_skus=1, unit_price="100", vat_percentage=21),
        a_line(number_skus=1, unit_price="50", vat_percentage=6),
    ]
    fixed = create_invoice(api, lines=mixed, discount_style_id=1, discount_amount="30")
    # 30 spread pro rata: 20 off the 21 % base, 10 off the 6 % base.
    assert (fixed["amount"], fixed["vat_amount"], fixed["discount_amount"]) == ("120.00", "19.20", "30.00")
    too_much = api.post("/invoices.json", json=invoice_body(lines=mixed, discount_style_id=1, discount_amount="151"))
    assert "discount_amount" in too_much.json()["errors"]


def test_lines_as_array_or_rails_index_hash_and_v1_names(api: httpx.Client) -> None:
    as_list = create_invoice(api, lines=[a_line(), a_line(description="Extra", number_skus=1, unit_price="10")])
    as_hash = create_invoice(
        api,
        lines={"1": {"description": "Extra", "unit_price": "10", "btw_percentage": 21}, "0": a_line()},
    )
    global_rate = create_invoice(
        api,
        lines=[
            {"description": "Consultancy", "number_skus": 8, "unit_price": 95},
            {"description": "Extra", "unit_price": 10},
        ],
        btw_percentage=21,
    )
    for invoice in (as_hash, global_rate):
        assert (invoice["amount"], invoice["vat_amount"]) == (as_list["amount"], as_list["vat_amount"])
        assert [line["description"] for line in invoice["commercial_document_lines"]] == ["Consultancy", "Extra"]


def test_form_encoded_rails_params_work_too(api: httpx.Client) -> None:
    form = {
        "client[type_id]": "0",
        "client[name]": "Jan Peeters",
        "client[street]": "Dorp 1",
        "client[postcode]": "9000",
        "client[city]": "Gent",
        "invoice[date]": "2025-05-02",
        "invoice[commercial_document_lines_attributes][0][description]": "Repair",
        "invoice[commercial_document_lines_attributes][0][unit_price]": "100",
        "invoice[commercial_document_lines_attributes][0][vat_percentage]": "21",
        "sale[sales_type_id]": "2",
    }
    response = api.post(
        "/invoices.json", content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "100.00"
    assert response.json()["client"]["name"] == "Jan Peeters"


def test_invoice_validation_errors(api: httpx.Client) -> None:
    bad = api.post(
        "/invoices.json",
        json={
            "client": {"type_id": 9, "name": "X"},
            "invoice": {
                "date": "2025-02-30",
                "commercial_document_lines_attributes": [{"unit_price": "x", "vat_percentage": 7}],
            },
        },
    )
    assert bad.status_code == 422
    errors = bad.json()["errors"]
    assert {"type_id", "date"} <= set(errors)
    assert not {"street", "postcode", "city"} & set(errors)  # no address is required
    assert {
        "commercial_document_lines.description",
        "commercial_document_lines.unit_price",
        "commercial_document_lines.vat_percentage",
    } <= set(errors)
    assert errors["date"] == ["is not a valid date"]

    no_lines = api.post("/invoices.json", json=invoice_body(lines=[], date=None))
    assert no_lines.json()["errors"] == {"date": ["can't be blank"]}  # lines are optional (v1 page, maartendeblock)
    assert (
        api.post("/invoices.json", content=b"{not json", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    # A refused invoice leaves nothing behind: no client, no sale.
    assert api.get("/clients.json").json() == []
    assert api.get("/sales.json").json() == []


def test_inline_client_is_matched_by_id_vat_or_name_else_created(api: httpx.Client) -> None:
    first = create_invoice(api)
    by_vat = create_invoice(api, client=a_client(name="IT Services (renamed on the invoice)"))
    assert by_vat["client_id"] == first["client_id"]
    assert by_vat["client_name"] == "IT Services (renamed on the invoice)"  # the document keeps its snapshot
    assert by_vat["client"]["name"] == "IT Services BV"  # the stored client is untouched
    by_id = create_invoice(api, client={"id": first["client_id"]})
    assert by_id["client_id"] == first["client_id"]
    assert by_id["client_address1"] == "Langestraat 189"
    person = {"type_id": 0, "name": "Jan Peeters", "street": "Dorp 1", "postcode": "9000", "city": "Gent"}
    new = create_invoice(api, client=person)
    by_name = create_invoice(api, client={**person, "name": "JAN PEETERS"})
    assert new["client_id"] != first["client_id"]
    assert by_name["client_id"] == new["client_id"]
    assert len(api.get("/clients.json").json()) == 2
    unknown = api.post("/invoices.json", json=invoice_body(client={"id": 999}))
    assert unknown.json()["errors"] == {"client_id": ["does not exist"]}


def test_serial_numbers_per_year_duplicates_and_the_bare_next_number(
    api: httpx.Client, sandbox: CashacaSandbox
) -> None:
    next_number = api.get("/next_invoice_serial_number.json")
    assert next_number.text == '"2025_0001"'  # a bare JSON string, not an object
    assert next_number.json() == "2025_0001"
    assert create_invoice(api)["serial_number"] == "2025_0001"
    assert create_invoice(api, date="2025-12-31")["serial_number"] == "2025_0002"
    assert create_invoice(api, date="2024-12-31")["serial_number"] == "2024_0001"
    assert api.get("/next_invoice_serial_number.json").json() == "2025_0003"
    assert create_invoice(api, serial_number="2025_0041")["serial_number"] == "2025_0041"
    assert create_invoice(api)["serial_number"] == "2025_0042"  # a hand-picked number moves the series on

    duplicate = api.post("/invoices.json", json=invoice_body(serial_number="2025_0041"))
    assert duplicate.status_code == 422
    assert duplicate.json() == {"errors": {"serial_number": ["has already been taken"]}}

    create_invoice(api, serial_number="L-0249")
    assert api.get("/next_invoice_serial_number.json").json() == "L-0250"  # follows the last booked number
    sandbox.today = lambda: date(2026, 1, 2)
    create_invoice(api, date="2026-01-02")
    assert api.get("/next_invoice_serial_number.json").json() == "2026_0002"


def test_concurrent_creates_get_distinct_numbers(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    numbers: list[str] = []

    def work() -> None:
        with httpx.Client(base_url=api.base_url, transport=sandbox.transport(), params=sandbox.credentials()) as own:
            for _ in range(5):
                numbers.append(create_invoice(own)["serial_number"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"2025_{n:04d}" for n in range(1, 21)]


def test_ogm_is_built_from_the_number_and_shown_formatted(api: httpx.Client) -> None:
    invoice = create_invoice(api)
    assert invoice["ogm"] == format_ogm(ogm_from_reference("2025_0001")) == "+++002/0250/00187+++"
    assert len(validate_ogm(invoice["ogm"])) == 12
    own = create_invoice(api, ogm="010806817183")
    assert own["ogm"] == "+++010/8068/17183+++"
    bad = api.post("/invoices.json", json=invoice_body(ogm="010806817184"))
    assert list(bad.json()["errors"]) == ["ogm"]
    proposal = api.get("/proposed_invoice_ogm.json", params={"serial_number": "2025_0108"})
    # An object: maartendeblock types the answer as an array (its key names are assumed).
    assert proposal.json() == {"ogm": format_ogm(ogm_from_reference("2025_0108")), "serial_number": "2025_0108"}


def test_paging_250_invoices_over_3_pages(api: httpx.Client) -> None:
    for i in range(250):
        create_invoice(api, serial_number=f"P-{i:04d}")
    for size_param in ("per_page", "per_age"):
        seen: list[int] = []
        sizes = []
        for page in (1, 2, 3):
            batch = api.get("/invoices.json", params={"page": page, size_param: 100}).json()
            assert isinstance(batch, list)  # a bare array: no count, no links
            sizes.append(len(batch))
            seen += [invoice["id"] for invoice in batch]
        assert sizes == [100, 100, 50]
        assert seen == list(range(1, 251))
    assert len(api.get("/invoices.json").json()) == 100  # 100 per page by default
    assert len(api.get("/invoices.json", params={"per_page": 500}).json()) == 100  # and never more
    assert [i["id"] for i in api.get("/invoices.json", params={"page": 9, "per_age": 30}).json()] == list(
        range(241, 251)
    )
    assert api.get("/invoices.json", params={"page": 4}).json() == []
    assert api.get("/invoices.json", params={"page": "two"}).json() == {"errors": {"page": ["is not a number"]}}


# --- payments and unpaid ---------------------------------------------------------------------------------


def test_unpaid_until_the_payments_reach_the_total(api: httpx.Client) -> None:
    invoice = create_invoice(api, lines=[a_line(number_skus=1, unit_price="100")])  # 121.00 incl. VAT
    other = create_invoice(api)
    assert [i["id"] for i in api.get("/invoices/unpaid.json").json()] == [invoice["id"], other["id"]]

    partial = pay(api, invoice["sale_id"], "50", description="first part")
    assert partial.status_code == 201
    payment = partial.json()
    assert (payment["amount"], payment["sale_id"], payment["storage_id"]) == ("50.00", invoice["sale_id"], 1)
    assert isinstance(payment["id"], int)
    assert invoice["id"] in [i["id"] for i in api.get("/invoices/unpaid.json").json()]

    assert pay(api, invoice["sale_id"], "71.00").status_code == 201
    assert [i["id"] for i in api.get("/invoices/unpaid.json").json()] == [other["id"]]


def test_unpaid_is_paged_like_other_lists(api: httpx.Client) -> None:
    for i in range(105):
        create_invoice(api, serial_number=f"U-{i:03d}", lines=[a_line(number_skus=1, unit_price="1")])
    assert pay(api, 1, "1.21").status_code == 201
    first, second = (api.get("/invoices/unpaid.json", params={"page": p}).json() for p in (1, 2))
    assert (len(first), len(second)) == (100, 4)
    assert first[0]["id"] == 2


def test_financial_transaction_validation(api: httpx.Client) -> None:
    invoice = create_invoice(api)
    assert pay(api, 999, "10").json() == {"errors": {"sale_id": ["does not exist"]}}
    assert pay(api, invoice["sale_id"], "10", storage_id=42).json() == {"errors": {"storage_id": ["does not exist"]}}
    for amount in ("0", "-5"):
        assert pay(api, invoice["sale_id"], amount).json() == {"errors": {"amount": ["must be greater than 0"]}}
    assert pay(api, invoice["sale_id"], "ten").json() == {"errors": {"amount": ["is not a number"]}}
    empty = api.post("/financial_transactions.json", json={"financial_transaction": {}})
    assert set(empty.json()["errors"]) == {"sale_id", "storage_id", "amount", "date"}
    assert invoice["id"] in [i["id"] for i in api.get("/invoices/unpaid.json").json()]


def test_two_money_accounts_are_seeded(api: httpx.Client) -> None:
    accounts = api.get("/money_accounts.json").json()
    assert [a["id"] for a in accounts] == [1, 2]
    assert [a["account_type"] for a in accounts] == ["bank", "cash"]


# --- sending ---------------------------------------------------------------------------------------------


def test_peppol_needs_a_vat_number_of_any_country(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    person = create_invoice(api, client={"type_id": 0, "name": "Jan Peeters"})
    refused = api.post(f"/invoices/{person['id']}/send_to_peppol.json")
    assert refused.status_code == 422
    assert list(refused.json()["errors"]) == ["vat_number"]
    assert sandbox.store.all("deliveries") == []
    # No source limits Peppol to Belgian numbers (maartendeblock maps 31 countries to participant ids).
    dutch = create_invoice(api, client=a_client(type_id=2, name="Dutch BV", vat_number="NL004495445B01"))
    assert api.post(f"/invoices/{dutch['id']}/send_to_peppol.json").status_code == 200

    company = create_invoice(api)
    sent = api.post(f"/invoices/{company['id']}/send_to_peppol.json")  # no body at all
    assert sent.status_code == 200
    delivery = sandbox.store.all("deliveries")[1]
    assert (delivery["channel"], delivery["document_id"], delivery["receiver"]) == (
        "peppol",
        company["id"],
        "0208:0403019261",
    )
    after = api.get(f"/invoices/{company['id']}.json").json()
    assert TIMESTAMP.match(after["last_send"])
    assert after["status_id"] == 2


def test_send_by_email_needs_to(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    invoice = create_invoice(api)
    assert api.post(f"/invoices/{invoice['id']}/send_by_email.json", json={}).json() == {
        "errors": {"to": ["can't be blank"]}
    }
    assert "to" in api.post(f"/invoices/{invoice['id']}/send_by_email.json", json={"to": "nope"}).json()["errors"]
    sent = api.post(f"/invoices/{invoice['id']}/send_by_email.json", json={"to": "a@b.example", "attach_xml": 1})
    assert sent.status_code == 200
    assert [(d["channel"], d["to"], d["attach_xml"]) for d in sandbox.store.all("deliveries")] == [
        ("email", "a@b.example", 1)
    ]


# --- credit notes ----------------------------------------------------------------------------------------


def test_credit_notes_reference_the_invoice_they_correct(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    invoice = create_invoice(api)
    assert api.get("/next_credit_note_serial_number.json").json() == "2025_0001"
    body = {
        "client": a_client(),
        "credit_note": {
            "serial_number": "2025_0001",
            "date": "2025-05-10",
            "reference": invoice["serial_number"],
            "commercial_document_lines_attributes": [a_line(number_skus=1)],
        },
    }
    created = api.post("/credit_notes.json", json=body)
    assert created.status_code == 201, created.text
    note = created.json()
    assert (note["reference"], note["amount"], note["vat_amount"]) == ("2025_0001", "95.00", "19.95")
    assert note["ogm"] is None
    assert api.get(f"/credit_notes/{note['id']}.json").json() == note
    assert [n["id"] for n in api.get("/credit_notes.json").json()] == [note["id"]]
    assert api.get(f"/sales/{note['sale_id']}.json").json()["amount"] == "-95.00"
    assert api.get("/next_credit_note_serial_number.json").json() == "2025_0002"
    # A credit note does not pay the invoice: that takes a payment.
    assert invoice["id"] in [i["id"] for i in api.get("/invoices/unpaid.json").json()]

    unknown = api.post(
        "/credit_notes.json",
        json={**body, "credit_note": {**body["credit_note"], "serial_number": "2025_0002", "reference": "2099_0001"}},
    )
    assert unknown.status_code == 422
    assert list(unknown.json()["errors"]) == ["reference"]
    no_number = api.post(
        "/credit_notes.json", json={**body, "credit_note": {**body["credit_note"], "serial_number": None}}
    )
    assert no_number.json()["errors"] == {"serial_number": ["can't be blank"]}
    assert api.post(f"/credit_notes/{note['id']}/send_to_peppol.json").status_code == 200
    assert api.post(f"/credit_notes/{note['id']}/send_by_email.json", json={"to": "a@b.example"}).status_code == 200
    assert [d["document_type"] for d in sandbox.store.all("deliveries")] == ["credit_note", "credit_note"]


# --- small lookups ---------------------------------------------------------------------------------------


def test_vat_rates_per_country(api: httpx.Client) -> None:
    assert api.get("/vat_rates.json", params={"country": "NL"}).json() == ["21.00", "9.00"]
    assert api.get("/vat_rates.json", params={"country": "be"}).json() == ["21.00", "12.00", "6.00", "0.00"]
    assert api.get("/vat_rates.json", params={"country": "US"}).status_code == 422


# --- state, faults and a real server ---------------------------------------------------------------------


def test_state_and_token_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "cashaca.db")
    first = new_sandbox(store=store)
    credentials = first.credentials()
    with httpx.Client(base_url=f"{first.base_url}/api/v2", transport=first.transport(), params=credentials) as api:
        invoice = create_invoice(api)
    store.close()

    store = SqliteStore(tmp_path / "cashaca.db")
    again = new_sandbox(store=store)
    assert again.credentials() == credentials
    with httpx.Client(base_url=f"{again.base_url}/api/v2", transport=again.transport(), params=credentials) as api:
        assert api.get(f"/invoices/{invoice['id']}.json").json()["serial_number"] == "2025_0001"
        assert len(api.get("/money_accounts.json").json()) == 2  # seeded once, not on every start
        assert create_invoice(api)["serial_number"] == "2025_0002"
    store.close()


def test_a_dropped_create_is_still_committed(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    sandbox.faults.add(FaultRule.drop_after_commit(method="POST", path="/api/v2/invoices.json", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/invoices.json", json=invoice_body(serial_number="LOST-1"))
    assert [i["serial_number"] for i in api.get("/invoices.json").json()] == ["LOST-1"]
    assert sandbox.request_log[0].fault is FaultKind.DROP_AFTER_COMMIT


def test_over_a_real_uvicorn_server_with_httpx_and_curl() -> None:
    with new_sandbox() as box, running(box, host="127.0.0.1") as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        token = box.credentials()["token"]
        with httpx.Client(base_url=f"{base_url}/api/v2", params={"token": token}) as http:
            created = http.post("/clients.json", json={"client": a_client()})
            assert created.status_code == 201
            assert http.get("/clients.json").json() == [created.json()]
            assert http.get("/next_invoice_serial_number.json").json() == "2025_0001"
            assert http.get("/clients.json", params={"token": "wrong"}).status_code == 401
        example = box.curl_example(base_url)
        assert example == f'curl -s "{base_url}/api/v2/clients.json?token={token}"'
        curl = shutil.which("curl")
        if curl is not None:
            output = subprocess.run(  # noqa: S603 (curl from PATH, a fixed loopback URL)
                [curl, "-s", f"{base_url}/api/v2/clients.json?token={token}"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            assert '"name":"IT Services BV"' in output
            assert output.startswith("[")


# --- faithful to the sources (issue 9) -------------------------------------------------------------------


def test_rails_squeezes_slashes_and_takes_paths_without_json(api: httpx.Client, sandbox: CashacaSandbox) -> None:
    created = api.post("/clients.json", json={"client": a_client()}).json()
    transport = sandbox.transport()
    with httpx.Client(base_url=sandbox.base_url, transport=transport, params=sandbox.credentials()) as raw:
        for path in (
            f"/api/v2//clients/{created['id']}.json",
            f"/api/v2/clients/{created['id']}",
            "//api/v2/api_tokens",
        ):
            request = raw.build_request("GET", "/")
            request.url = request.url.copy_with(raw_path=(path + "?token=" + sandbox.credentials()["token"]).encode())
            response = raw.send(request)
            assert response.status_code == 200, path
    assert api.get("/no_such_thing").status_code == 404


def test_an_unwrapped_client_body_is_wrapped_like_rails(api: httpx.Client) -> None:
    created = api.post("/clients.json", json={"type_id": 1, "name": "Unwrapped BV", "vat_number": "0670.448.261"})
    assert created.status_code == 201
    assert (created.json()["name"], created.json()["vat_number"]) == ("Unwrapped BV", "BE0670448261")
    updated = api.put(f"/clients/{created.json()['id']}.json", json={"name": "Unwrapped NV"})
    assert updated.json()["name"] == "Unwrapped NV"
    # A form body is not wrapped (wrap_parameters is for JSON).
    form = api.post("/clients.json", data={"name": "x", "type_id": "0"})
    assert form.json() == {"errors": {"client": ["is missing"]}}


def test_a_consumer_invoice_needs_no_address(api: httpx.Client) -> None:
    invoice = create_invoice(api, client={"type_id": 0, "name": "Marie Dubois", "email": "marie@example.be"})
    assert invoice["client"]["street"] is None


def test_totals_are_the_sandboxs_own_arithmetic(api: httpx.Client) -> None:
    # Line nets rounded half up to the cent before they are added (0.125 -> 0.13, three times), VAT once per
    # rate on the rate's total: 0.39 at 21 % = 0.0819 -> 0.08.
    lines = [a_line(number_skus="1", unit_price="0.125") for _ in range(3)]
    invoice = create_invoice(api, lines=lines)
    assert (invoice["amount"], invoice["vat_amount"]) == ("0.39", "0.08")
    # A percentage discount comes off each rate, rounded per rate: 10 % of 33.33 (21 %) and of 16.67 (6 %).
    mixed = [
        a_line(number_skus="1", unit_price="33.33"),
        a_line(number_skus="1", unit_price="16.67", vat_percentage=6),
    ]
    discounted = create_invoice(api, lines=mixed, discount_style_id=2, discount_percentage="10")
    assert (discounted["discount_amount"], discounted["amount"]) == ("5.00", "45.00")
    assert discounted["vat_amount"] == "7.20"  # 30.00 * 21 % = 6.30 and 15.00 * 6 % = 0.90


def test_the_sandbox_never_uses_invoicekits_totals_engine() -> None:
    import ast
    from pathlib import Path

    import invoicekit_cashaca

    package = Path(invoicekit_cashaca.__file__).parent
    for module in package.glob("_sandbox*.py"):
        tree = ast.parse(module.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in imported if m.startswith(("invoicekit.model", "invoicekit.ubl"))}, module.name


def test_seed_000_endpoints_are_served(api: httpx.Client) -> None:
    for path in (
        "/recurrent_schedules.json",
        "/sales.json",
        "/country_names.json",
        "/units.json",
        "/skus.json",
        "/sales_categories.json",
        "/projects.json",
        "/quotations.json",
    ):
        assert isinstance(api.get(path).json(), list), path
    assert isinstance(api.get("/next_quotation_serial_number.json").json(), str)
    sale = api.post(
        "/sales.json",
        json={
            "client": {"type_id": 4, "name": "Klaus"},
            "sale": {"date": "2025-05-01", "sales_type_id": 3, "amount_at_21": "10"},
        },
    )
    assert (sale.status_code, sale.json()["vat_amount"]) == (201, "2.10")
    assert [s["id"] for s in api.get("/sales/search.json", params={"q": "klaus"}).json()] == [sale.json()["id"]]
    abroad = api.post("/sales.json", json={"client": {"type_id": 3, "name": "US Inc"}, "sale": {"date": "2025-05-01"}})
    assert abroad.json() == {"errors": {"sales_type_id": ["can't be blank for a client outside Belgium"]}}  # seed 002
    body = invoice_body(client={"type_id": 4, "name": "Klaus"}, lines=[a_line(vat_percentage=19)])
    oss = api.post("/invoices.json", json={**body, "sale": {"sales_type_id": 3}}).json()
    assert oss["commercial_document_lines"][0]["vat_percentage"] == "19.00"  # a German rate on an OSS sale


def test_strict_mode_serves_only_what_the_sources_show() -> None:
    with (
        new_sandbox(strict=True) as box,
        httpx.Client(base_url=f"{box.base_url}/api/v2", transport=box.transport(), params=box.credentials()) as strict,
    ):
        invoice = create_invoice(strict)
        assert "discount_style_id" not in invoice  # assumed field: left out
        assert {"serial_number", "client"} <= set(invoice)  # observed fields stay
        payment = pay(strict, invoice["sale_id"], "10")
        assert (payment.status_code, payment.json()) == (201, {})  # the answer's fields are all assumed
        # Assumed refusals are off: a duplicate serial number and a non-Belgian rate outside OSS are taken.
        assert (
            strict.post("/invoices.json", json=invoice_body(serial_number=invoice["serial_number"])).status_code == 201
        )
        assert create_invoice(strict, lines=[a_line(vat_percentage=19)])["id"]
        # Documented refusals stay on.
        refused = strict.post("/clients.json", json={"client": {"name": "x", "type_id": 9}})
        assert refused.json() == {"errors": {"type_id": ["is not included in the list"]}}
        # Assumed endpoints answer as unknown routes.
        assert strict.patch("/clients/1.json", json={"client": {"name": "y"}}).status_code == 404
    with (
        new_sandbox() as box,
        httpx.Client(base_url=f"{box.base_url}/api/v2", transport=box.transport(), params=box.credentials()) as assumed,
    ):
        assert "discount_style_id" in create_invoice(assumed)
        assert assumed.patch("/clients/1.json", json={"client": {"name": "y"}}).status_code in (200, 404)


def test_every_served_field_is_listed_with_its_origin() -> None:
    from invoicekit_cashaca.sandbox import PROVENANCE

    sources = {origin.source for origin in PROVENANCE}
    assert sources == {"seed", "client", "assumed"}
    for origin in PROVENANCE:
        if origin.source == "seed":
            assert origin.ref.split("#")[0] in {
                "cashaca-api-v2-endpoints.txt",
                "cashaca-api-v2-sales.txt",
                "cashaca-api-v1-invoice-create.txt",
            }, origin
    # Nothing documents paid_amount or an invoice's reallocation_of_vat: they are not served at all.
    assert PROVENANCE.get("field", "invoice.paid_amount") is None
    assert PROVENANCE.get("field", "invoice.reallocation_of_vat") is None
