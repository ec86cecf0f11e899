"""The EN 16931 totals engine: one place where every amount on a document is computed.

Rules (EN 16931-1 and Belgian law, which both round VAT once per rate, never per line):

* a line's net amount is rounded to 2 decimals first (gross = qty x price, its discount rounded on its own);
* lines, document allowances and charges are grouped by VAT (category, rate); a percentage discount on the
  document becomes one allowance per group, rounded per group;
* each group's VAT = round2(taxable x rate / 100), rounded once (BR-CO-17);
* the document totals are sums of already-rounded amounts, so BR-CO-10/13/14/15/16 hold exactly.

Rounding is ROUND_HALF_UP on values that are already 2-decimal sums, so the XPath ``round()`` of the
schematron (halves towards +infinity) agrees with it for every amount we emit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from invoicekit.vat import VatCategory

__all__ = ["AllowanceChargeLike", "RowLike", "Totals", "VatBreakdown", "compute_totals", "round2"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class RowLike(Protocol):
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def discount_percent(self) -> Decimal | None: ...
    @property
    def vat_category(self) -> VatCategory: ...
    @property
    def vat_rate(self) -> Decimal: ...
    @property
    def exemption_code(self) -> str | None: ...
    @property
    def exemption_reason(self) -> str | None: ...


class AllowanceChargeLike(Protocol):
    @property
    def is_charge(self) -> bool: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def vat_category(self) -> VatCategory: ...
    @property
    def vat_rate(self) -> Decimal: ...


@dataclass(frozen=True)
class LineAmounts:
    """One row's amounts, rounded to the cent: quantity x unit price, its discount, and what is left (BT-131)."""

    gross: Decimal
    discount: Decimal
    net: Decimal


@dataclass(frozen=True)
class VatBreakdown:
    """One VAT subtotal (BG-23)."""

    category: VatCategory
    rate: Decimal
    taxable_amount: Decimal
    vat_amount: Decimal
    exemption_code: str | None = None
    exemption_reason: str | None = None


@dataclass(frozen=True)
class Totals:
    """Document totals (BG-22) and the VAT breakdown (BG-23), all rounded to the cent."""

    lines: tuple[LineAmounts, ...]
    line_extension: Decimal  # BT-106
    allowance_total: Decimal  # BT-107 (includes the document discount)
    charge_total: Decimal  # BT-108
    tax_exclusive: Decimal  # BT-109
    vat_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    rounding: Decimal  # BT-114
    payable: Decimal  # BT-115
    breakdown: tuple[VatBreakdown, ...]
    discount_allowances: tuple[tuple[VatCategory, Decimal, Decimal], ...]  # (category, rate, amount)


def line_amounts(row: RowLike) -> LineAmounts:
    gross = round2(row.quantity * row.unit_price)
    discount = round2(gross * row.discount_percent / HUNDRED) if row.discount_percent else ZERO
    return LineAmounts(gross=gross, discount=discount, net=gross - discount)


def _rate_key(rate: Decimal) -> Decimal:
    # 21, 21.0 and 21.00 are one rate: normalise so they land in one VAT group (two subtotals for one rate
    # is a classic BR-S-08 failure).
    return rate.quantize(CENT)


def compute_totals(
    rows: Sequence[RowLike],
    allowances_charges: Iterable[AllowanceChargeLike] = (),
    *,
    discount_percent: Decimal | None = None,
    prepaid: Decimal = ZERO,
    rounding: Decimal = ZERO,
) -> Totals:
    lines = tuple(line_amounts(row) for row in rows)
    groups: dict[tuple[VatCategory, Decimal], Decimal] = {}
    reasons: dict[tuple[VatCategory, Decimal], tuple[str | None, str | None]] = {}
    for row, amounts in zip(rows, lines, strict=True):
        key = (row.vat_category, _rate_key(row.vat_rate))
        groups[key] = groups.get(key, ZERO) + amounts.net
        reasons.setdefault(key, (row.exemption_code, row.exemption_reason))

    allowance_total = ZERO
    charge_total = ZERO
    discounts: list[tuple[VatCategory, Decimal, Decimal]] = []
    if discount_percent:
        for (category, rate), base in list(groups.items()):
            amount = round2(base * discount_percent / HUNDRED)
            discounts.append((category, rate, amount))
            groups[(category, rate)] = base - amount
            allowance_total += amount
    for item in allowances_charges:
        key = (item.vat_category, _rate_key(item.vat_rate))
        amount = round2(item.amount)
        sign = 1 if item.is_charge else -1
        groups[key] = groups.get(key, ZERO) + sign * amount
        reasons.setdefault(key, (None, None))
        if item.is_charge:
            charge_total += amount
        else:
            allowance_total += amount

    breakdown = tuple(
        VatBreakdown(
            category=category,
            rate=rate,
            taxable_amount=taxable,
            vat_amount=round2(taxable * rate / HUNDRED),
            exemption_code=reasons[(category, rate)][0],
            exemption_reason=reasons[(category, rate)][1],
        )
        for (category, rate), taxable in groups.items()
    )
    line_extension = sum((line.net for line in lines), ZERO)
    tax_exclusive = line_extension - allowance_total + charge_total
    vat_total = sum((group.vat_amount for group in breakdown), ZERO)
    tax_inclusive = tax_exclusive + vat_total
    return Totals(
        lines=lines,
        line_extension=line_extension,
        allowance_total=allowance_total,
        charge_total=charge_total,
        tax_exclusive=tax_exclusive,
        vat_total=vat_total,
        tax_inclusive=tax_inclusive,
        prepaid=round2(prepaid),
        rounding=round2(rounding),
        payable=tax_inclusive - round2(prepaid) + round2(rounding),
        breakdown=breakdown,
        discount_allowances=tuple(discounts),
    )
