"""The sandbox's own totals, computed the way we assume Flowtly computes them (never invoicekit's engine).

Assumed rule (provenance ``behaviour`` ``invoice.totals``): a row's net is its quantity times ``netPrice``
rounded half-up to the cent, less ``netDiscountAmount`` rounded to the cent; VAT is computed once per
numeric ``vatRate`` on the sum of those nets and rounded half-up; zero-rated codes (``zw``, ``oo``, ...)
carry no VAT. ``amountNet`` is the sum of the nets, ``amount`` adds the VAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicekit.sandbox import cents

_CENT = Decimal("0.01")

__all__ = ["Totals", "numeric_rate", "totals"]


def numeric_rate(code: str) -> Decimal | None:
    """The VAT percentage of a ``vatRate`` string, or None for a zero-rated code."""
    try:
        rate = Decimal(code.replace(",", "."))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() else None


def row_net(row: Mapping[str, Any]) -> Decimal:
    gross = cents(Decimal(str(row["quantity"])) * Decimal(str(row["netPrice"])))
    discount = cents(Decimal(str(row.get("netDiscountAmount") or "0")))
    return gross - discount


class Totals:
    def __init__(self, net: Decimal, vat: Decimal) -> None:
        self.net = net
        self.vat = vat

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def totals(rows: Iterable[Mapping[str, Any]]) -> Totals:
    by_rate: dict[Decimal, Decimal] = {}
    net = Decimal(0)
    for row in rows:
        line = row_net(row)
        net += line
        rate = numeric_rate(str(row.get("vatRate", "0")))
        if rate:
            key = rate.quantize(_CENT)
            by_rate[key] = by_rate.get(key, Decimal(0)) + line
    vat = sum((cents(base * rate / 100) for rate, base in by_rate.items()), Decimal(0))
    return Totals(net, vat)
