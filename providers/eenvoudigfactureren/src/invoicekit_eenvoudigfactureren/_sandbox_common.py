"""What every sandbox domain needs: the account, its settings, input checks with EF's own messages.

EF's error messages name the field first: ``name is required``, ``phone_number too long``, ``structured_message
too short``, ``number not unique``, ``amount can not be 0.00``, ``items cannot be empty``, ``detail_id
unknown`` (hvierendeels/efAPI efAPI.java, seed 004). The sandbox words every refusal that way; where
EF's exact message is not known it uses the nearest of these patterns (``<field> invalid``, ``<field> unknown``).
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pycountry

from invoicekit.sandbox import (
    FieldError,
    Sandbox,
    cents,
    coerce_bool,
    coerce_date,
    coerce_decimal,
    coerce_int,
    coerce_str,
    enforces,
    serves,
)
from invoicekit_eenvoudigfactureren._sandbox_query import comparable
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = [
    "ACCOUNT",
    "LAYOUT",
    "Env",
    "choice",
    "country_code_for",
    "country_name",
    "decimal_field",
    "int_field",
    "is_empty",
    "money",
    "text",
    "timestamp",
]

# The account a fresh sandbox pretends to be (what /accounts/current shows and the UBL export uses as
# seller). The VAT number and IBAN are valid test values, not a real company's.
ACCOUNT: Mapping[str, Any] = {
    "account_id": "CSANDBOX1",
    "number": "100001",
    "name": "EF Sandbox BV",
    "street": "Kerkstraat 1",
    "postal_code": "9000",
    "city": "Gent",
    "country_code": "BE",
    "vat_number": "BE0428759497",
    "email_address": "facturen@ef-sandbox.example",
    "iban": "BE71096123456769",
    "bic": "GKCCBEBB",
}

# The account's one layout; its id is seed 004's example (default_invoices_layout_id 8001), its name assumed.
LAYOUT: Mapping[str, Any] = {"layout_id": 8001, "name": "Standaard"}

# Settings > Taxes: the three rates an invoice item may use besides 0 (woo: GET /settings?fields=taxes).
TAX_RATES = (Decimal(21), Decimal(12), Decimal(6))

# Settings > Advanced: the custom client fields this account has defined (seed 004's example field).
DEFAULT_CUSTOM_FIELDS: Mapping[str, str] = {"myreference": "Onze referentie"}


@functools.cache
def _dutch() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"], fallback=True)


def country_name(code: str) -> str:
    """EF derives ``country`` from ``country_code`` (seed 004: "Bij opvragen wordt dit veld automatisch bepaald
    a.d.h.v. country_code", example BE -> België), for any ISO 3166 code; the Dutch names come from pycountry."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return _dutch().gettext(country.name) if country is not None else code


def country_code_for(name: str) -> str | None:
    """The ISO code of a country named in Dutch (or English), for a ``country`` sent without ``country_code``."""
    wanted = name.strip().lower()
    for country in pycountry.countries:
        if wanted in (_dutch().gettext(country.name).lower(), country.name.lower()):
            return str(country.alpha_2)
    return None


@dataclass
class Env:
    """The sandbox a handler works on, plus the request's base URL (for ``uri`` fields) and today's date."""

    sandbox: Sandbox
    base: str
    today: Callable[[], date] = field(default=date.today)

    @property
    def store(self) -> Any:
        return self.sandbox.store

    def uri(self, *parts: object) -> str:
        return "/".join([self.base, *(str(p) for p in parts)])

    def enforces(self, refusal: str) -> bool:
        """Whether a refusal is on: an assumed one is off in strict mode."""
        return enforces(self.sandbox, refusal)

    def serves_behaviour(self, name: str) -> bool:
        return serves(self.sandbox, "behaviour", name)

    def serves_endpoint(self, name: str) -> bool:
        return serves(self.sandbox, "endpoint", name)

    def custom_fields(self) -> dict[str, str]:
        return {str(r["name"]): str(r.get("description", "")) for r in self.store.all("custom_field_definitions")}


def timestamp(moment: datetime | None = None) -> str:
    """EF's datetime format, ``2018-05-03 11:33:45`` (seed 004, ``last_activity``)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")


def money(value: Decimal) -> str:
    return f"{cents(value):f}"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _refused(error: FieldError, prefix: str) -> ApiError:
    # EF words a refusal "<field> too long" or "<field> invalid" (efAPI.java's notes: "phone_number too long").
    what = "too long" if error.message.startswith("is too long") else "invalid"
    return ApiError(400, f"{prefix}{error.field} {what}")


def text(data: Mapping[str, Any], name: str, *, max_len: int | None = None, prefix: str = "") -> str | None:
    """A text field: None when absent, "" when sent empty (which clears it), else the trimmed text."""
    if name not in data:
        return None
    try:
        return coerce_str(data[name], name, max_len=max_len) or ""
    except FieldError as error:
        raise _refused(error, prefix) from None


def choice(data: Mapping[str, Any], name: str, allowed: set[str] | frozenset[str], *, prefix: str = "") -> str | None:
    value = text(data, name, prefix=prefix) if not isinstance(data.get(name), bool) else "yes"
    if value is None or value == "":
        return value
    if "yes" in allowed:
        # true/false/1/0 mean yes/no: the WooCommerce plugin sends tax_included as a JSON bool (generation.php).
        try:
            flag = coerce_bool(data[name], name)
        except FieldError as error:
            raise _refused(error, prefix) from None
        return "yes" if flag else "no"
    if value.lower() not in allowed:
        raise ApiError(400, f"{prefix}{name} invalid")
    return value.lower()


def int_field(
    data: Mapping[str, Any], name: str, *, low: int = 0, high: int | None = None, prefix: str = ""
) -> int | None:
    try:
        return coerce_int(data.get(name), name, low=low, high=high)
    except FieldError as error:
        raise _refused(error, prefix) from None


def decimal_field(
    data: Mapping[str, Any],
    name: str,
    *,
    places: int = 2,
    low: Decimal | None = None,
    high: Decimal | None = None,
    prefix: str = "",
) -> Decimal | None:
    try:
        return coerce_decimal(data.get(name), name, places=places, low=low, high=high)
    except FieldError as error:
        raise _refused(error, prefix) from None


def date_field(data: Mapping[str, Any], name: str, *, prefix: str = "") -> str | None:
    value = text(data, name, prefix=prefix)
    if value is None or value == "":
        return value
    try:
        parsed = coerce_date(value, name)
    except FieldError as error:
        raise _refused(error, prefix) from None
    return parsed.isoformat() if parsed else ""


def record_id(segment: str, what: str) -> int:
    """An id from the URL; anything but digits is an unknown id, as an unknown number is."""
    if not segment.isdigit():
        raise ApiError(404, f"{what}_id unknown")
    return int(segment)


# Stored fields an equality filter is answered from by the store's index: the reconciliation keys
# (external_client_id, external_invoice_id). Each record also keeps the field's comparable copy (see
# _sandbox_query.comparable) under shadow(field), which is never rendered.
KEY_FIELDS = {"clients": "external_client_id", "invoices": "external_invoice_id"}


def shadow(field: str) -> str:
    return f"{field}_comparable"


def keep_comparable(collection: str, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the comparable copy of its key field (after every create and change)."""
    field = KEY_FIELDS[collection]
    record[shadow(field)] = comparable(record.get(field, ""))
    return record
