"""Credit notes: one referencing an invoice, listing, deleting."""

from __future__ import annotations

import pytest

from invoicekit import Capability as C
from invoicekit import CreditNote, Invoice, NotFound
from invoicekit_conformance._compare import document_differences, totals_differences
from invoicekit_conformance._samples import billing_client, carried, credit_note_for, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target


def _invoice(target: Target) -> Invoice:
    client = carried(target.books.adapter, billing_client(target.tag()))
    if target.supports(C.CLIENTS_CREATE):
        client = target.books.clients.create(client)
    return target.books.invoices.create(simple_invoice(client, "Credited later", amount="321.09"))


def _credit(target: Target, invoice: Invoice) -> CreditNote:
    return target.books.credit_notes.create(credit_note_for(invoice))


@scenario(covers=[C.CREDIT_NOTES_CREATE, C.CREDIT_NOTES_GET], requires=[C.INVOICES_CREATE])
def test_credit_note_references_invoice(target: Target) -> None:
    """A credit note keeps the reference to the invoice it corrects (by id or by number: at least one of
    the two, and neither wrong), its rows, and totals that match invoicekit's to the cent."""
    invoice = _invoice(target)
    sent = credit_note_for(invoice)
    created = target.books.credit_notes.create(sent)
    assert created.provider_id, "credit_notes.create returned a credit note without provider_id"
    fetched = target.books.credit_notes.get(created.provider_id)

    problems = document_differences(sent, fetched)
    problems += totals_differences(sent.totals, fetched.totals, "the returned rows give")
    own = target.profile.provider_totals(fetched) if target.profile.provider_totals is not None else None
    if own is not None and own.payable is not None and own.payable != sent.totals.payable:
        problems.append(f"amount payable: invoicekit computes {sent.totals.payable}, {target.provider} {own.payable}")
    refs = {"corrects_invoice_id": invoice.provider_id, "corrects_invoice_number": invoice.number}
    kept = {name: getattr(fetched, name) for name in refs if getattr(fetched, name) is not None}
    if not kept:
        problems.append("the credit note lost its reference to the invoice (neither id nor number came back)")
    problems += [f"{name}: sent {refs[name]!r}, got {value!r}" for name, value in kept.items() if value != refs[name]]
    target.report(
        "invoice_features",
        {
            "credit note: the corrected invoice's number": "kept" if "corrects_invoice_number" in kept else "not kept",
            "credit note: the corrected invoice's id": "kept" if "corrects_invoice_id" in kept else "not kept",
        },
    )
    assert not problems, f"credit note round trip on {target.provider}:\n  - " + "\n  - ".join(problems)


@scenario(covers=[C.CREDIT_NOTES_LIST], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE])
def test_credit_notes_list(target: Target) -> None:
    invoice = _invoice(target)
    made = [_credit(target, invoice).provider_id for _ in range(2)]
    listed = [note.provider_id for note in target.books.credit_notes.list()]
    for note_id in made:
        assert listed.count(note_id) == 1, f"credit note {note_id} is listed {listed.count(note_id)} times"
    if not target.live:
        assert len(listed) == len(made), f"a fresh sandbox holds {len(made)} credit notes, the list gave {len(listed)}"


@scenario(covers=[C.CREDIT_NOTES_DELETE], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE, C.CREDIT_NOTES_GET])
def test_credit_note_delete(target: Target) -> None:
    note = _credit(target, _invoice(target))
    assert note.provider_id is not None
    target.books.credit_notes.delete(note.provider_id)
    with pytest.raises(NotFound):
        target.books.credit_notes.get(note.provider_id)
