"""Faults: under 429 + Retry-After, 5xx and dropped responses at 20 %, reads succeed and every create lands
exactly once (no duplicates, nothing lost), as the sandbox's own state shows.

The faults are seeded (``--invoicekit-seed``), so a failure replays. Half of the 5xx come after the write
was committed, and dropped responses always do: exactly the cases where a blind retry duplicates. On top
of the dice, the first two creates (POSTs) of each kind always lose their answer after landing.

A kind of document the provider cannot carry a reconciliation key on (no ``<kind>.create_by_key``, e.g.
Cashaca's payments, which cannot even be read back) has no way to tell whether a create whose answer was lost
landed: there the honest result is ``UncertainOutcome`` (counted in the report), and the check becomes "never
made twice, nothing the API returned is missing". Where the key is carried, every lost answer must be
reconciled: ``UncertainOutcome`` fails the scenario.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import TypeVar

import pytest

from invoicekit import Capability as C
from invoicekit import Client, InvoicekitError, Payment, UncertainOutcome
from invoicekit.sandbox import FaultRule
from invoicekit_conformance._samples import billing_client, credit_note_for, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target
from invoicekit_conformance.profile import DocumentKind

T = TypeVar("T")

_KEYED: dict[DocumentKind, C] = {
    "client": C.CLIENTS_CREATE_BY_KEY,
    "invoice": C.INVOICES_CREATE_BY_KEY,
    "credit_note": C.CREDIT_NOTES_CREATE_BY_KEY,
    "payment": C.PAYMENTS_CREATE_BY_KEY,
}

CLIENTS, INVOICES, PAYMENTS, CREDIT_NOTES = 6, 12, 4, 3


def _lose_answers(target: Target) -> None:
    """Make sure the next two creates (POSTs) of a kind lose their answer after landing, whatever the dice say:
    one dropped mid-body, one 502 after the commit. These are the cases a blind retry duplicates."""
    assert target.sandbox is not None
    target.sandbox.faults.add(FaultRule.drop_after_commit(method="POST", times=1))
    target.sandbox.faults.add(FaultRule.server_error(1.0, status=502, after_commit=True, method="POST", times=1))


def _inject(target: Target) -> None:
    assert target.sandbox is not None
    faults = target.sandbox.faults
    # One 429: a bucket of one request refilled once a second, so the second request (a few milliseconds
    # after the first, on any machine) is refused with Retry-After: 1, which the engine must wait out. Only
    # once (times=1), to keep the run fast.
    faults.add(FaultRule.rate_limited(1.0, burst=1, times=1))
    faults.add(FaultRule.server_error(0.10, status=503))
    faults.add(FaultRule.server_error(0.10, status=502, after_commit=True))
    faults.add(FaultRule.drop_after_commit(0.20))


@scenario(
    covers=[],
    behaviour="under 429, 5xx and dropped responses every create lands exactly once",
    sandbox_only="needs the sandbox's fault injection and its state",
)
def test_exactly_once_under_faults(target: Target) -> None:
    assert target.sandbox is not None
    if not target.supports(C.CLIENTS_CREATE) and not target.supports(C.INVOICES_CREATE):
        pytest.skip(f"{target.provider} declares neither clients.create nor invoices.create")
    books, tag = target.books, target.tag()
    _inject(target)
    created: dict[DocumentKind, list[str | None]] = {"client": [], "invoice": [], "credit_note": [], "payment": []}
    paid: dict[str, Decimal] = {}
    uncertain: dict[DocumentKind, int] = Counter()

    def create(kind: DocumentKind, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except UncertainOutcome:
            if target.supports(_KEYED[kind]):
                raise  # the key is carried, so a lost answer must be reconciled
            uncertain[kind] += 1
            return None

    try:
        clients: list[Client] = []
        _lose_answers(target)
        for i in range(CLIENTS if target.supports(C.CLIENTS_CREATE) else 1):
            template = billing_client(f"{tag}{i}", name="Faulty")
            if not target.supports(C.CLIENTS_CREATE):
                clients.append(template)
            elif (client := create("client", partial(books.clients.create, template))) is not None:
                clients.append(client)
                created["client"].append(client.provider_id)
        assert clients, "every client create ended in UncertainOutcome: nothing left to invoice"
        invoices = []
        if target.supports(C.INVOICES_CREATE):
            _lose_answers(target)
            for i in range(INVOICES):
                draft = simple_invoice(clients[i % len(clients)], f"Faulty {tag} {i}")
                invoice = create("invoice", partial(books.invoices.create, draft))
                if invoice is not None:
                    invoices.append(invoice)
                    created["invoice"].append(invoice.provider_id)
        if target.supports(C.PAYMENTS_CREATE):
            _lose_answers(target)
            for invoice in invoices[:PAYMENTS]:
                assert invoice.provider_id is not None
                amount = Decimal("10.00")
                booking = Payment(invoice_id=invoice.provider_id, date=date.today(), amount=amount)
                payment = create("payment", partial(books.payments.create, booking))
                if payment is None:
                    continue
                created["payment"].append(payment.provider_id)
                paid[invoice.provider_id] = amount
        if target.supports(C.CREDIT_NOTES_CREATE):
            _lose_answers(target)
            for invoice in invoices[:CREDIT_NOTES]:
                note = create("credit_note", partial(books.credit_notes.create, credit_note_for(invoice)))
                if note is not None:
                    created["credit_note"].append(note.provider_id)
        # Reads under the same faults.
        if target.supports(C.INVOICES_GET):
            for invoice in invoices:
                assert invoice.provider_id is not None
                assert books.invoices.get(invoice.provider_id).provider_id == invoice.provider_id
        listed = len(list(books.invoices.list())) if target.supports(C.INVOICES_LIST) else None
    except InvoicekitError as exc:
        raise AssertionError(
            f"under injected faults a call failed instead of being retried or reconciled: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        target.sandbox.faults.clear()

    log = target.sandbox.request_log
    injected = Counter(str(entry.fault) for entry in log if entry.fault is not None)
    target.report(
        "faults",
        {
            "requests": len(log),
            "injected": dict(injected),
            "retries": len(target.meter.retries),
            "uncertain": dict(uncertain),
        },
    )
    assert injected, "no fault was injected: the scenario proved nothing"
    # By status, not by substring: "received 1429 bytes" in a dropped connection's reason is no 429.
    waits = [delay for _, delay, reason in target.meter.retries if reason.startswith("HTTP 429")]
    assert waits, "the injected 429 was not retried"
    assert min(waits) >= 1.0, f"a 429 with Retry-After: 1 was retried after {waits} s, not after 1 s"

    problems: list[str] = []
    if listed is not None and listed != len(invoices):
        problems.append(f"invoices.list gave {listed} invoices after {len(invoices)} creates")
    if target.profile.stored_ids is None:
        pytest.skip("the provider's conformance profile has no stored_ids: the sandbox state cannot be checked")
    for kind, ids in created.items():
        stored = target.profile.stored_ids(target.sandbox, kind)
        if stored is None or not (ids or uncertain[kind]):
            continue
        stored_counts = Counter(str(s) for s in stored)
        known = [str(i) for i in ids if i]
        lost = [i for i in known if i not in stored_counts]
        extra = sorted(set(stored_counts) - set(known), key=lambda s: (len(s), s))
        if lost:
            problems.append(f"{kind}: the API returned id(s) {', '.join(lost)} that the sandbox does not hold (lost)")
        # An UncertainOutcome may or may not have landed: at most one document each, never two.
        if len(ids) <= len(stored) <= len(ids) + uncertain[kind] and not lost and uncertain[kind]:
            continue
        if len(stored) != len(ids):
            detail = f" (not returned by any create: {', '.join(extra)})" if extra and len(known) == len(ids) else ""
            problems.append(
                f"{kind}: {len(ids)} created through the API, but the sandbox holds {len(stored)}{detail}: "
                + (
                    "a create was retried blindly, or a lost response was not reconciled"
                    if len(stored) > len(ids)
                    else "a create was lost"
                )
            )
    if paid and target.supports(C.INVOICES_GET):
        for invoice_id, amount in paid.items():
            recorded = books.invoices.get(invoice_id).paid_amount
            if recorded is None and not target.supports(C.INVOICES_PAID_AMOUNT):
                continue  # the provider does not report what was paid
            if recorded != amount:
                problems.append(f"payment: invoice {invoice_id} shows {recorded} paid after one payment of {amount}")
    assert not problems, "under injected faults (seeded; see --invoicekit-seed):\n  - " + "\n  - ".join(problems)
