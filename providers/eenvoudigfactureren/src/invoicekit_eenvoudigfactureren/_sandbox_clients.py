"""The sandbox's ``clients`` domain with its ``contacts`` and ``custom_values`` subdomains (seed 004).

A stored client is EF's writable fields as text, its addresses and SEPA block as nested dicts, its contacts
as a list (ids from a counter) and its custom values as ``{name: value}``. What EF computes (``uri``,
``country``, the document counts, ``last_activity``) is added when the client is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invoicekit_eenvoudigfactureren._sandbox_common import (
    Env,
    choice,
    country_code_for,
    country_name,
    date_field,
    decimal_field,
    int_field,
    is_empty,
    keep_comparable,
    record_id,
    text,
    timestamp,
)
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = [
    "apply_client",
    "contact_input",
    "find_client",
    "render_client",
    "render_contact",
]

CLIENTS = "clients"

# Text fields and their maximum length (seed 004); None: no documented limit.
_TEXT: Mapping[str, int | None] = {
    "external_client_id": 50,
    "name": 75,
    "attention": 100,
    "number": 55,
    "street": 150,
    "street2": 150,
    "city": 50,
    "postal_code": 10,
    "tax_code": 75,
    "company_id": 75,
    "email_address": 125,
    "phone_number": 20,
    "website": 150,
    "private_note": None,
    "private_note_html": None,
    "default_tax_category_special_status": 20,
    "default_note": None,
    "default_note_html": None,
    "default_currency": 3,
}
_YES_NO = frozenset({"yes", "no"})
_CHOICES: Mapping[str, frozenset[str]] = {
    "state": frozenset({"active", "archived"}),
    "tax_code_registration_pending": _YES_NO,
    "default_cash_discount_active": _YES_NO,
    "default_automatic_reminders": _YES_NO,
    "default_language": frozenset({"dutch", "french", "english", "german"}),
    "default_note_position": frozenset({"top", "bottom", "replace"}),
    "default_tax_category": frozenset({"0", "1", "2", "3"}),
}
# Seed 004's XML example, what EF answers, spells every layout field in the plural; its field table spells two
# of them in the singular. Answers use the example's names; input takes both spellings.
_LAYOUTS = (
    "default_invoices_layout_id",
    "default_receipts_layout_id",
    "default_quotes_layout_id",
    "default_orders_layout_id",
    "default_paymentrequests_layout_id",
    "default_deliveries_layout_id",
    "default_customdocuments_layout_id",
)
_LAYOUT_ALIASES = {
    "default_paymentrequest_layout_id": "default_paymentrequests_layout_id",
    "default_customdocument_layout_id": "default_customdocuments_layout_id",
}
_INTS: Mapping[str, tuple[int, int | None]] = {
    "default_days_invoice_due": (0, None),
    "default_days_quote_valid": (0, None),
    "default_cash_discount_days_valid": (0, 100),
    **{name: (0, None) for name in _LAYOUTS},
}
_PERCENTS = ("default_discount_percentage", "default_cash_discount_percentage")
# What EF computes; sent back unchanged (a GET-modify-PUT round trip) they are ignored, not refused.
_READ_ONLY = frozenset(
    {
        "client_id",
        "uri",
        "last_activity",
        "invoice_count",
        "receipt_count",
        "quote_count",
        "order_count",
        "paymentrequest_count",
        "delivery_count",
        "customdocument_count",
        "subscription_count",
        "details",
    }
)
_ADDRESS_TEXT: Mapping[str, int] = {"street": 150, "street2": 150, "city": 50, "postal_code": 10}
_SEPA_TEXT: Mapping[str, int] = {"name": 100, "iban": 50, "bic": 50, "mandate_reference": 100}


def _country_code(data: Mapping[str, Any], prefix: str = "") -> str | None:
    code = text(data, "country_code", prefix=prefix)
    if code is None or code == "":
        return code
    if len(code) != 2 or not code.isalpha() or not code.isupper():
        raise ApiError(400, f"{prefix}country_code invalid")
    return code


def _address(value: Any, name: str) -> dict[str, str] | None:
    if is_empty(value):
        return None
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} invalid")
    prefix = f"{name}."
    address = {key: text(value, key, max_len=limit, prefix=prefix) or "" for key, limit in _ADDRESS_TEXT.items()}
    code = _country_code(value, prefix)
    if not code:
        # The Address type: "country_code: Verplicht" (seed 004); `country` cannot be given.
        raise ApiError(400, f"{prefix}country_code is required")
    address["country_code"] = code
    return address


def _sepa(value: Any) -> dict[str, str] | None:
    if is_empty(value):
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "sepa_collection invalid")
    prefix = "sepa_collection."
    sepa = {key: text(value, key, max_len=limit, prefix=prefix) or "" for key, limit in _SEPA_TEXT.items()}
    sepa["mandate_date"] = date_field(value, "mandate_date", prefix=prefix) or ""
    return sepa


def custom_values_input(value: Any, env: Env) -> dict[str, str]:
    """``custom_values`` as sent: a list of ``{name, value}`` (JSON) or ``<custom_value>`` items (XML)."""
    if is_empty(value):
        return {}
    items = value if isinstance(value, list) else [value]
    defined = env.custom_fields()
    result: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(400, "custom_values invalid")
        name = text(item, "name")
        if not name:
            raise ApiError(400, "name is required")
        if name not in defined:
            # Custom fields are defined under Settings > Advanced (seed 004). Assumption: a name the account
            # lacks is refused rather than ignored (in strict mode it is ignored).
            if env.enforces("custom_value.undefined"):
                raise ApiError(400, f"custom_value {name} unknown")
            continue
        result[name] = text(item, "value", max_len=75) or ""
    return result


def contact_input(data: Any, *, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A contact as sent (create, or update of ``existing``), checked as EF checks it."""
    if not isinstance(data, dict):
        raise ApiError(400, "contact invalid")
    contact = dict(existing or {})
    for key, limit in (("contact_name", 254), ("email_address", 125), ("phone_number", 20)):
        value = text(data, key, max_len=limit)
        if value is not None:
            contact[key] = value
    if not contact.get("contact_name"):
        raise ApiError(400, "contact_name is required")
    if not contact.get("email_address") and not contact.get("phone_number"):
        # "email_address: niet verplicht indien phone_number meegegeven" (and the other way round).
        raise ApiError(400, "email_address is required")
    return contact


def apply_client(env: Env, record: dict[str, Any], data: Any, *, create: bool, replace: bool) -> dict[str, Any]:
    """``data`` applied to ``record``: everything on create and PUT, only the fields sent on POST /id."""
    if not isinstance(data, dict):
        raise ApiError(400, "client invalid")
    if replace:
        record = {str(key): record[key] for key in ("id", "contacts", "number") if key in record}
    data = {_LAYOUT_ALIASES.get(key, key): value for key, value in data.items()}
    for key in data:
        known = key in _TEXT or key in _CHOICES or key in _INTS or key in _PERCENTS
        extra = {"country", "country_code", "delivery_address", "site_address", "sepa_collection"}
        extra |= {"custom_values", "contacts", "default_structured_message", "default_tax_country_code"}
        # Assumption: EF ignores what it does not know; the sandbox refuses it, to catch adapter typos.
        if not (known or key in extra or key in _READ_ONLY) and env.enforces("client.unknown_field"):
            raise ApiError(400, f"{key} unknown")
    for key, limit in _TEXT.items():
        value = text(data, key, max_len=limit)
        if value is not None:
            record[key] = value
    for key, allowed in _CHOICES.items():
        value = choice(data, key, allowed)
        if value is not None:
            record[key] = value
    for key, (low, high) in _INTS.items():
        if key in data:
            number = int_field(data, key, low=low, high=high)
            record[key] = "" if number is None else str(number)
    for key in _PERCENTS:
        if key in data:
            percent = decimal_field(data, key, places=2, low=None, high=None)
            if percent is not None and not 0 <= percent <= 100:
                raise ApiError(400, f"{key} invalid")
            record[key] = "" if percent is None else f"{percent:f}"
    code = _country_code(data)
    if code is not None:
        record["country_code"] = code
    elif "country" in data:
        # "Bij aanmaken/bewerken enkel te gebruiken indien country_code niet werd opgegeven" (seed 004).
        name = text(data, "country", max_len=25) or ""
        found = country_code_for(name) if name else ""
        if found is None and env.enforces("client.country.unknown"):
            raise ApiError(400, "country unknown")
        if found is not None:
            record["country_code"] = found
    if "default_tax_country_code" in data:
        oss = text(data, "default_tax_country_code") or ""
        if oss and (len(oss) != 2 or not oss.isalpha()):
            raise ApiError(400, "default_tax_country_code invalid")
        record["default_tax_country_code"] = oss.upper()
    if "default_structured_message" in data:
        record["default_structured_message"] = _ogm(text(data, "default_structured_message") or "")
    for key in ("delivery_address", "site_address"):
        if key in data:
            record[key] = _address(data[key], key)
    if "sepa_collection" in data:
        record["sepa_collection"] = _sepa(data["sepa_collection"])
    if "custom_values" in data:
        values = custom_values_input(data["custom_values"], env)
        # A POST names the fields it changes; a PUT replaces the whole set.
        record["custom_values"] = values if replace or create else {**record.get("custom_values", {}), **values}
        record["custom_values"] = {k: v for k, v in record["custom_values"].items() if v != ""}
    if create or replace:
        if not record.get("name"):
            raise ApiError(400, "name is required")
    elif "name" in data and not record.get("name"):
        raise ApiError(400, "name is required")
    special = record.get("default_tax_category_special_status")
    if special and record.get("default_tax_category", "1") != "0":
        raise ApiError(400, "default_tax_category_special_status invalid")
    if create and "contacts" in data and not is_empty(data["contacts"]):
        contacts = data["contacts"] if isinstance(data["contacts"], list) else [data["contacts"]]
        record["contacts"] = [
            {"contact_id": env.store.next_value("contact_id"), **contact_input(item)} for item in contacts
        ]
    record.setdefault("contacts", [])
    record.setdefault("state", "active")
    record.setdefault("custom_values", {})
    record["last_activity"] = timestamp()
    return keep_comparable("clients", record)


def _ogm(value: str) -> str:
    from invoicekit_eenvoudigfactureren._sandbox_invoices import check_structured_message

    return check_structured_message(value, "default_structured_message") if value else ""


def find_client(env: Env, segment: str | int) -> dict[str, Any]:
    client_id = segment if isinstance(segment, int) else record_id(segment, "client")
    record = env.store.get(CLIENTS, client_id)
    if record is None:
        raise ApiError(404, "client_id unknown")
    return dict(record)


def next_client_number(env: Env) -> str:
    """EF numbers clients itself when the account says so (the sandbox's does), skipping numbers in use."""
    while True:
        number = str(env.store.next_value("client_number"))
        if not env.store.find(CLIENTS, "number", number, limit=1):
            return number


def render_contact(env: Env, client_id: int, contact: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "contact_id": int(contact["contact_id"]),
        "client_id": client_id,
        "uri": env.uri("clients", client_id, "contacts", contact["contact_id"]),
        "contact_name": contact.get("contact_name", ""),
        "email_address": contact.get("email_address", ""),
        "phone_number": contact.get("phone_number", ""),
    }


def render_address(address: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not address:
        return None
    code = str(address.get("country_code", ""))
    return {
        "street": str(address.get("street", "")),
        "street2": str(address.get("street2", "")),
        "postal_code": str(address.get("postal_code", "")),
        "city": str(address.get("city", "")),
        "country": country_name(code),
        "country_code": code,
    }


def _int_or_none(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def render_custom_values(env: Env, values: Mapping[str, str]) -> list[dict[str, str]]:
    defined = env.custom_fields()
    return [{"name": name, "description": defined.get(name, ""), "value": value} for name, value in values.items()]


def render_client(env: Env, record: Mapping[str, Any]) -> dict[str, Any]:
    """A client as EF shows it, in the order of the seed's XML example."""
    client_id = int(record["id"])
    code = str(record.get("country_code", ""))
    invoices = env.store.find("invoices", "client_id", client_id)

    def t(name: str) -> str:
        return str(record.get(name, ""))

    data: dict[str, Any] = {
        "client_id": client_id,
        "uri": env.uri("clients", client_id),
        "external_client_id": t("external_client_id"),
        "number": t("number"),
        "name": t("name"),
        "attention": t("attention"),
        "street": t("street"),
        "street2": t("street2"),
        "city": t("city"),
        "postal_code": t("postal_code"),
        "country": country_name(code),
        "country_code": code,
        "delivery_address": render_address(record.get("delivery_address")),
        "site_address": render_address(record.get("site_address")),
        "tax_code": t("tax_code"),
        # "Indien niet opgegeven of indien tax_code ingevuld is de standaard waarde 'no'" (seed 004).
        "tax_code_registration_pending": "no" if t("tax_code") else (t("tax_code_registration_pending") or "no"),
        "company_id": t("company_id"),
        "email_address": t("email_address"),
        "phone_number": t("phone_number"),
        "website": t("website"),
        "state": t("state") or "active",
        "private_note": t("private_note"),
        "private_note_html": t("private_note_html"),
        "last_activity": t("last_activity"),
        "default_days_invoice_due": _int_or_none(record.get("default_days_invoice_due")),
        "default_days_quote_valid": _int_or_none(record.get("default_days_quote_valid")),
        "default_tax_category": _int_or_none(record.get("default_tax_category") or "1"),
        "default_tax_category_special_status": t("default_tax_category_special_status"),
        "default_tax_country_code": t("default_tax_country_code"),
        "default_discount_percentage": t("default_discount_percentage"),
        "default_cash_discount_active": t("default_cash_discount_active"),
        "default_cash_discount_percentage": t("default_cash_discount_percentage"),
        "default_cash_discount_days_valid": _int_or_none(record.get("default_cash_discount_days_valid")),
        "default_structured_message": t("default_structured_message"),
        "default_automatic_reminders": t("default_automatic_reminders"),
        "default_language": t("default_language") or "dutch",
        "default_currency": t("default_currency") or "EUR",
        "default_note": t("default_note"),
        "default_note_html": t("default_note_html"),
        # "'top' (bovenaan toevoegen; standaard)" (seed 004).
        "default_note_position": t("default_note_position") or "top",
        **{name: _int_or_none(record.get(name)) for name in _LAYOUTS},
        "sepa_collection": dict(record["sepa_collection"]) if record.get("sepa_collection") else None,
        "invoice_count": sum(1 for r in invoices if r.get("type") != "creditnote"),
        "receipt_count": 0,
        "quote_count": 0,
        "order_count": 0,
        "paymentrequest_count": 0,
        "delivery_count": 0,
        "customdocument_count": 0,
        "subscription_count": 0,
        "contacts": [render_contact(env, client_id, c) for c in record.get("contacts", [])],
        # Deprecated, "niet langer beschikbaar bij nieuwe accounts" (seed 004): a new account shows an empty list,
        # which the 2017 Java client (efClientsBean.details) reads.
        "details": [],
        "custom_values": render_custom_values(env, record.get("custom_values", {})),
    }
    return data
