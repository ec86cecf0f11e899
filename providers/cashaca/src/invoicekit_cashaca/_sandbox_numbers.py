"""Numbering and totals of Cashaca documents in the sandbox (pure functions, no state)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoicekit.model import Totals, compute_totals, round2
from invoicekit.model._totals import line_amounts
from invoicekit.vat import VatCategory
from invoicekit_cashaca._sandbox_http import Params

__all__ = [
    "EARLY_PAYMENT_DISCOUNT",
    "FIXED_DISCOUNT",
    "NO_DISCOUNT",
    "PERCENT_DISCOUNT",
    "Row",
    "document_totals",
    "next_serial_number",
    "serial_for_year",
]

# discount_style_id (apipie docs): 0 none, 1 fixed amount, 2 percentage, 3 discount for early payment.
NO_DISCOUNT, FIXED_DISCOUNT, PERCENT_DISCOUNT, EARLY_PAYMENT_DISCOUNT = 0, 1, 2, 3

_STANDARD_SERIAL = re.compile(r"^(\d{4})_(\d+)$")
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


# --- numbering -------------------------------------------------------------------------------------------


def _highest_in_year(records: list[Params], year: int) -> int:
    numbers = [
        int(match[2])
        for record in records
        if (match := _STANDARD_SERIAL.match(str(record.get("serial_number") or ""))) and int(match[1]) == year
    ]
    return max(numbers, default=0)


def serial_for_year(records: list[Params], year: int) -> str:
    """The next ``YYYY_NNNN`` number of ``year`` (a number given by hand in that form moves it on too)."""
    return f"{year}_{_highest_in_year(records, year) + 1:04d}"


def next_serial_number(records: list[Params], today: date) -> str:
    """The number that follows the one on the last booked document (the docs' definition).

    Assumption (reference #4): numbers of the form ``YYYY_NNNN`` restart every year, so after ``2025_0108``
    the next number in 2026 is ``2026_0001``; any other form has its last digits incremented
    (``L-0249`` -> ``L-0250``).
    """
    if not records:
        return serial_for_year(records, today.year)
    last = str(records[-1].get("serial_number") or "")
    match = _LAST_DIGITS.search(last)
    if _STANDARD_SERIAL.match(last) or match is None:
        return serial_for_year(records, today.year)
    digits = match[1]
    return last[: match.start()] + str(int(digits) + 1).zfill(len(digits)) + last[match.end() :]


# --- totals ----------------------------------------------------------------------------------------------


def _category(rate: Decimal) -> VatCategory:
    # Cashaca stores a percentage, not a category; only the grouping per rate matters for the totals.
    return VatCategory.S if rate > 0 else VatCategory.Z


@dataclass(frozen=True)
class Row:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    discount_percent: Decimal | None = None
    exemption_code: str | None = None
    exemption_reason: str | None = None

    @property
    def vat_category(self) -> VatCategory:
        return _category(self.vat_rate)


@dataclass(frozen=True)
class _Allowance:
    amount: Decimal
    vat_rate: Decimal
    is_charge: bool = False

    @property
    def vat_category(self) -> VatCategory:
        return _category(self.vat_rate)


def _fixed_discount(rows: list[Row], amount: Decimal) -> list[_Allowance]:
    """Spread a fixed document discount over the VAT rates in proportion to their net amounts.

    Assumption (reference §1 Invoice create): a fixed discount (discount_style_id 1) lowers the taxable base
    of every rate pro rata, as Belgian VAT requires of an unconditional discount; the last rate takes the
    rounding remainder so the parts add up to the discount exactly.
    """
    groups: dict[Decimal, Decimal] = {}
    for row in rows:
        rate = row.vat_rate.quantize(Decimal("0.01"))
        groups[rate] = groups.get(rate, Decimal(0)) + line_amounts(row).net
    base = sum(groups.values(), Decimal(0))
    if not amount or not base:
        return []
    parts: list[_Allowance] = []
    remaining = amount
    rates = list(groups)
    for rate in rates[:-1]:
        share = round2(amount * groups[rate] / base)
        parts.append(_Allowance(share, rate))
        remaining -= share
    parts.append(_Allowance(remaining, rates[-1]))
    return parts


def document_totals(rows: list[Row], style: int, percentage: Decimal | None, fixed: Decimal | None) -> Totals:
    # VAT is rounded once per rate over the total, never per line (BR-CO-17, Belgian practice).
    if style == PERCENT_DISCOUNT and percentage:
        return compute_totals(rows, discount_percent=percentage)
    if style == FIXED_DISCOUNT and fixed:
        return compute_totals(rows, _fixed_discount(rows, fixed))
    # Assumption (reference §1 Invoice create): an early-payment discount (style 3) only applies if the client
    # pays within financial_discount_days; it does not change the invoiced totals.
    return compute_totals(rows)
