"""Totals of Cashaca documents in the sandbox (pure functions, no state; numbering: _sandbox_serials.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoicekit.sandbox import cents

__all__ = [
    "EARLY_PAYMENT_DISCOUNT",
    "EU_VAT_RATES",
    "FIXED_DISCOUNT",
    "NO_DISCOUNT",
    "PERCENT_DISCOUNT",
    "DocumentTotals",
    "Row",
    "document_totals",
]

# discount_style_id (apipie docs): 0 none, 1 fixed amount, 2 percentage, 3 discount for early payment.
NO_DISCOUNT, FIXED_DISCOUNT, PERCENT_DISCOUNT, EARLY_PAYMENT_DISCOUNT = 0, 1, 2, 3

# Standard and reduced VAT rates per EU country (2025), for vat_rates.json.
# Assumed answer of vat_rates.json: a bare array of percentages as strings, highest first.
EU_VAT_RATES: dict[str, tuple[str, ...]] = {
    "AT": ("20", "13", "10"), "BE": ("21", "12", "6", "0"), "BG": ("20", "9"), "CY": ("19", "9", "5", "3"),
    "CZ": ("21", "12"), "DE": ("19", "7"), "DK": ("25",), "EE": ("24", "13", "9"), "EL": ("24", "13", "6"),
    "ES": ("21", "10", "4"), "FI": ("25.5", "14", "10"), "FR": ("20", "10", "5.5", "2.1"), "HR": ("25", "13", "5"),
    "HU": ("27", "18", "5"), "IE": ("23", "13.5", "9", "4.8"), "IT": ("22", "10", "5", "4"), "LT": ("21", "12", "5"),
    "LU": ("17", "14", "8", "3"), "LV": ("21", "12", "5"), "MT": ("18", "7", "5"), "NL": ("21", "9"),
    "PL": ("23", "8", "5"), "PT": ("23", "13", "6"), "RO": ("21", "11"), "SE": ("25", "12", "6"),
    "SI": ("22", "9.5", "5"), "SK": ("23", "19", "5"),
}  # fmt: skip

# --- totals ----------------------------------------------------------------------------------------------
#
# The sandbox's own arithmetic, written from what Cashaca's documents show (amount excl. VAT per rate,
# amount_at_0..21 on the sale, one vat_amount): it never calls invoicekit's totals engine, so comparing the
# two ("provider totals" in the conformance suite) compares two computations.
# Assumption: each line is rounded to the cent (halves up) before lines are added, and VAT is computed once
# per rate over the rate's total, as Belgian invoicing programs commonly do; no source shows Cashaca's rule.


@dataclass(frozen=True)
class Row:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal


@dataclass(frozen=True)
class RateTotal:
    rate: Decimal
    taxable: Decimal
    vat: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    lines: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal
    by_rate: tuple[RateTotal, ...]

    @property
    def payable(self) -> Decimal:
        return self.net + self.vat


def _by_rate(rows: list[Row]) -> dict[Decimal, Decimal]:
    groups: dict[Decimal, Decimal] = {}
    for row in rows:
        rate = row.vat_rate.normalize()
        groups[rate] = groups.get(rate, Decimal(0)) + cents(row.quantity * row.unit_price)
    return groups


def _spread(groups: dict[Decimal, Decimal], discount: Decimal) -> dict[Decimal, Decimal]:
    """A document discount taken off each rate in proportion to its lines; the last rate takes the
    rounding remainder, so the parts add up to the discount exactly (assumed, as for the rounding)."""
    base = sum(groups.values(), Decimal(0))
    if not discount or not base:
        return {rate: Decimal(0) for rate in groups}
    parts: dict[Decimal, Decimal] = {}
    remaining = discount
    rates = list(groups)
    for rate in rates[:-1]:
        parts[rate] = cents(discount * groups[rate] / base)
        remaining -= parts[rate]
    parts[rates[-1]] = remaining
    return parts


def document_totals(rows: list[Row], style: int, percentage: Decimal | None, fixed: Decimal | None) -> DocumentTotals:
    groups = _by_rate(rows)
    lines = sum(groups.values(), Decimal(0))
    parts = {rate: Decimal(0) for rate in groups}
    if style == PERCENT_DISCOUNT and percentage:
        # A percentage comes off each rate's lines, rounded per rate (assumed, like the rest).
        parts = {rate: cents(amount * percentage / 100) for rate, amount in groups.items()}
    elif style == FIXED_DISCOUNT and fixed:
        parts = _spread(groups, cents(fixed))
    # Assumed: an early-payment discount (style 3) only applies if the client pays within
    # financial_discount_days; it does not change the invoiced totals.
    discount = sum(parts.values(), Decimal(0))
    by_rate = []
    for rate, amount in groups.items():
        taxable = amount - parts[rate]
        by_rate.append(RateTotal(rate, taxable, cents(taxable * rate / 100)))
    net = sum((r.taxable for r in by_rate), Decimal(0))
    vat = sum((r.vat for r in by_rate), Decimal(0))
    return DocumentTotals(lines, discount, net, vat, tuple(by_rate))
