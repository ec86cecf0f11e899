"""Payments: a payment is booked on its invoice; where the provider reports what was paid
(``invoices.paid_amount``), a partial payment leaves the invoice partly paid and the rest makes it paid; the
unpaid list loses a fully paid invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicekit import Capability as C
from invoicekit import DocumentStatus, Invoice, Payment
from invoicekit.model import round2
from invoicekit_conformance._samples import billing_client, carried, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target


def _invoice(target: Target, description: str, amount: str = "250.00") -> Invoice:
    client = carried(target.books.adapter, billing_client(target.tag()))
    if target.supports(C.CLIENTS_CREATE):
        client = target.books.clients.create(client)
    return target.books.invoices.create(simple_invoice(client, description, amount=amount))


def _pay(target: Target, invoice: Invoice, amount: Decimal) -> Payment:
    assert invoice.provider_id is not None
    return target.books.payments.create(
        Payment(invoice_id=invoice.provider_id, date=date.today(), amount=amount, reference=f"pay {invoice.number}")
    )


def _expect(target: Target, invoice_id: str, status: DocumentStatus, paid: Decimal, when: str) -> Invoice:
    fetched = target.books.invoices.get(invoice_id)
    assert (fetched.status, fetched.paid_amount) == (status, paid), (
        f"{when}: the invoice is {fetched.status} with {fetched.paid_amount} paid; expected {status.value} "
        f"with {paid} paid (payable {fetched.totals.payable})"
    )
    return fetched


@scenario(covers=[C.PAYMENTS_CREATE], requires=[C.INVOICES_CREATE])
def test_payment_is_booked_on_its_invoice(target: Target) -> None:
    invoice = _invoice(target, "Paid once")
    assert invoice.provider_id is not None
    payment = _pay(target, invoice, Decimal("40.00"))
    assert (payment.invoice_id, payment.amount, payment.date) == (
        invoice.provider_id,
        Decimal("40.00"),
        date.today(),
    ), (
        f"the created payment reads back as {payment.invoice_id} / {payment.amount} / {payment.date}, "
        f"not {invoice.provider_id} / 40.00 / {date.today()}"
    )


@scenario(covers=[C.INVOICES_PAID_AMOUNT], requires=[C.INVOICES_CREATE, C.INVOICES_GET, C.PAYMENTS_CREATE])
def test_partial_then_full_payment(target: Target) -> None:
    invoice = _invoice(target, "To be paid in two parts")
    assert invoice.provider_id is not None
    payable = invoice.totals.payable
    part = round2(payable * Decimal("0.4"))
    _pay(target, invoice, part)
    partly = _expect(target, invoice.provider_id, DocumentStatus.PARTIALLY_PAID, part, f"after paying {part}")
    assert partly.outstanding == payable - part, f"outstanding is {partly.outstanding}, expected {payable - part}"
    _pay(target, invoice, payable - part)
    paid = _expect(
        target, invoice.provider_id, DocumentStatus.PAID, payable, f"after paying the rest, {payable - part}"
    )
    assert paid.outstanding == 0, f"a paid invoice still has {paid.outstanding} outstanding"


@scenario(covers=[C.INVOICES_LIST_UNPAID], requires=[C.INVOICES_CREATE, C.PAYMENTS_CREATE])
def test_paid_invoice_leaves_unpaid_list(target: Target) -> None:
    paid_later = _invoice(target, "Paid later")
    stays_open = _invoice(target, "Stays open")

    def unpaid() -> list[str | None]:
        return [inv.provider_id for inv in target.books.invoices.list(unpaid=True)]

    listed = unpaid()
    for inv in (paid_later, stays_open):
        assert listed.count(inv.provider_id) == 1, (
            f"a new invoice ({inv.number}) is listed {listed.count(inv.provider_id)} times as unpaid"
        )
    _pay(target, paid_later, Decimal("100.00"))
    assert paid_later.provider_id in unpaid(), "a partly paid invoice left the unpaid list"
    _pay(target, paid_later, paid_later.totals.payable - Decimal("100.00"))
    listed = unpaid()
    assert paid_later.provider_id not in listed, "a fully paid invoice is still on the unpaid list"
    assert stays_open.provider_id in listed, "an open invoice left the unpaid list when another one was paid"


@scenario(covers=[C.PAYMENTS_LIST], requires=[C.INVOICES_CREATE, C.PAYMENTS_CREATE])
def test_payments_list(target: Target) -> None:
    invoice = _invoice(target, "Paid twice")
    amounts = [Decimal("100.00"), Decimal("50.25")]
    for amount in amounts:
        _pay(target, invoice, amount)
    listed = sorted(p.amount for p in target.books.payments.list(invoice))
    assert listed == sorted(amounts), f"payments.list gave amounts {listed}, {sorted(amounts)} were paid"
