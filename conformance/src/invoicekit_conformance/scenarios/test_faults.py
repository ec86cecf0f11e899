"""Faults: under 429 + Retry-After, 5xx and dropped responses at 20 %, reads succeed and every create lands
exactly once (no duplicates, nothing lost), as the sandbox's own state shows.

The faults are seeded (``--invoicekit-seed``), so a failure replays. Half of the 5xx come after the write
was committed, and dropped responses always do: exactly the cases where a blind retry duplicates. On top
of the dice, the first two creates (POSTs) of each kind always lose their answer after landing.

A kind of document the provider cannot carry a reconciliation key on (no ``<kind>.create_by_key``, e.g.
Cashaca's payments, which cannot even be read back) has no way to tell whether a create whose answer was lost
landed: there the honest result is ``UncertainOutcome`` (counted in the report), and the check becomes "never
made twice, nothing the API returned is missing". A document that is held (in the sandbox, in
``invoices.list``) but was returned by no create is accounted to a distinct ``UncertainOutcome``: there may be
at most as many as there were, and none may be a second copy of a document a create returned or of another
one (told by its marker: the client's name, the first row's description), so a create made twice still
fails. They are reported as uncertain-but-landed (``uncertain_landed``). A create answered without an id
(Cashaca's payments in strict mode) may account for one the same way. Where the key is carried, every lost
answer must be reconciled: ``UncertainOutcome`` fails the scenario.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import pytest

from invoicekit import Books, Client, InvoicekitError, Payment, UncertainOutcome
from invoicekit import Capability as C
from invoicekit.sandbox import FaultRule
from invoicekit_conformance._samples import billing_client, carried, credit_note_for, simple_invoice
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

#: How a held document is read back, and what tells it apart (the marker each create puts in it).
_READERS: dict[DocumentKind, tuple[C, Callable[[Books, str], str | None]]] = {
    "client": (C.CLIENTS_GET, lambda books, i: books.clients.get(i).name),
    "invoice": (C.INVOICES_GET, lambda books, i: _first_row(books.invoices.get(i).rows)),
    "credit_note": (C.CREDIT_NOTES_GET, lambda books, i: _first_row(books.credit_notes.get(i).rows)),
}


def _first_row(rows: Sequence[Any]) -> str | None:
    return str(rows[0].description) if rows else None


def _unreturned(
    target: Target,
    kind: DocumentKind,
    where: str,
    unreturned: Sequence[str],
    returned: Sequence[str],
    unsure: int,
) -> list[str]:
    """What is wrong with the documents held but returned by no create: more of them than the creates that
    could have made one unseen (``unsure``: UncertainOutcomes, answers without an id), or one that repeats a
    returned document or another unreturned one (a create made twice)."""
    if not unreturned:
        return []
    if len(unreturned) > unsure:
        return [
            f"{kind}: {len(returned)} created through the API, but {where} {len(returned) + len(unreturned)} "
            f"(returned by no create: {', '.join(unreturned)}; {unsure} UncertainOutcome(s) or answers without "
            "an id): a create was retried blindly, or a lost response was not reconciled"
        ]
    reader = _READERS.get(kind)
    if reader is None or not target.supports(reader[0]):
        return []
    read = reader[1]
    mark = {i: read(target.books, i) for i in (*returned, *unreturned)}
    seen = Counter(mark[i] for i in returned if mark[i] is not None)
    problems = []
    for i in unreturned:
        if mark[i] is not None and seen[mark[i]]:
            problems.append(
                f"{kind}: {i} (held, returned by no create) repeats {mark[i]!r} of another document: a create "
                "was made twice"
            )
        if mark[i] is not None:
            seen[mark[i]] += 1
    return problems


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
    unsure_paid: dict[str, Decimal] = {}  # invoice id -> the amount of a payment that ended in UncertainOutcome

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
            template = carried(books.adapter, billing_client(f"{tag}{i}", name="Faulty"))
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
                    unsure_paid[invoice.provider_id] = amount
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
        listed = [str(i.provider_id) for i in books.invoices.list()] if target.supports(C.INVOICES_LIST) else None
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
    returned = [str(i.provider_id) for i in invoices]
    if listed is not None:
        twice = sorted(i for i, n in Counter(listed).items() if n > 1)
        missing = [i for i in returned if i not in listed]
        if twice or missing:
            problems.append(f"invoices.list gave {len(listed)} invoices after {len(invoices)} creates")
        if twice:
            problems.append(f"invoices.list gave {', '.join(twice)} more than once")
        if missing:
            problems.append(f"invoices.list left out {', '.join(missing)}, returned by creates")
        unlisted = sorted(set(listed) - set(returned), key=lambda s: (len(s), s))
        problems += _unreturned(target, "invoice", "invoices.list gives", unlisted, returned, uncertain["invoice"])
    landed: dict[str, int] = {}
    if target.profile.stored_ids is None:
        pytest.skip("the provider's conformance profile has no stored_ids: the sandbox state cannot be checked")
    for kind, ids in created.items():
        stored = target.profile.stored_ids(target.sandbox, kind)
        if stored is None or not (ids or uncertain[kind]):
            continue
        stored_counts = Counter(str(s) for s in stored)
        known = [str(i) for i in ids if i]
        lost = [i for i in known if i not in stored_counts]
        if lost:
            problems.append(f"{kind}: the API returned id(s) {', '.join(lost)} that the sandbox does not hold (lost)")
        twice = sorted(i for i, n in stored_counts.items() if n > 1)
        if twice:
            problems.append(f"{kind}: the sandbox holds {', '.join(twice)} more than once")
        unreturned = sorted(set(stored_counts) - set(known), key=lambda s: (len(s), s))
        # An UncertainOutcome may or may not have landed: at most one document each, never a second copy. A
        # create that returned its document without an id (Cashaca's payments in strict mode) holds one too.
        unnamed = len(ids) - len(known)
        problems += _unreturned(target, kind, "the sandbox holds", unreturned, known, uncertain[kind] + unnamed)
        if uncertain[kind]:
            landed[kind] = max(0, len(unreturned) - unnamed)
    if target.supports(C.INVOICES_GET):
        for invoice_id, amount in paid.items():
            recorded = books.invoices.get(invoice_id).paid_amount
            if recorded is None and not target.supports(C.INVOICES_PAID_AMOUNT):
                continue  # the provider does not report what was paid
            if recorded != amount:
                problems.append(f"payment: invoice {invoice_id} shows {recorded} paid after one payment of {amount}")
        for invoice_id, amount in unsure_paid.items():
            # Its one payment ended in UncertainOutcome: it landed once or not at all, never twice.
            recorded = books.invoices.get(invoice_id).paid_amount
            if recorded is None and not target.supports(C.INVOICES_PAID_AMOUNT):
                continue
            if recorded not in (0, amount):
                problems.append(
                    f"payment: invoice {invoice_id} shows {recorded} paid after one payment of {amount} that ended "
                    "in UncertainOutcome (at most once: 0 or the amount)"
                )
            elif recorded:
                landed["payment paid"] = landed.get("payment paid", 0) + 1
    target.report("uncertain_landed", landed)
    assert not problems, "under injected faults (seeded; see --invoicekit-seed):\n  - " + "\n  - ".join(problems)
