"""What the invoicekit conformance suite needs to know about Flowtly beyond its declared capabilities."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from invoicekit_conformance import ConformanceProfile, DocumentKind, ProviderTotals

from invoicekit.model import CreditNote, Invoice
from invoicekit.sandbox import Sandbox

__all__ = ["profile"]


def _stored_ids(sandbox: Sandbox, kind: DocumentKind) -> Sequence[str] | None:
    if kind == "client":
        return [str(r["id"]) for r in sandbox.store.all("clients")]
    if kind == "payment":
        return [str(r["id"]) for r in sandbox.store.all("invoice_transactions")]
    wanted = "correction" if kind == "credit_note" else "invoice"
    return [str(r["id"]) for r in sandbox.store.all("invoices") if r.get("type") == wanted]


def _provider_totals(document: Invoice | CreditNote) -> ProviderTotals | None:
    # Flowtly reports amountNet and amount (gross); the sandbox computes them with its own code.
    raw = document.raw if isinstance(document.raw, dict) else None
    if raw is None or raw.get("amountNet") is None or raw.get("amount") is None:
        return None
    net, gross = Decimal(str(raw["amountNet"])), Decimal(str(raw["amount"]))
    return ProviderTotals(tax_exclusive=net, vat_total=gross - net, payable=gross)


profile = ConformanceProfile(
    stored_ids=_stored_ids,
    provider_totals=_provider_totals,
    # A payment is an invoice transaction (POST /invoice-transactions).
    write_paths={"payment": ("invoice-transactions",)},
    live_credentials={"username": "INVOICEKIT_FLOWTLY_USERNAME", "password": "INVOICEKIT_FLOWTLY_PASSWORD"},
)
