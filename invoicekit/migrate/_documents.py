"""Reading a book from the source, and what verification compares (a document's *facts*).

Source documents are read as the provider lists them, page by page (never the whole book in memory).
Payments have no list of their own at any bundled provider: they are read invoice by invoice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from invoicekit.capabilities import Capability
from invoicekit.migrate._journal import Kind
from invoicekit.model import Client, CreditNote, Invoice, Payment

if TYPE_CHECKING:
    from invoicekit.books import Books

__all__ = ["CREATE_CAPABILITY", "LIST_CAPABILITY", "facts", "read", "source_id"]

Document = Client | Invoice | CreditNote | Payment

LIST_CAPABILITY: dict[Kind, Capability] = {
    "client": Capability.CLIENTS_LIST,
    "invoice": Capability.INVOICES_LIST,
    "credit_note": Capability.CREDIT_NOTES_LIST,
    "payment": Capability.PAYMENTS_LIST,
}
CREATE_CAPABILITY: dict[Kind, Capability] = {
    "client": Capability.CLIENTS_CREATE,
    "invoice": Capability.INVOICES_CREATE,
    "credit_note": Capability.CREDIT_NOTES_CREATE,
    "payment": Capability.PAYMENTS_CREATE,
}
BY_KEY_CAPABILITY: dict[Kind, Capability] = {
    "client": Capability.CLIENTS_CREATE_BY_KEY,
    "invoice": Capability.INVOICES_CREATE_BY_KEY,
    "credit_note": Capability.CREDIT_NOTES_CREATE_BY_KEY,
    "payment": Capability.PAYMENTS_CREATE_BY_KEY,
}


def source_id(kind: Kind, document: Document) -> str:
    """The source document's id in the journal. A payment's id is only unique within its invoice at
    some providers, so it is prefixed with the invoice's."""
    if document.provider_id is None:
        raise ValueError(f"a listed {kind} has no provider id")
    if isinstance(document, Payment):
        return f"{document.invoice_id}/{document.provider_id}"
    return document.provider_id


def read(books: Books, kind: Kind, since: date | None) -> Iterator[Document]:
    """The source's documents of ``kind`` (issued or paid on or after ``since``; every client)."""
    if kind == "client":
        yield from books.clients.list()
        return
    if kind == "payment":
        for invoice in books.invoices.list():
            assert invoice.provider_id is not None
            for payment in books.payments.list(invoice.provider_id):
                if since is None or payment.date >= since:
                    yield payment
        return
    listing: Iterator[Invoice | CreditNote] = books.invoices.list() if kind == "invoice" else books.credit_notes.list()
    for document in listing:
        if since is None or document.issue_date >= since:
            yield document


def facts(document: Document) -> dict[str, str]:
    """What verification compares between a source document and its target twin, as strings."""
    if isinstance(document, Client):
        return {"name": document.name, "vat_number": document.vat_number or ""}
    if isinstance(document, Payment):
        return {"amount": f"{document.amount:.2f}", "date": document.date.isoformat()}
    totals = document.totals
    out: dict[str, Any] = {
        "number": document.number or "",
        "issue_date": document.issue_date.isoformat(),
        "rows": str(len(document.rows)),
        "tax_exclusive": str(totals.tax_exclusive),
        "payable": str(totals.payable),
    }
    return out
