"""The EN 16931 totals engine: hand-computed rounding edges and property tests of the BR-CO invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from invoicekit.model import AllowanceCharge, Client, Invoice, InvoiceRow, compute_totals, round2
from invoicekit.vat import VatCategory

BUYER = Client(name="IT Services BV", vat_number="BE0403019261")


def row(price: str, rate: int, qty: str = "1", category: str = "S", **kw: object) -> InvoiceRow:
    return InvoiceRow(description="x", quantity=qty, unit_price=price, vat_rate=rate, vat_category=category, **kw)


def invoice(*rows: InvoiceRow, **kw: object) -> Invoice:
    return Invoice(issue_date=date(2026, 11, 2), client=BUYER, rows=list(rows), **kw)


def test_21_6_and_0_percent_hand_computed() -> None:
    inv = invoice(
        row("19.99", 21, qty="3"),  # 59.97 -> VAT 12.5937
        row("10.333", 6, qty="1.5"),  # 15.4995 -> 15.50 -> VAT 0.93
        row("100", 0, category="E", exemption_code="VATEX-EU-132"),
    )
    t = inv.totals
    assert [line.net for line in t.lines] == [D("59.97"), D("15.50"), D("100.00")]
    assert t.line_extension == D("175.47")
    groups = {(g.category, g.rate): (g.taxable_amount, g.vat_amount) for g in t.breakdown}
    assert groups == {
        (VatCategory.S, D("21")): (D("59.97"), D("12.59")),
        (VatCategory.S, D("6")): (D("15.50"), D("0.93")),
        (VatCategory.E, D("0")): (D("100.00"), D("0.00")),
    }
    assert t.vat_total == D("13.52")
    assert t.payable == D("188.99")


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    # Ten lines of 0.15 at 21 %: per line 0.0315 -> 0.03 each = 0.30; on the total 1.50 -> 0.315 -> 0.32.
    t = invoice(*[row("0.15", 21) for _ in range(10)]).totals
    assert t.vat_total == D("0.32")


def test_half_cent_rounds_up() -> None:
    assert round2(D("0.125")) == D("0.13")
    assert round2(D("2.675")) == D("2.68")
    assert invoice(row("0.125", 21)).totals.line_extension == D("0.13")


def test_row_discount_and_document_discount() -> None:
    inv = invoice(row("100", 21, discount_percent="12.5"), row("33.33", 6), discount_percent="10")
    t = inv.totals
    assert [line.net for line in t.lines] == [D("87.50"), D("33.33")]
    # 10 % per VAT group: 8.75 and 3.333 -> 3.33
    assert t.allowance_total == D("12.08")
    groups = {g.rate: (g.taxable_amount, g.vat_amount) for g in t.breakdown}
    assert groups[D("21")] == (D("78.75"), D("16.54"))
    assert groups[D("6")] == (D("30.00"), D("1.80"))
    assert t.tax_exclusive == D("108.75")
    assert t.payable == D("127.09")


def test_allowances_and_charges_per_group() -> None:
    inv = invoice(
        row("200", 21),
        allowances_charges=[
            AllowanceCharge(amount="15", reason="Loyalty", vat_rate=21),
            AllowanceCharge(is_charge=True, amount="7.50", reason="Shipping", vat_rate=21),
        ],
    )
    t = inv.totals
    assert (t.allowance_total, t.charge_total, t.tax_exclusive) == (D("15.00"), D("7.50"), D("192.50"))
    assert t.vat_total == D("40.43")  # 192.50 x 21 % = 40.425


def test_equal_rates_written_differently_share_one_group() -> None:
    t = invoice(row("10", 21), row("10", D("21.00"))).totals  # type: ignore[arg-type]
    assert len(t.breakdown) == 1


amounts = st.decimals(min_value=D("-999.99"), max_value=D("9999.99"), places=3, allow_nan=False)
quantities = st.decimals(min_value=D("0.001"), max_value=D("500"), places=3, allow_nan=False)
rates = st.sampled_from([D(21), D(12), D(6)])
rows_strategy = st.lists(
    st.builds(
        lambda price, qty, rate, disc: row(str(price), rate, qty=str(qty), discount_percent=disc),  # type: ignore[arg-type]
        amounts,
        quantities,
        rates,
        st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    rows=rows_strategy,
    discount=st.one_of(st.none(), st.decimals(min_value=0, max_value=50, places=2)),
    charge=st.one_of(st.none(), st.decimals(min_value=D("0.01"), max_value=D("99"), places=2)),
)
def test_en16931_invariants(rows: list[InvoiceRow], discount: D | None, charge: D | None) -> None:
    extra = [AllowanceCharge(is_charge=True, amount=charge, reason="Fee", vat_rate=21)] if charge else []
    t = compute_totals(rows, extra, discount_percent=discount)
    cents = D("0.01")
    for value in (t.line_extension, t.allowance_total, t.charge_total, t.tax_exclusive, t.vat_total, t.payable):
        assert value == value.quantize(cents)
    # BR-CO-10: sum of line nets
    assert t.line_extension == sum((line.net for line in t.lines), D(0))
    # BR-CO-13: tax exclusive = lines - allowances + charges
    assert t.tax_exclusive == t.line_extension - t.allowance_total + t.charge_total
    # BR-CO-14: VAT total = sum of the breakdown
    assert t.vat_total == sum((g.vat_amount for g in t.breakdown), D(0))
    # BR-CO-15: inclusive = exclusive + VAT
    assert t.tax_inclusive == t.tax_exclusive + t.vat_total
    # BR-CO-16: payable = inclusive - prepaid + rounding
    assert t.payable == t.tax_inclusive - t.prepaid + t.rounding
    # BR-CO-17 / BR-S-08: one group per rate, VAT = round2(taxable x rate), taxable sums back to the total
    assert len({(g.category, g.rate) for g in t.breakdown}) == len(t.breakdown)
    for group in t.breakdown:
        assert group.vat_amount == round2(group.taxable_amount * group.rate / 100)
    assert sum((g.taxable_amount for g in t.breakdown), D(0)) == t.tax_exclusive
