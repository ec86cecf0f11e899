"""Tests for invoicekit.vat: UNCL5305 categories and the date-effective Belgian rate table."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicekit.vat import (
    BELGIAN_RATES,
    DEFAULT_EXEMPTION_CODES,
    VatCategory,
    VatRateEntry,
    VatRateTable,
    category_needs_zero_rate,
)

FOUR_RATES = frozenset({Decimal("0"), Decimal("6"), Decimal("12"), Decimal("21")})
LAST_OLD_DAY = date(2026, 2, 28)
FIRST_NEW_DAY = date(2026, 3, 1)

# --- categories -------------------------------------------------------------------------------------------


def test_categories_are_exactly_the_br_cl_18_codes() -> None:
    assert [c.value for c in VatCategory] == ["S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B"]


def test_category_is_a_plain_string_code() -> None:
    assert VatCategory("AE") is VatCategory.AE
    assert VatCategory.AE == "AE"
    assert f"{VatCategory.K}" == "K"
    with pytest.raises(ValueError, match="'X'"):
        VatCategory("X")


def test_default_exemption_codes() -> None:
    assert dict(DEFAULT_EXEMPTION_CODES) == {
        VatCategory.AE: "VATEX-EU-AE",
        VatCategory.K: "VATEX-EU-IC",
        VatCategory.G: "VATEX-EU-G",
        VatCategory.O: "VATEX-EU-O",
    }
    # An exempt supply needs the user's own code or text.
    assert VatCategory.E not in DEFAULT_EXEMPTION_CODES
    assert DEFAULT_EXEMPTION_CODES["AE"] == "VATEX-EU-AE"  # type: ignore[index]  # StrEnum keys hash as str


def test_default_exemption_codes_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        DEFAULT_EXEMPTION_CODES[VatCategory.E] = "VATEX-EU-132"  # type: ignore[index]


@pytest.mark.parametrize(
    ("category", "zero"),
    [
        (VatCategory.S, False),
        (VatCategory.Z, True),
        (VatCategory.E, True),
        (VatCategory.AE, True),
        (VatCategory.K, True),
        (VatCategory.G, True),
        (VatCategory.O, True),
        (VatCategory.L, False),
        (VatCategory.M, False),
        (VatCategory.B, False),
    ],
)
def test_category_needs_zero_rate(category: VatCategory, zero: bool) -> None:
    assert category_needs_zero_rate(category) is zero
    assert category_needs_zero_rate(category.value) is zero


def test_category_needs_zero_rate_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="'ZZ'"):
        category_needs_zero_rate("ZZ")


# --- Belgian rate table -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2000, 1, 1), date(2025, 6, 30), LAST_OLD_DAY, FIRST_NEW_DAY, date(2040, 12, 31)])
def test_belgian_rates_are_always_the_four(day: date) -> None:
    assert BELGIAN_RATES.rates_on(day) == FOUR_RATES


def test_belgian_rates_start_in_2000() -> None:
    assert BELGIAN_RATES.rates_on(date(1999, 12, 31)) == frozenset()
    assert not BELGIAN_RATES.is_valid_rate(Decimal("21"), date(1995, 6, 1))  # it was 20.5 % then


@pytest.mark.parametrize(
    ("rate", "valid"),
    [
        (Decimal("21"), True),
        (Decimal("21.00"), True),
        (Decimal("12"), True),
        (Decimal("6.0"), True),
        (Decimal("0"), True),
        (Decimal("0.00"), True),
        (Decimal("20.5"), False),
        (Decimal("9"), False),
        (Decimal("22"), False),
        (Decimal("-21"), False),
    ],
)
def test_is_valid_rate(rate: Decimal, valid: bool) -> None:
    assert BELGIAN_RATES.is_valid_rate(rate, date(2026, 5, 1)) is valid


@pytest.mark.parametrize(
    ("key", "before", "after"),
    [
        ("hotel", Decimal("6"), Decimal("12")),
        ("plant_protection", Decimal("12"), Decimal("21")),
        ("standard", Decimal("21"), Decimal("21")),
        ("intermediate", Decimal("12"), Decimal("12")),
        ("reduced", Decimal("6"), Decimal("6")),
        ("zero", Decimal("0"), Decimal("0")),
    ],
)
def test_rate_for_around_1_march_2026(key: str, before: Decimal, after: Decimal) -> None:
    assert BELGIAN_RATES.rate_for(key, date(2010, 1, 1)) == before
    assert BELGIAN_RATES.rate_for(key, LAST_OLD_DAY) == before
    assert BELGIAN_RATES.rate_for(key, FIRST_NEW_DAY) == after
    assert BELGIAN_RATES.rate_for(key, date(2030, 1, 1)) == after


def test_rate_for_accepts_datetimes() -> None:
    assert BELGIAN_RATES.rate_for("hotel", datetime(2026, 2, 28, 23, 59)) == Decimal("6")
    assert BELGIAN_RATES.rate_for("hotel", datetime(2026, 3, 1, 0, 0)) == Decimal("12")
    assert BELGIAN_RATES.rates_on(datetime(2026, 3, 1, 12, 0)) == FOUR_RATES


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_hotel_rate_switches_exactly_once(day: date) -> None:
    expected = Decimal("6") if day < FIRST_NEW_DAY else Decimal("12")
    assert BELGIAN_RATES.rate_for("hotel", day) == expected
    assert BELGIAN_RATES.rates_on(day) == FOUR_RATES


def test_withdrawn_increases_are_not_in_the_table() -> None:
    # Take-away meals, sport and culture stayed at 6 % (KPMG, 13 Feb 2026): no entries for them.
    assert BELGIAN_RATES.keys == {
        "standard",
        "intermediate",
        "reduced",
        "zero",
        "hotel",
        "plant_protection",
    }


def test_rate_for_unknown_key() -> None:
    with pytest.raises(KeyError, match=r"unknown VAT rate key 'takeaway' \(known keys: hotel, "):
        BELGIAN_RATES.rate_for("takeaway", FIRST_NEW_DAY)


def test_rate_for_day_before_the_table() -> None:
    with pytest.raises(KeyError, match="no VAT rate for 'hotel' is in force on 1999-12-31"):
        BELGIAN_RATES.rate_for("hotel", date(1999, 12, 31))


def test_entries_describe_the_2026_changes() -> None:
    hotel = [e for e in BELGIAN_RATES.entries if e.key == "hotel"]
    assert [(e.rate, e.valid_from, e.valid_until) for e in hotel] == [
        (Decimal("6"), date(2000, 1, 1), LAST_OLD_DAY),
        (Decimal("12"), FIRST_NEW_DAY, None),
    ]
    assert all("campsite" in e.description for e in hotel)
    assert all(e.description for e in BELGIAN_RATES.entries)


# --- extending tables -------------------------------------------------------------------------------------


def test_with_entry_returns_a_new_table() -> None:
    extended = BELGIAN_RATES.with_entry(
        Decimal("9"),
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 12, 31),
        description="hypothetical single reduced rate",
        key="single_reduced",
    )
    assert extended is not BELGIAN_RATES
    assert len(extended) == len(BELGIAN_RATES) + 1
    assert Decimal("9") not in BELGIAN_RATES.rates_on(date(2027, 6, 1))
    assert "single_reduced" not in BELGIAN_RATES.keys
    # Both ends of the validity period are inclusive.
    assert not extended.is_valid_rate(Decimal("9"), date(2026, 12, 31))
    assert extended.is_valid_rate(Decimal("9"), date(2027, 1, 1))
    assert extended.is_valid_rate(Decimal("9"), date(2027, 12, 31))
    assert not extended.is_valid_rate(Decimal("9"), date(2028, 1, 1))
    assert extended.rates_on(date(2027, 6, 1)) == FOUR_RATES | {Decimal("9")}
    assert extended.rate_for("single_reduced", date(2027, 6, 1)) == Decimal("9")
    assert extended.entries[-1] == VatRateEntry(
        Decimal("9"),
        date(2027, 1, 1),
        date(2027, 12, 31),
        "hypothetical single reduced rate",
        "single_reduced",
    )


def test_later_entry_overrides_an_existing_key() -> None:
    overridden = BELGIAN_RATES.with_entry(
        Decimal("21"), valid_from=date(2030, 1, 1), description="hotels, hypothetical 2030 law", key="hotel"
    )
    assert overridden.rate_for("hotel", date(2029, 12, 31)) == Decimal("12")
    assert overridden.rate_for("hotel", date(2030, 1, 1)) == Decimal("21")
    assert overridden.rate_for("hotel", LAST_OLD_DAY) == Decimal("6")
    assert BELGIAN_RATES.rate_for("hotel", date(2030, 1, 1)) == Decimal("12")


def test_custom_table_from_entries() -> None:
    table = VatRateTable([VatRateEntry(Decimal("17"), date(2024, 1, 1), key="standard")])
    assert table.rates_on(date(2025, 1, 1)) == {Decimal("17")}
    assert table.rate_for("standard", date(2025, 1, 1)) == Decimal("17")
    assert VatRateTable().rates_on(date(2025, 1, 1)) == frozenset()
    assert table == VatRateTable(list(table))
    assert table != BELGIAN_RATES
    assert "17" in repr(table)


def test_table_is_immutable() -> None:
    with pytest.raises(AttributeError, match="immutable"):
        BELGIAN_RATES._entries = ()
    with pytest.raises(AttributeError, match="immutable"):
        del BELGIAN_RATES._entries
    with pytest.raises(AttributeError):
        BELGIAN_RATES.entries[0].rate = Decimal("22")  # type: ignore[misc]
    assert isinstance(BELGIAN_RATES.entries, tuple)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rate": 21.0}, TypeError, "finite Decimal"),
        ({"rate": 21}, TypeError, "finite Decimal"),
        ({"rate": Decimal("NaN")}, TypeError, "finite Decimal"),
        ({"rate": Decimal("-1")}, ValueError, "between 0 and 100"),
        ({"rate": Decimal("101")}, ValueError, "between 0 and 100"),
        ({"valid_until": date(2023, 12, 31)}, ValueError, "before valid_from"),
        ({"key": ""}, ValueError, "non-empty"),
    ],
)
def test_entry_validation(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    fields: dict[str, object] = {"rate": Decimal("21"), "valid_from": date(2024, 1, 1)} | kwargs
    with pytest.raises(error, match=message):
        VatRateEntry(**fields)  # type: ignore[arg-type]


def test_entry_valid_for_a_single_day() -> None:
    day = date(2024, 2, 29)
    entry = VatRateEntry(Decimal("0"), day, day, "one-day measure")
    assert entry.in_force_on(day)
    assert not entry.in_force_on(day - timedelta(days=1))
    assert not entry.in_force_on(day + timedelta(days=1))


def test_table_rejects_non_entries() -> None:
    with pytest.raises(TypeError, match="expected VatRateEntry"):
        VatRateTable([Decimal("21")])  # type: ignore[list-item]
