"""Property tests: whatever valid document the model accepts, the export passes the checks and round-trips."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit.model import AllowanceCharge, Invoice, InvoiceRow
from invoicekit.ubl import from_ubl, preflight, to_ubl

from ._golden import belgian_client, seller
from .conftest import Validator

rates = st.sampled_from([Decimal(21), Decimal(12), Decimal(6)])
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("5000"), places=4)
quantities = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=3)  # credit lines too
percents = st.none() | st.decimals(min_value=Decimal("0.5"), max_value=Decimal("50"), places=1)

rows = st.builds(
    InvoiceRow,
    description=st.sampled_from(["Consultancy", "Hardware", "Licence", "Travel"]),
    quantity=quantities,
    unit=st.sampled_from(["C62", "HUR", "DAY", "KGM"]),
    unit_price=prices,
    discount_percent=percents,
    vat_rate=rates,
)
allowances = st.builds(
    AllowanceCharge,
    is_charge=st.booleans(),
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5.00"), places=2),
    reason=st.just("Adjustment"),
    vat_rate=rates,
)
invoices = st.builds(
    Invoice,
    number=st.just("2026-0100"),
    issue_date=st.just(date(2026, 3, 2)),
    payment_term_days=st.integers(min_value=0, max_value=60),
    client=st.just(belgian_client()),
    rows=st.lists(rows, min_size=1, max_size=4),
    discount_percent=percents,
    allowances_charges=st.lists(allowances, max_size=2),
)


def _positive(invoice: Invoice) -> bool:
    # A document whose allowances exceed its lines would have negative VAT groups: not a realistic invoice.
    return all(group.taxable_amount > 0 for group in invoice.totals.breakdown)


@settings(max_examples=150, deadline=None)
@given(invoices.filter(_positive))
def test_every_exported_invoice_passes_preflight_and_round_trips(invoice: Invoice) -> None:
    data = to_ubl(invoice, seller())
    assert [f for f in preflight(data) if f.is_fatal] == []
    imported = from_ubl(data)
    assert imported.leftovers.issues == ()
    assert imported.leftovers.unmapped == ()
    assert imported.to_ubl() == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(invoice=invoices.filter(_positive))
def test_every_exported_invoice_passes_the_official_rules(invoice: Invoice, full_validate: Validator) -> None:
    report = full_validate(to_ubl(invoice, seller()))
    assert report.fatal == (), str(report)
