"""PDFs: the provider's own PDF of a created invoice or credit note is a real PDF of that document.

It must open with a PDF reader (pypdf), and its text must show the document's number, the amount payable
as the provider prints it (``1.234,56`` and ``1234.56`` are both fine) and, when the document has one, its
structured communication (OGM).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pypdf

from invoicekit import Capability as C
from invoicekit import CreditNote, Invoice
from invoicekit_conformance._samples import billing_client, carried, credit_note_for, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target


def pdf_text(data: bytes, what: str) -> str:
    """The text of every page, whitespace collapsed; fails naming ``what`` when it is no readable PDF."""
    assert data.startswith(b"%PDF-"), f"{what}: not a PDF (starts with {data[:16]!r})"
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        text = " ".join(page.extract_text() or "" for page in reader.pages)
    except pypdf.errors.PyPdfError as exc:
        raise AssertionError(f"{what}: pypdf cannot read it: {exc}") from None
    return re.sub(r"\s+", " ", text)


def amount_spellings(amount: Decimal) -> set[str]:
    """The ways an invoice prints an amount: 1234.56, 1,234.56, 1234,56 and 1.234,56."""
    plain = f"{amount:.2f}"
    grouped = f"{amount:,.2f}"
    return {plain, grouped, plain.replace(".", ","), grouped.replace(",", " ").replace(".", ",").replace(" ", ".")}


def pdf_problems(document: Invoice | CreditNote, payable: Decimal, text: str) -> list[str]:
    problems = []
    if not document.number or document.number not in text:
        problems.append(f"the number {document.number!r} is not in its text")
    spellings = amount_spellings(payable)
    if not any(spelling in text for spelling in spellings):
        problems.append(f"the amount payable {payable} is not in its text (looked for {sorted(spellings)})")
    ogm = document.structured_communication
    if ogm and ogm not in text and (document.structured_communication_formatted or ogm) not in text:
        problems.append(f"the OGM {document.structured_communication_formatted} is not in its text")
    return problems


def _payable(target: Target, document: Invoice | CreditNote) -> Decimal:
    own = target.profile.provider_totals(document) if target.profile.provider_totals is not None else None
    return own.payable if own is not None and own.payable is not None else document.totals.payable


def _invoice(target: Target) -> Invoice:
    client = carried(target.books.adapter, billing_client(target.tag()))
    if target.supports(C.CLIENTS_CREATE):
        client = target.books.clients.create(client)
    # Over a thousand, so a provider that groups thousands shows it (1.234,56).
    created = target.books.invoices.create(simple_invoice(client, "Printed on paper", amount="1020.30"))
    assert created.provider_id, "invoices.create returned an invoice without provider_id"
    return target.books.invoices.get(created.provider_id) if target.supports(C.INVOICES_GET) else created


def _excerpt(text: str) -> str:
    return text[:300] + ("..." if len(text) > 300 else "")


@scenario(covers=[C.INVOICES_PDF], requires=[C.INVOICES_CREATE])
def test_invoice_pdf_shows_number_payable_and_ogm(target: Target) -> None:
    invoice = _invoice(target)
    assert invoice.provider_id is not None
    text = pdf_text(target.books.invoices.pdf(invoice.provider_id), f"the PDF of invoice {invoice.number}")
    problems = pdf_problems(invoice, _payable(target, invoice), text)
    assert not problems, (
        f"the PDF of invoice {invoice.number} on {target.provider}:\n  - "
        + "\n  - ".join(problems)
        + f"\n  text: {_excerpt(text)}"
    )


@scenario(covers=[C.CREDIT_NOTES_PDF], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE])
def test_credit_note_pdf_shows_number_and_payable(target: Target) -> None:
    created = target.books.credit_notes.create(credit_note_for(_invoice(target)))
    assert created.provider_id, "credit_notes.create returned a credit note without provider_id"
    note = target.books.credit_notes.get(created.provider_id) if target.supports(C.CREDIT_NOTES_GET) else created
    text = pdf_text(target.books.credit_notes.pdf(created.provider_id), f"the PDF of credit note {note.number}")
    problems = pdf_problems(note, _payable(target, note), text)
    assert not problems, (
        f"the PDF of credit note {note.number} on {target.provider}:\n  - "
        + "\n  - ".join(problems)
        + f"\n  text: {_excerpt(text)}"
    )
