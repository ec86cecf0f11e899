"""VAT categories (UNCL5305) and a date-effective table of Belgian VAT rates.

Rates are percentages as they appear in UBL ``cbc:Percent`` (``Decimal("21")``, not ``0.21``).

Rates change by law on fixed dates and an invoice must use the rate in force on its tax point, so rates live
in a table of dated entries rather than in an enum. The table is a value: :meth:`VatRateTable.with_entry`
returns an extended copy, which is how users add a rate they need (a temporary measure, a new law) without
waiting for a release or mutating a shared default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "BELGIAN_RATES",
    "DEFAULT_EXEMPTION_CODES",
    "VatCategory",
    "VatRateEntry",
    "VatRateTable",
    "category_needs_zero_rate",
]


class VatCategory(StrEnum):
    """VAT category codes (UNCL5305 subset) allowed in Peppol BIS 3.0 by rule BR-CL-18."""

    S = "S"
    """Standard rate: any rate above zero (in Belgium 21, 12 or 6)."""
    Z = "Z"
    """Zero rated goods: taxable, but at 0 % (Belgium: e.g. daily and weekly newspapers)."""
    E = "E"
    """Exempt from VAT (e.g. art. 44 of the Belgian VAT code); needs an exemption reason code or text."""
    AE = "AE"
    """VAT reverse charge: the buyer accounts for the VAT (domestic co-contractor rule, EU B2B services)."""
    K = "K"
    """VAT exempt for EEA intra-community supply of goods and services."""
    G = "G"
    """Free export item, VAT not charged: export outside the EU."""
    O = "O"  # noqa: E741  (the UNCL5305 code itself)
    """Services outside scope of tax: not subject to VAT; the invoice must then carry no VAT identifiers."""
    L = "L"
    """Canary Islands general indirect tax (IGIC)."""
    M = "M"
    """Tax for production, services and importation in Ceuta and Melilla (IPSI)."""
    B = "B"
    """Transferred VAT (Italian split payment)."""


DEFAULT_EXEMPTION_CODES: Mapping[VatCategory, str] = MappingProxyType(
    {
        VatCategory.AE: "VATEX-EU-AE",
        VatCategory.K: "VATEX-EU-IC",
        VatCategory.G: "VATEX-EU-G",
        VatCategory.O: "VATEX-EU-O",
    }
)
"""The VATEX exemption reason code (BT-121) that fits each category when the user gives none.
E has no default on purpose: exemptions rest on different articles (VATEX-EU-132..., -143..., ...) and
Belgium has no national codes, so an exempt supply needs the user's own code or reason text (BR-E-10)."""

_ZERO_RATE_CATEGORIES = frozenset(
    {VatCategory.AE, VatCategory.K, VatCategory.G, VatCategory.E, VatCategory.Z, VatCategory.O}
)


def category_needs_zero_rate(category: VatCategory | str) -> bool:
    """Return whether lines of this category carry no VAT (AE, K, G, E, Z and O).

    For AE, K, G, E and Z the rate must be 0 (BR-AE-05, BR-IC-05, BR-G-05, BR-E-05, BR-Z-05); for O the
    invoice must carry no rate at all (BR-O-05), which the UBL writer handles by leaving it out.
    """
    return VatCategory(category) in _ZERO_RATE_CATEGORIES


def _as_day(day: date) -> date:
    # datetime is a date subclass, but comparing one with a date raises TypeError; use its calendar day.
    return day.date() if isinstance(day, datetime) else day


@dataclass(frozen=True, slots=True)
class VatRateEntry:
    """One rate in force between two dates, both inclusive (``valid_until=None``: still in force).

    ``key`` names the kind of supply for :meth:`VatRateTable.rate_for` (``"hotel"``); entries that only
    state which rates exist can leave it out.
    """

    rate: Decimal
    valid_from: date
    valid_until: date | None = None
    description: str = ""
    key: str | None = None

    def __post_init__(self) -> None:
        # Floats would silently carry binary rounding into money maths; insist on Decimal.
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite():
            raise TypeError(f"rate must be a finite Decimal percentage, got {self.rate!r}")
        if not Decimal(0) <= self.rate <= Decimal(100):
            raise ValueError(f"rate must be a percentage between 0 and 100, got {self.rate}")
        object.__setattr__(self, "valid_from", _as_day(self.valid_from))
        if self.valid_until is not None:
            object.__setattr__(self, "valid_until", _as_day(self.valid_until))
            if self.valid_until < self.valid_from:
                raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        if self.key is not None and not self.key:
            raise ValueError("key must be a non-empty string or None")

    def in_force_on(self, day: date) -> bool:
        """Return whether this rate applies on ``day``."""
        day = _as_day(day)
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class VatRateTable:
    """An immutable, date-effective set of VAT rates; extend it with :meth:`with_entry`.

    When several entries with the same ``key`` are in force on a day, the one added last wins in
    :meth:`rate_for`: adding an entry is therefore also how a user overrides a built-in one.
    """

    __slots__ = ("_entries",)

    _entries: tuple[VatRateEntry, ...]

    def __init__(self, entries: Iterable[VatRateEntry] = ()) -> None:
        checked = tuple(entries)
        for entry in checked:
            if not isinstance(entry, VatRateEntry):
                raise TypeError(f"expected VatRateEntry, got {entry!r}")
        # BELGIAN_RATES is shared module state; a table that could change under another caller's feet
        # would defeat the point of with_entry returning copies.
        object.__setattr__(self, "_entries", checked)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use with_entry() to extend it")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def entries(self) -> tuple[VatRateEntry, ...]:
        """All entries, in the order they were added."""
        return self._entries

    @property
    def keys(self) -> frozenset[str]:
        """The supply kinds :meth:`rate_for` knows about."""
        return frozenset(entry.key for entry in self._entries if entry.key is not None)

    def rates_on(self, day: date) -> frozenset[Decimal]:
        """All rates in force on ``day``."""
        return frozenset(entry.rate for entry in self._entries if entry.in_force_on(day))

    def is_valid_rate(self, rate: Decimal, day: date) -> bool:
        """Return whether ``rate`` is in force on ``day`` (``Decimal("21.00")`` matches ``21``)."""
        return rate in self.rates_on(day)

    def rate_for(self, key: str, day: date) -> Decimal:
        """Return the rate for a kind of supply on ``day`` (``rate_for("hotel", date(2026, 3, 1))`` -> 12).

        Raises :class:`KeyError` if no entry has this key, or none of them is in force on ``day``.
        """
        matching = [entry for entry in self._entries if entry.key == key]
        if not matching:
            known = ", ".join(sorted(self.keys)) or "none"
            raise KeyError(f"unknown VAT rate key {key!r} (known keys: {known})")
        for entry in reversed(matching):
            if entry.in_force_on(day):
                return entry.rate
        raise KeyError(f"no VAT rate for {key!r} is in force on {_as_day(day).isoformat()}")

    def with_entry(
        self,
        rate: Decimal,
        *,
        valid_from: date,
        valid_until: date | None = None,
        description: str = "",
        key: str | None = None,
    ) -> VatRateTable:
        """Return a copy of this table with one more entry; this table is left unchanged."""
        entry = VatRateEntry(
            rate=rate, valid_from=valid_from, valid_until=valid_until, description=description, key=key
        )
        return VatRateTable((*self._entries, entry))

    def __iter__(self) -> Iterator[VatRateEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VatRateTable):
            return NotImplemented
        return self._entries == other._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        return f"VatRateTable({list(self._entries)!r})"


# The table starts on 1 Jan 2000, the first day on which 0/6/12/21 were the complete set of Belgian rates
# (21 % since 1 Jan 1996, the 1 % rate abolished on 1 Jan 2000). Earlier rates (19.5 %, 20.5 %, 1 %) are
# left out: nobody issues those invoices through this library, and with_entry can add them if needed.
_START = date(2000, 1, 1)
# From 1 Mar 2026 hotels/campsites go from 6 to 12 % and plant-protection products
# from 12 to 21 %. The announced increases for take-away meals, sport and culture were withdrawn (KPMG,
# 13 Feb 2026), so they are deliberately absent even though some sources still list them at 12 %.
_MARCH_2026 = date(2026, 3, 1)
_FEB_2026_END = date(2026, 2, 28)

BELGIAN_RATES = VatRateTable(
    (
        VatRateEntry(Decimal("21"), _START, None, "standard rate", "standard"),
        VatRateEntry(Decimal("12"), _START, None, "intermediate reduced rate", "intermediate"),
        VatRateEntry(Decimal("6"), _START, None, "reduced rate", "reduced"),
        VatRateEntry(Decimal("0"), _START, None, "zero rate (e.g. daily and weekly newspapers)", "zero"),
        VatRateEntry(Decimal("6"), _START, _FEB_2026_END, "hotel and campsite accommodation", "hotel"),
        VatRateEntry(Decimal("12"), _MARCH_2026, None, "hotel and campsite accommodation", "hotel"),
        VatRateEntry(Decimal("12"), _START, _FEB_2026_END, "plant-protection products", "plant_protection"),
        VatRateEntry(Decimal("21"), _MARCH_2026, None, "plant-protection products", "plant_protection"),
    )
)
"""Belgian VAT rates. ``rates_on`` is {0, 6, 12, 21} on every day of the table; the keyed entries let
callers ask for the rate of a kind of supply whose rate changed (``rate_for("hotel", day)``)."""
