"""What the invoicekit conformance suite needs to know about Cashaca beyond its declared capabilities.

Loaded only by the suite (``invoicekit_conformance``), through the plugin's ``extra["conformance"]`` or,
failing that, by the suite's convention of looking for ``<package>.conformance:profile``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from invoicekit_conformance import ConformanceProfile, DocumentKind, ProviderTotals

from invoicekit.model import CreditNote, Invoice
from invoicekit.sandbox import Sandbox

__all__ = ["profile"]

# Where the Cashaca sandbox keeps each kind of document (payments are financial transactions on a sale).
_COLLECTIONS: dict[str, str] = {
    "client": "clients",
    "invoice": "invoices",
    "credit_note": "credit_notes",
    "payment": "financial_transactions",
}


def _stored_ids(sandbox: Sandbox, kind: DocumentKind) -> Sequence[str] | None:
    return [str(record["id"]) for record in sandbox.store.all(_COLLECTIONS[kind])]


def _money(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _provider_totals(document: Invoice | CreditNote) -> ProviderTotals | None:
    # Cashaca reports `amount` (without VAT) and `vat_amount` (stijn1989 Entity/Invoice.php); its sandbox
    # computes them with its own arithmetic, never invoicekit's engine, so the comparison means something.
    raw = document.raw if isinstance(document.raw, dict) else None
    if raw is None:
        return None
    net, vat = _money(raw.get("amount")), _money(raw.get("vat_amount"))
    payable = net + vat if net is not None and vat is not None else None
    return ProviderTotals(tax_exclusive=net, vat_total=vat, payable=payable)


profile = ConformanceProfile(
    stored_ids=_stored_ids,
    provider_totals=_provider_totals,
    # A payment is a financial transaction on the invoice's sale (POST /financial_transactions.json).
    write_paths={"payment": ("financial_transactions",)},
    live_credentials={"token": "INVOICEKIT_CASHACA_TOKEN"},
)
