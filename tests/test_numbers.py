"""Numbers no invoice holds (1e30, 1e999999, NaN, Infinity, ...) are a typed invoicekit error: a
ValidationError naming the field in model input, a ValidationError or MalformedResponse in a provider's
answer; never decimal.InvalidOperation, OverflowError or RecursionError. And every amount the model accepts
can be totalled."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import invoicekit
from invoicekit import Address, AllowanceCharge, Client, Invoice, InvoiceRow, Payment
from invoicekit.errors import InvoicekitError, ValidationError
from invoicekit.hooks import hookimpl
from invoicekit.model import NeutralModel
from invoicekit.model._base import MAX_AMOUNT_DECIMALS, MAX_AMOUNT_DIGITS, provider_context
from invoicekit.testing import run_books

HOSTILE: list[Any] = [
    "1e30",
    "1e999999",
    "-1e999999",
    "1e99999999999999999999",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    10**30,
    -(10**10),
    Decimal("1e30"),
    Decimal("1e999999"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    "9" * 5000,
    "0." + "0" * 40 + "1",
    "0E+999999",
]

CLIENT = Client(name="IT Services BV")


def row(**kw: Any) -> InvoiceRow:
    return InvoiceRow(**{"description": "Works", "unit_price": "10", "vat_rate": 21, **kw})


BUILDERS: dict[str, Callable[[Any], NeutralModel]] = {
    "quantity": lambda v: row(quantity=v),
    "unit_price": lambda v: row(unit_price=v),
    "vat_rate": lambda v: row(vat_rate=v),
    "discount_percent": lambda v: row(discount_percent=v),
    "amount": lambda v: AllowanceCharge(amount=v, reason="Shipping", vat_rate=21),
    "paid_amount": lambda v: Invoice(issue_date="2026-11-30", client=CLIENT, rows=[row()], paid_amount=v),
    "discount_percent ": lambda v: Invoice(issue_date="2026-11-30", client=CLIENT, rows=[row()], discount_percent=v),
    "amount ": lambda v: Payment(invoice_id="1", date="2026-11-30", amount=v),
}


@pytest.mark.parametrize("from_provider", [False, True], ids=["input", "provider-data"])
@pytest.mark.parametrize("field", list(BUILDERS))
@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:24] for v in HOSTILE])
def test_hostile_numbers_are_a_validation_error_naming_the_field(field: str, value: Any, from_provider: bool) -> None:
    build = BUILDERS[field]
    with provider_context() if from_provider else nullcontext(), pytest.raises(ValidationError) as caught:
        build(value)
    assert caught.value.fields == (field.strip(),)


def test_the_largest_accepted_amounts_total_without_error() -> None:
    top = Decimal(10**MAX_AMOUNT_DIGITS) - Decimal("0.01")
    rows = [row(quantity=top, unit_price=top, discount_percent="0.01") for _ in range(1000)]
    invoice = Invoice(issue_date="2026-11-30", client=CLIENT, rows=rows, discount_percent="33.33")
    assert invoice.totals.payable > 0
    with pytest.raises(ValidationError):
        row(quantity=top + Decimal("0.01"))


amounts = st.decimals(
    min_value=-(Decimal(10**MAX_AMOUNT_DIGITS) - 1), max_value=Decimal(10**MAX_AMOUNT_DIGITS) - 1, places=6
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, st.decimals(0, 100, places=2)), min_size=1, max_size=30))
def test_any_accepted_amounts_total_without_error(lines: list[tuple[Decimal, Decimal, Decimal]]) -> None:
    rows = [row(quantity=q, unit_price=p, vat_rate=r or 6) for q, p, r in lines]
    invoice = Invoice(issue_date="2026-11-30", client=CLIENT, rows=rows)
    totals = invoice.totals
    assert totals.payable == totals.tax_inclusive


# --- provider answers: each number of a real answer replaced by a hostile one ----------------------------------

LITERALS = ["1e30", "1e999999", "-1e999999", "NaN", "Infinity", "-Infinity", '"1e30"', '"1e999999"', '"NaN"', '"sNaN"']
MARK = "\u2603hostile\u2603"


def numeric_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where ``data`` holds a number, or a string that reads as one."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from numeric_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from numeric_paths(value, (*path, index))
    elif isinstance(data, int | float | Decimal) and not isinstance(data, bool):
        yield path
    elif isinstance(data, str):
        try:
            Decimal(data)
        except ArithmeticError:
            return
        yield path


def with_literal(data: Any, path: tuple[Any, ...], literal: str) -> bytes:
    copy = json.loads(json.dumps(data))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = MARK
    return json.dumps(copy).replace(json.dumps(MARK), literal).encode()


class Capture:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    @hookimpl
    def invoicekit_after_response(self, provider: str, request: httpx.Request, response: httpx.Response) -> None:
        self.bodies[request.url.path] = response.content


@pytest.fixture(scope="module")
def cashaca_answers() -> dict[str, Any]:
    """The sandbox's real answers to a client and an invoice read, as data."""
    from invoicekit.sandbox import create_sandbox

    box = create_sandbox("cashaca")
    capture = Capture()
    address = Address(street="Langestraat 189", postal_code="2000", city="Antwerpen")
    client = Client(name="IT Services BV", vat_number="BE0403019261", address=address)
    rows = [
        InvoiceRow(description="Consultancy", quantity=8, unit_price="95.00", vat_rate=21),
        InvoiceRow(description="Training", unit_price="150", vat_rate=0, vat_category="E", exemption_reason="Art. 44"),
    ]
    with invoicekit.connect("cashaca", sandbox=box, plugins=[capture]) as books:
        invoice = books.invoices.create(Invoice(issue_date="2026-11-30", client=client, rows=rows, discount_percent=5))
        books.invoices.get(invoice.provider_id or "")
        books.clients.get(invoice.client.provider_id or "")
    box.close()
    found = {path: json.loads(body) for path, body in capture.bodies.items() if path.endswith(".json")}
    return {
        "invoice": next(data for path, data in found.items() if path.startswith("/api/v2/invoices/")),
        "client": next(data for path, data in found.items() if path.startswith("/api/v2/clients/")),
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["invoice", "client"])
def test_hostile_numbers_in_cashaca_answers_are_typed(cashaca_answers: dict[str, Any], kind: str, mode: str) -> None:
    data = cashaca_answers[kind]
    paths = list(numeric_paths(data))
    assert len(paths) >= (10 if kind == "invoice" else 2)
    outcomes: dict[str, int] = {}
    for path in paths:
        for literal in LITERALS:
            body = with_literal(data, path, literal)
            transport = httpx.MockTransport(lambda request, body=body: httpx.Response(200, content=body))
            op = (lambda b: b.invoices.get("1")) if kind == "invoice" else (lambda b: b.clients.get("1"))
            try:
                run_books(mode, "cashaca", op, token="tok-numbers-0001", transport=transport)
                outcome = "read"
            except InvoicekitError as exc:  # anything else fails the test, naming the path and literal
                outcome = type(exc).__name__
            except Exception as exc:
                raise AssertionError(f"{'.'.join(map(str, path))} = {literal}: {type(exc).__name__}: {exc}") from exc
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(kind, mode, outcomes)
    assert set(outcomes) <= {"read", "ValidationError", "MalformedResponse"}
    assert outcomes.get("MalformedResponse", 0) > 0


XML_LITERALS = ["1e30", "1e999999", "-1e999999", "1e99999999999999999999", "NaN", "Infinity", "sNaN"]


def numeric_elements(root: Any) -> list[str]:
    """The paths (lxml ``getpath``) of elements whose text reads as a number."""
    found = []
    for element in root.iter():
        if len(element) == 0 and element.text and element.text.strip():
            try:
                Decimal(element.text.strip())
            except ArithmeticError:
                continue
            found.append(root.getroottree().getpath(element))
    return found


@pytest.fixture(scope="module")
def ef_answers() -> dict[str, bytes]:
    """The EF sandbox's real XML answers to an invoice read and to the read of its client."""
    from invoicekit.sandbox import create_sandbox

    box = create_sandbox("eenvoudigfactureren")
    capture = Capture()
    client = Client(name="IT Services BV", vat_number="BE0403019261")
    rows = [
        InvoiceRow(description="Consultancy", quantity=8, unit_price="95.00", vat_rate=21),
        InvoiceRow(description="Training", unit_price="150", vat_rate=0, vat_category="E", exemption_reason="Art. 44"),
    ]
    with invoicekit.connect("eenvoudigfactureren", sandbox=box, plugins=[capture]) as books:
        invoice = books.invoices.create(
            Invoice(issue_date="2026-11-30", client=client, rows=rows, payment_term_days=30)
        )
        capture.bodies.clear()
        books.invoices.get(invoice.provider_id or "")
    box.close()
    invoice_path = next(path for path in capture.bodies if path.startswith("/api/v1/invoices/"))
    client_path = next(path for path in capture.bodies if path.startswith("/api/v1/clients/"))
    return {"invoice": capture.bodies[invoice_path], "client": capture.bodies[client_path]}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["invoice", "client"])
def test_hostile_numbers_in_ef_answers_are_typed(ef_answers: dict[str, bytes], kind: str, mode: str) -> None:
    from lxml import etree

    from invoicekit.xmlsafe import parse_xml

    paths = numeric_elements(parse_xml(ef_answers[kind]))
    assert len(paths) >= (8 if kind == "invoice" else 1)
    outcomes: dict[str, int] = {}
    for path in paths:
        for literal in XML_LITERALS:
            root = parse_xml(ef_answers[kind])
            root.xpath(path)[0].text = literal
            answers = {**ef_answers, kind: etree.tostring(root)}

            def handler(request: httpx.Request, answers: dict[str, bytes] = answers) -> httpx.Response:
                which = "invoice" if "/invoices/" in request.url.path else "client"
                return httpx.Response(200, content=answers[which], headers={"Content-Type": "application/xml"})

            op = (lambda b: b.invoices.get("1")) if kind == "invoice" else (lambda b: b.clients.get("1"))
            try:
                key = "ef-numbers-key-0001"
                run_books(mode, "eenvoudigfactureren", op, api_key=key, transport=httpx.MockTransport(handler))
                outcome = "read"
            except InvoicekitError as exc:
                outcome = type(exc).__name__
            except Exception as exc:
                raise AssertionError(f"{path} = {literal}: {type(exc).__name__}: {exc}") from exc
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) <= {"read", "ValidationError", "MalformedResponse"}


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True),
        st.builds(
            lambda digits, exponent, negative: Decimal(f"{'-' if negative else ''}{digits}E{exponent}"),
            st.text("0123456789", min_size=1, max_size=45),
            st.integers(-60, 20),
            st.booleans(),
        ),
    )
)
def test_an_amount_is_accepted_exactly_within_both_bounds(value: Decimal) -> None:
    # The bounds as the model documents them, checked the slow, obvious way.
    exponent = value.as_tuple().exponent
    within = value.is_finite() and value.adjusted() < MAX_AMOUNT_DIGITS and isinstance(exponent, int)
    within = within and exponent >= -MAX_AMOUNT_DECIMALS
    for read in (lambda: row(unit_price=value), lambda: InvoiceRow.from_provider(**{**ROW, "unit_price": value})):
        if within:
            assert read().unit_price == value
        else:
            with pytest.raises(ValidationError) as caught:
                read()
            assert caught.value.fields == ("unit_price",)


ROW: dict[str, Any] = {"description": "Works", "unit_price": "10", "vat_rate": 21}
