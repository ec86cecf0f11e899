"""``GET /invoices/{id}?format=pdf``: the invoice as a real PDF, the vendor tool's default download.

The sandbox computes and formats every amount itself (its own totals, :func:`_sandbox_invoices.totals`) and
hands the page to the shared renderer, :func:`invoicekit.sandbox.render_pdf`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from invoicekit.sandbox import PdfDocument, PdfLine, render_pdf
from invoicekit_eenvoudigfactureren._sandbox_common import ACCOUNT, Env, money
from invoicekit_eenvoudigfactureren._sandbox_invoices import render_invoice

__all__ = ["invoice_pdf"]


def _lines(*parts: Any) -> list[str]:
    return [str(part) for part in parts if str(part or "").strip()]


def invoice_pdf(env: Env, record: dict[str, Any]) -> bytes:
    data = render_invoice(env, record)
    # EF keeps a credit note's amounts negative; the printed credit note states them as amounts credited.
    sign = Decimal(-1) if data["type"] == "creditnote" else Decimal(1)

    def amount(value: Any) -> str:
        return money(Decimal(str(value)) * sign)

    client = env.store.get("clients", int(record["client_id"])) or {}
    lines = [
        PdfLine(
            description=str(item["description"]),
            quantity=str(item["quantity"]),
            unit_price=amount(item["amount"]),
            vat_rate=str(item["tax_rate"]),
            net=amount(item["total_without_tax"]),
        )
        for item in data["items"]
    ]
    vat_total = Decimal(data["total_with_tax"]) - Decimal(data["total_without_tax"])
    title = "Creditnota" if data["type"] == "creditnote" else "Factuur"
    document = PdfDocument(
        title=title,
        number=str(data["number"]),
        issue_date=str(data["date"]),
        due_date=str(data["date_overdue"]) or None,
        seller=_lines(
            ACCOUNT["name"],
            ACCOUNT["street"],
            f"{ACCOUNT['postal_code']} {ACCOUNT['city']}",
            ACCOUNT["vat_number"],
        ),
        buyer=_lines(
            client.get("name"),
            client.get("street"),
            f"{client.get('postal_code', '')} {client.get('city', '')}",
            client.get("tax_code"),
        ),
        lines=lines,
        net_total=amount(data["total_without_tax"]),
        vat_total=amount(vat_total),
        payable=amount(data["total_with_tax"]),
        currency=str(data["currency"]),
        payment_reference=_ogm(str(data["structured_message"])) or None,
    )
    return bytes(render_pdf(document))


def _ogm(digits: str) -> str:
    """The structured message as printed on Belgian invoices, +++ddd/dddd/ddddd+++."""
    if len(digits) != 12:
        return ""
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"
