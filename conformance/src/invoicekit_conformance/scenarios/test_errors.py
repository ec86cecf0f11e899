"""Errors: bad credentials, unknown ids, invalid input (refused with zero requests sent), and undeclared
operations (refused with UnsupportedOperation, zero requests sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from invoicekit import (
    AuthenticationError,
    Books,
    Client,
    Contact,
    CreditNote,
    Invoice,
    InvoiceRow,
    NotFound,
    Payment,
    UnsupportedOperation,
    ValidationError,
)
from invoicekit import Capability as C
from invoicekit_conformance._samples import billing_client, rich_client, rich_invoice, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Meter, Target

# The reads a bad-credentials check can use, cheapest first.
_READS: list[tuple[C, Callable[[Books], object]]] = [
    (C.INVOICES_NEXT_NUMBER, lambda b: b.invoices.next_number()),
    (C.CLIENTS_LIST, lambda b: list(b.clients.list())),
    (C.INVOICES_LIST, lambda b: list(b.invoices.list())),
    (C.CREDIT_NOTES_LIST, lambda b: list(b.credit_notes.list())),
]


@scenario(covers=[], behaviour="bad credentials raise AuthenticationError")
def test_bad_credentials(target: Target) -> None:
    names = list(target.sandbox.credentials() if target.sandbox is not None else target.profile.live_credentials)
    bad = {name: f"not-a-valid-{name}-0123456789abcdef" for name in names}
    books = target.connect(credentials=bad)
    read = next(((cap, call) for cap, call in _READS if target.supports(cap)), None)
    if read is None:
        pytest.skip(f"{target.provider} declares none of {', '.join(c.value for c, _ in _READS)} to try them with")
    capability, call = read
    with pytest.raises(AuthenticationError):
        call(books)
    target.report("bad_credentials_checked_with", capability.value)


_GETS: dict[str, tuple[C, Callable[[Books, str], object]]] = {
    "client": (C.CLIENTS_GET, lambda b, i: b.clients.get(i)),
    "invoice": (C.INVOICES_GET, lambda b, i: b.invoices.get(i)),
    "credit_note": (C.CREDIT_NOTES_GET, lambda b, i: b.credit_notes.get(i)),
}


@scenario(covers=[], behaviour="an unknown id raises NotFound")
@pytest.mark.parametrize("kind", list(_GETS))
def test_unknown_id_is_not_found(target: Target, kind: str) -> None:
    capability, get = _GETS[kind]
    target.need(capability)
    with pytest.raises(NotFound):
        get(target.books, target.profile.unknown_id)


def _nothing_sent(target: Target, meter: Meter, what: str) -> None:
    assert not meter.requests, f"{what}: refused, but only after sending {meter.requests}"
    if target.sandbox is not None:
        assert not target.sandbox.request_log, f"{what}: the sandbox received {list(target.sandbox.request_log)}"


@scenario(covers=[], behaviour="invalid input raises ValidationError before any request")
def test_invalid_input_sends_nothing(target: Target) -> None:
    """Each invalid input is refused with ValidationError naming the field, and not one request is sent
    (counted through the ``invoicekit_before_request`` hook and in the sandbox's request log)."""
    meter = Meter()
    books = target.connect(meter=meter)
    client = billing_client(target.tag()).model_copy(update={"provider_id": target.profile.unknown_id})
    seven = [InvoiceRow(description="Not a Belgian rate", quantity=1, unit_price="10.00", vat_rate=7)]
    cases: list[tuple[str, C, Callable[[], object], str]] = [
        (
            "an invoice at 7 % VAT",
            C.INVOICES_CREATE,
            lambda: books.invoices.create(_with_rows(client, seven)),
            "rows.0.vat_rate",
        ),
        (
            "a credit note at 7 % VAT",
            C.CREDIT_NOTES_CREATE,
            lambda: books.credit_notes.create(CreditNote(issue_date=date.today(), client=client, rows=seven)),
            "rows.0.vat_rate",
        ),
        (
            "an invoice update at 7 % VAT",
            C.INVOICES_UPDATE,
            lambda: books.invoices.update(target.profile.unknown_id, _with_rows(client, seven)),
            "rows.0.vat_rate",
        ),
    ]
    rich = rich_client(target.tag())
    lost = target.books.adapter.unsupported_fields(rich)
    if lost:
        cases.append(
            (
                "a client with fields the provider cannot store",
                C.CLIENTS_CREATE,
                lambda: books.clients.create(rich),
                lost[0].path,
            )
        )
    invoice = rich_invoice(client, target.tag())
    lost_in_invoice = target.books.adapter.unsupported_fields(invoice)
    if lost_in_invoice:
        cases.append(
            (
                "an invoice with fields the provider cannot store",
                C.INVOICES_CREATE,
                lambda: books.invoices.create(invoice),
                lost_in_invoice[0].path,
            )
        )
    tried = 0
    for what, capability, call, field in cases:
        if not target.supports(capability):
            continue
        tried += 1
        with pytest.raises(ValidationError) as caught:
            call()
        assert field in caught.value.fields, f"{what}: the ValidationError names {caught.value.fields}, not {field!r}"
        _nothing_sent(target, meter, what)
    if not tried:
        pytest.skip("the provider declares none of the operations with invalid-input cases")


def _with_rows(client: Client, rows: list[InvoiceRow]) -> Invoice:
    return Invoice(issue_date=date.today(), client=client, rows=rows)


# Capabilities that describe what an operation returns rather than an operation of their own: nothing to refuse.
_PROPERTIES = frozenset({C.INVOICES_PAID_AMOUNT})


def _calls(books: Books, target: Target) -> dict[C, Callable[[], Any]]:
    """One call per capability, with arguments that would be valid: only the capability is missing."""
    uid = target.profile.unknown_id
    client = billing_client("undeclared")
    invoice = simple_invoice(client, "Undeclared")
    note = CreditNote(issue_date=date.today(), client=client, rows=invoice.rows, corrects_invoice_id=uid)
    many = client.model_copy(
        update={"contacts": [Contact(name="A", email="a@client.example"), Contact(name="B", email="b@client.example")]}
    )
    return {
        C.CLIENTS_CREATE: lambda: books.clients.create(client),
        C.CLIENTS_GET: lambda: books.clients.get(uid),
        C.CLIENTS_LIST: lambda: list(books.clients.list()),
        C.CLIENTS_SEARCH: lambda: list(books.clients.list(search="Undeclared")),
        C.CLIENTS_UPDATE: lambda: books.clients.update(uid, client),
        C.CLIENTS_DELETE: lambda: books.clients.delete(uid),
        # Not an operation but what a client may hold: without it, several contacts are refused.
        C.CLIENTS_CONTACTS: lambda: books.clients.create(Client.model_validate(many.model_dump())),
        C.CLIENTS_CHECK_VAT: lambda: books.clients.check_vat_number("BE0403019261"),
        C.INVOICES_CREATE: lambda: books.invoices.create(invoice),
        C.INVOICES_GET: lambda: books.invoices.get(uid),
        C.INVOICES_LIST: lambda: list(books.invoices.list()),
        C.INVOICES_LIST_UNPAID: lambda: list(books.invoices.list(unpaid=True)),
        C.INVOICES_UPDATE: lambda: books.invoices.update(uid, invoice),
        C.INVOICES_DELETE: lambda: books.invoices.delete(uid),
        C.INVOICES_SEND_EMAIL: lambda: books.invoices.send(uid, via="email", to="someone@client.example"),
        C.INVOICES_SEND_PEPPOL: lambda: books.invoices.send(uid, via="peppol"),
        C.INVOICES_UBL: lambda: books.invoices.ubl(uid),
        C.INVOICES_PDF: lambda: books.invoices.pdf(uid),
        C.INVOICES_NEXT_NUMBER: lambda: books.invoices.next_number(),
        C.CREDIT_NOTES_CREATE: lambda: books.credit_notes.create(note),
        C.CREDIT_NOTES_GET: lambda: books.credit_notes.get(uid),
        C.CREDIT_NOTES_LIST: lambda: list(books.credit_notes.list()),
        C.CREDIT_NOTES_DELETE: lambda: books.credit_notes.delete(uid),
        C.CREDIT_NOTES_SEND_EMAIL: lambda: books.credit_notes.send(uid, via="email", to="someone@client.example"),
        C.CREDIT_NOTES_SEND_PEPPOL: lambda: books.credit_notes.send(uid, via="peppol"),
        C.CREDIT_NOTES_PDF: lambda: books.credit_notes.pdf(uid),
        C.PAYMENTS_CREATE: lambda: books.payments.create(
            Payment(invoice_id=uid, date=date.today(), amount=Decimal("1.00"))
        ),
        C.PAYMENTS_LIST: lambda: list(books.payments.list(uid)),
        C.CLIENTS_CREATE_BY_KEY: lambda: books.clients.create(client, idempotency_key="undeclared-key"),
        C.INVOICES_CREATE_BY_KEY: lambda: books.invoices.create(invoice, idempotency_key="undeclared-key"),
        C.CREDIT_NOTES_CREATE_BY_KEY: lambda: books.credit_notes.create(note, idempotency_key="undeclared-key"),
        C.PAYMENTS_CREATE_BY_KEY: lambda: books.payments.create(
            Payment(invoice_id=uid, date=date.today(), amount=Decimal("1.00")), idempotency_key="undeclared-key"
        ),
    }


# A create by key needs the create itself: when that is missing too, naming it is right.
_BASE = {
    C.CLIENTS_CREATE_BY_KEY: C.CLIENTS_CREATE,
    C.INVOICES_CREATE_BY_KEY: C.INVOICES_CREATE,
    C.CREDIT_NOTES_CREATE_BY_KEY: C.CREDIT_NOTES_CREATE,
    C.PAYMENTS_CREATE_BY_KEY: C.PAYMENTS_CREATE,
}


@scenario(covers=[], behaviour="undeclared operations raise UnsupportedOperation before any request")
def test_undeclared_operations_are_refused(target: Target) -> None:
    """Every capability the adapter does not declare is refused up front: UnsupportedOperation naming the
    capability (for CLIENTS_CONTACTS, a ValidationError naming ``contacts``), and nothing sent."""
    meter = Meter()
    books = target.connect(meter=meter)
    calls = _calls(books, target)
    unknown = [c.value for c in C if c not in calls and c not in _PROPERTIES]
    assert not unknown, f"the suite knows no call for capability {unknown}: add one to _calls"
    verdicts: dict[str, str] = {}
    problems: list[str] = []
    for capability in C:
        if capability in target.capabilities or capability in _PROPERTIES:
            continue
        expected: tuple[type[Exception], ...] = (UnsupportedOperation,)
        if capability is C.CLIENTS_CONTACTS:
            expected = (UnsupportedOperation, ValidationError)
        sent_before = len(meter.requests)
        try:
            calls[capability]()
        except expected as exc:
            if isinstance(exc, UnsupportedOperation) and exc.capability not in (
                capability.value,
                C.CLIENTS_CREATE.value,
                _BASE.get(capability, capability).value,
            ):
                problems.append(f"{capability.value}: UnsupportedOperation names {exc.capability!r}")
            elif isinstance(exc, ValidationError) and "contacts" not in exc.fields:
                problems.append(f"{capability.value}: the ValidationError names {exc.fields}, not 'contacts'")
            else:
                verdicts[capability.value] = "refused"
        except Exception as exc:
            problems.append(f"{capability.value}: raised {type(exc).__name__} ({exc}), not UnsupportedOperation")
        else:
            problems.append(f"{capability.value}: is not declared, yet the call succeeded")
        if len(meter.requests) > sent_before:
            problems.append(f"{capability.value}: is not declared, yet sent {meter.requests[sent_before:]}")
            verdicts.pop(capability.value, None)
    target.report("undeclared", verdicts)
    assert not problems, "undeclared operations must be refused before any request:\n  - " + "\n  - ".join(problems)
