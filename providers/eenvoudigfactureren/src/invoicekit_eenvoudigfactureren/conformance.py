"""What the invoicekit conformance suite needs to know about EenvoudigFactureren beyond its capabilities.

Loaded only by the suite (``invoicekit_conformance``), by its convention of looking for
``<package>.conformance:profile``; production code never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from invoicekit_conformance import ConformanceProfile, DocumentKind, ProviderTotals

from invoicekit.model import CreditNote, Invoice
from invoicekit.sandbox import Sandbox

__all__ = ["profile"]


def _stored_ids(sandbox: Sandbox, kind: DocumentKind) -> Sequence[str] | None:
    # One EF domain holds invoices and credit notes (told apart by `type`); payments live inside them.
    if kind == "client":
        return [str(record["id"]) for record in sandbox.store.all("clients")]
    invoices = sandbox.store.all("invoices")
    if kind == "payment":
        return [str(p["payment_id"]) for record in invoices for p in record.get("payments", [])]
    wanted = "creditnote" if kind == "credit_note" else "invoice"
    return [str(record["id"]) for record in invoices if record.get("type") == wanted]


def _money(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _provider_totals(document: Invoice | CreditNote) -> ProviderTotals | None:
    # EF computes total_without_tax, total_tax_1..3 and total_with_tax itself; a credit note's are negative.
    raw = document.raw if isinstance(document.raw, dict) else None
    if raw is None:
        return None
    sign = Decimal(-1) if raw.get("type") == "creditnote" else Decimal(1)
    net, gross = _money(raw.get("total_without_tax")), _money(raw.get("total_with_tax"))
    taxes = [_money(raw.get(f"total_tax_{i}")) for i in (1, 2, 3)]
    vat = sum((t for t in taxes if t is not None), Decimal(0)) if any(t is not None for t in taxes) else None
    return ProviderTotals(
        tax_exclusive=net * sign if net is not None else None,
        vat_total=vat * sign if vat is not None else None,
        payable=gross * sign if gross is not None else None,
    )


profile = ConformanceProfile(
    stored_ids=_stored_ids,
    provider_totals=_provider_totals,
    # EF's custom fields exist only once defined on the account (Settings > Advanced): the suite's sample
    # client uses "segment", so the sandbox account defines it, as a real account would have to.
    sandbox_options={"custom_fields": {"segment": "Segment"}},
    live_credentials={"api_key": "INVOICEKIT_EENVOUDIGFACTUREREN_API_KEY"},
)
