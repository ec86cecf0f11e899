"""The shared sandbox kit: coercers name the field they refuse, windows cap the page, bodies are bounded,
nested records stay with their parent, and answers follow the provenance data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from invoicekit.sandbox import (
    ApiError,
    BodyError,
    FieldError,
    FieldErrors,
    MemoryStore,
    Nested,
    Provenance,
    Sandbox,
    UnlistedField,
    coerce_bool,
    coerce_date,
    coerce_decimal,
    coerce_int,
    coerce_str,
    enforces,
    page_window,
    read_form,
    read_json,
    served_json,
    serves,
    skip_take_window,
)

PROVENANCE = """
[provider]
name = "kit"

[[served]]
kind = "field"
name = "client.id"
source = "seed"
ref = "kit-api.txt"

[[served]]
kind = "field"
name = "client.name"
source = "seed"
ref = "kit-api.txt"

[[served]]
kind = "field"
name = "client.balance"
source = "assumed"
why = "a test"

[[served]]
kind = "refusal"
name = "client.name_blank"
source = "seed"
ref = "kit-api.txt"

[[served]]
kind = "refusal"
name = "client.name_taken"
source = "assumed"
why = "a test"

[[served]]
kind = "endpoint"
name = "DELETE /clients/{id}"
source = "assumed"
why = "a test"
"""


def test_coercers_read_what_clients_send_and_name_the_field_they_refuse() -> None:
    assert coerce_str("  Acme ", "name") == "Acme"
    assert coerce_str("   ", "name") is None
    assert coerce_int("2.0", "quantity") == 2
    assert coerce_int(7, "quantity") == 7
    assert coerce_decimal("1,50", "price") == Decimal("1.50")
    assert coerce_decimal(Decimal("123.97"), "price") == Decimal("123.97")
    assert coerce_bool("YES", "paid") is True
    assert coerce_bool(0, "paid") is False
    assert coerce_date("2026-12-01", "issue_date") == date(2026, 12, 1)
    assert coerce_date("31/03/2022", "issue_date", day_first=True) == date(2022, 3, 31)
    assert [coerce_int(blank, "x") for blank in (None, "", "  ")] == [None, None, None]

    refusals: list[tuple[Any, str]] = [
        (lambda: coerce_int("2.5", "quantity"), "quantity must be an integer"),
        (lambda: coerce_int(True, "quantity"), "quantity is not a number"),
        (lambda: coerce_decimal("1e999999", "price"), "price is out of range"),
        (lambda: coerce_decimal("NaN", "price"), "price is not a number"),
        (lambda: coerce_decimal("1.234", "price", places=2), "price has more than 2 decimals"),
        (lambda: coerce_int("150", "vat_rate", high=100), "vat_rate is out of range"),
        (lambda: coerce_bool("maybe", "paid"), "paid must be true or false"),
        (lambda: coerce_date("2026-02-30", "due_date"), "due_date is not a valid date"),
        (lambda: coerce_date("31/03/2022", "due_date"), "due_date is not a valid date"),
        (lambda: coerce_str({"a": 1}, "name"), "name must be text"),
        (lambda: coerce_str("x" * 11, "name", max_len=10), "name is too long (at most 10 characters)"),
    ]
    for call, message in refusals:
        with pytest.raises(FieldError) as caught:
            call()
        assert str(caught.value) == message


def test_field_errors_gather_every_refusal_of_a_request() -> None:
    errors = FieldErrors()
    assert errors.take(coerce_int, "3", "quantity") == 3
    assert errors.take(coerce_int, "three", "quantity") is None
    assert errors.take(coerce_decimal, "1.234", "price", places=2) is None
    assert bool(errors)
    assert errors.by_field == {"quantity": ["is not a number"], "price": ["has more than 2 decimals"]}


def test_windows_cap_the_page_and_refuse_nonsense() -> None:
    assert page_window(None, None, default=25, cap=100) == (w := page_window("1", "25", default=25, cap=100))
    assert (w.offset, w.limit) == (0, 25)
    third = page_window("3", "1000", default=25, cap=100)
    assert (third.offset, third.limit) == (200, 100)
    assert skip_take_window("10", None, default=50, cap=500).of(list(range(100))) == list(range(10, 60))
    with pytest.raises(FieldError, match="page is out of range"):
        page_window("0", None, default=25, cap=100)
    with pytest.raises(FieldError, match="take is not a number"):
        skip_take_window(None, "all", default=50, cap=500)


def test_nested_records_stay_with_their_parent() -> None:
    store = MemoryStore()
    contacts = Nested(store, "contacts", "client_id")
    first = contacts.add(1, {"name": "An"})
    contacts.add(2, {"name": "Bo"})
    contacts.add(1, {"name": "Cy"})
    assert [c["name"] for c in contacts.list(1)] == ["An", "Cy"]
    assert contacts.get(2, first["id"]) is None  # not this parent's
    assert contacts.delete(2, first["id"]) is False
    assert contacts.delete(1, first["id"]) is True
    assert contacts.delete_all(1) == 1
    assert contacts.list(1) == []
    assert [c["name"] for c in contacts.list(2)] == ["Bo"]


def _kit_sandbox(*, strict: bool = False) -> Sandbox:
    def app(sandbox: Sandbox) -> Starlette:
        async def create(request: Request) -> Response:
            try:
                data = await read_json(request, max_bytes=200)
                if not isinstance(data, dict):
                    raise ApiError(400, {"error": "send an object"})
                name = coerce_str(data.get("name"), "name")
            except BodyError as exc:
                return JSONResponse({"error": str(exc)}, status_code=413 if exc.too_large else 400)
            except FieldError as exc:
                return JSONResponse({"errors": {exc.field: [exc.message]}}, status_code=422)
            except ApiError as exc:
                return JSONResponse(exc.body, status_code=exc.status)
            record_id = sandbox.store.insert("clients", {"name": name, "balance": "0.00"})
            return served_json(sandbox, "client", sandbox.store.get("clients", record_id), 201)

        async def form(request: Request) -> Response:
            return JSONResponse(await read_form(request, max_bytes=1000, nested=True))

        return Starlette(routes=[Route("/clients", create, methods=["POST"]), Route("/form", form, methods=["POST"])])

    return Sandbox("kit", app, provenance=Provenance.from_toml(PROVENANCE), strict=strict)


def test_bodies_are_bounded_and_answers_follow_the_provenance() -> None:
    for strict, expected in ((False, {"id": 1, "name": "Acme", "balance": "0.00"}), (True, {"id": 1, "name": "Acme"})):
        box = _kit_sandbox(strict=strict)
        with httpx.Client(base_url="http://kit", transport=box.transport()) as http:
            ok = http.post("/clients", json={"name": "Acme"})
            assert (ok.status_code, ok.json()) == (201, expected)
            assert http.post("/clients", json={"name": "x" * 300}).status_code == 413
            assert http.post("/clients", content=b"{nope").json() == {"error": "the request body is not valid JSON"}
            assert http.post("/clients", json=[1]).json() == {"error": "send an object"}
            refused = http.post("/clients", json={"name": {"first": "A"}})
            assert (refused.status_code, refused.json()) == (422, {"errors": {"name": ["must be text"]}})
            form = http.post(
                "/form",
                content=b"client[name]=Acme&tags[]=a&tags[]=b",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert form.json() == {"client": {"name": "Acme"}, "tags": ["a", "b"]}


def test_enforces_and_serves_turn_assumed_entries_off_in_strict_mode_only() -> None:
    """The gates every provider's app asks before an assumed refusal or endpoint (providers keep no copy)."""
    for strict in (False, True):
        box = _kit_sandbox(strict=strict)
        assert enforces(box, "client.name_blank")
        assert enforces(box, "client.name_taken") is not strict
        assert serves(box, "endpoint", "DELETE /clients/{id}") is not strict
        assert serves(box, "field", "client.id")
    with pytest.raises(UnlistedField, match=r"refusal 'client\.unlisted'"):
        enforces(_kit_sandbox(strict=True), "client.unlisted")  # strict mode looks every name up
    plain = Sandbox("kit", lambda sandbox: Starlette())  # no provenance data: never strict, serves everything
    assert enforces(plain, "anything")
    assert serves(plain, "endpoint", "GET /anything")


ACME_PROVENANCE = """
[provider]
name = "acme"
""" + "".join(
    f'\n[[served]]\nkind = "field"\nname = "invoice.{field}"\nsource = "{source}"\n{extra}\n'
    for field, source, extra in [
        ("id", "seed", 'ref = "acme-api.txt"'),
        ("number", "seed", 'ref = "acme-api.txt"'),
        ("total", "seed", 'ref = "acme-api.txt"'),
        ("client", "assumed", 'why = "a test"'),
    ]
)


def _docstring_example() -> dict[str, Any]:
    import textwrap

    import invoicekit.sandbox

    doc = invoicekit.sandbox.__doc__ or ""
    start = doc.index("draws a document::") + len("draws a document::")
    end = doc.index("docs/plugin-authors.md")
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(doc[start:end]), namespace)  # noqa: S102 - our own docstring
    return namespace


@pytest.mark.parametrize("strict", [False, True])
def test_the_package_docstring_example_is_a_working_sandbox(strict: bool) -> None:
    example = _docstring_example()
    box = Sandbox("acme", example["acme_app"], provenance=Provenance.from_toml(ACME_PROVENANCE), strict=strict)
    with httpx.Client(base_url="http://acme", transport=box.transport()) as http:
        made = http.post("/invoices", json={"total": "121.00", "client": "Acme"})
        assert made.status_code == 201
        expected = {"id": 1, "number": "2026-0001", "total": "121.00"} | ({} if strict else {"client": "Acme"})
        assert made.json() == expected
        http.post("/invoices", json={"total": 10.5})
        assert [i["number"] for i in http.get("/invoices", params={"per_page": 1, "page": 2}).json()] == ["2026-0002"]
        refused = http.post("/invoices", json={"total": "1.234"})
        assert (refused.status_code, refused.json()) == (422, {"errors": {"total": ["has more than 2 decimals"]}})
        paid = http.post("/invoices/1/payments", json={"amount": "21.00"})
        assert (paid.status_code, paid.json()) == (201, {"amount": "21.00", "invoice_id": 1, "id": 1})
        assert http.post("/invoices/9/payments", json={"amount": "1"}).json() == {"error": "not found"}
