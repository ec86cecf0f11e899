"""A book as a test sees it: read through the neutral API on each side, independently of the journal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from invoicekit import Books, Capability


@dataclass
class Snapshot:
    """What a provider holds, keyed by what survives a migration (names, numbers), with multiplicities."""

    clients: Counter[tuple[str, str]] = field(default_factory=Counter)  # (name, VAT number)
    invoices: Counter[tuple[str, str, Decimal]] = field(default_factory=Counter)  # (number, date, payable)
    credit_notes: Counter[tuple[str, str, Decimal]] = field(default_factory=Counter)
    #: (invoice number, date, amount)
    payments: Counter[tuple[str, str, Decimal]] = field(default_factory=Counter)

    def duplicates(self) -> dict[str, list[object]]:
        return {
            kind: [key for key, n in getattr(self, kind).items() if n > 1]
            for kind in ("clients", "invoices", "credit_notes", "payments")
            if any(n > 1 for n in getattr(self, kind).values())
        }


def snapshot(books: Books, *, payments: bool = True) -> Snapshot:
    shot = Snapshot()
    for client in books.clients.list():
        shot.clients[(client.name, client.vat_number or "")] += 1
    for invoice in books.invoices.list():
        shot.invoices[(invoice.number or "", invoice.issue_date.isoformat(), invoice.totals.payable)] += 1
        if payments and Capability.PAYMENTS_LIST in books.capabilities:
            assert invoice.provider_id is not None
            for payment in books.payments.list(invoice.provider_id):
                shot.payments[(invoice.number or "", payment.date.isoformat(), payment.amount)] += 1
    if Capability.CREDIT_NOTES_LIST in books.capabilities:
        for credit_note in books.credit_notes.list():
            key = (credit_note.number or "", credit_note.issue_date.isoformat(), credit_note.totals.payable)
            shot.credit_notes[key] += 1
    return shot
