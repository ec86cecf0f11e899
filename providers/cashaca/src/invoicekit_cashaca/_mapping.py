"""Cashaca JSON <-> the neutral model. Pure functions, no I/O.

Cashaca (formerly Zenfactuur) API v2: JSON bodies wrapped in the resource name, amounts as strings.
Where the public material is silent, the assumption is named (numbers refer to the "Open questions /
assumptions" list of the project's provider research).
"""

from __future__ import annotations

import operator
from datetime import date
from decimal import Decimal
from typing import Any

from invoicekit import belgium
from invoicekit.errors import FieldIssue
from invoicekit.model import (
    Client,
    ClientKind,
    CreditNote,
    Invoice,
    Language,
)
from invoicekit.model._documents import _Document
from invoicekit.vat import VatCategory

__all__ = [
    "client_body",
    "client_from_json",
    "document_lines",
    "invoice_from_json",
    "may_reverse_charge",
    "truthy",
    "type_id_for",
    "unsupported_client_fields",
    "unsupported_document_fields",
]

_EU = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "GR", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip

# Cashaca client type_id (apipie docs): 0 BE person or body without VAT number, 1 BE company,
# 2 company in another EU country, 3 customer outside the EU, 4 private person in another EU country.
BE_PRIVATE, BE_COMPANY, EU_COMPANY, NON_EU, EU_PRIVATE = 0, 1, 2, 3, 4
_LANGUAGES = {Language.NL: "nl", Language.FR: "fr", Language.EN: "en"}


def _money(value: Decimal) -> str:
    return f"{value:f}"


def _dec(value: Any) -> Decimal:
    if type(value) is str and value:  # how Cashaca sends amounts: the common case first
        return Decimal(value)
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _row_order(line: dict[str, Any]) -> int:
    return line.get("row_order") or 0


_BY_ROW_ORDER = operator.itemgetter("row_order")
_STANDARD = VatCategory.S


def _in_row_order(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Sorted by _row_order; when every line has a number (as Cashaca sends them) the key is a C itemgetter,
    # which orders them the same (sorted() is stable). A line without one, or a null, takes the key above.
    try:
        return sorted(lines, key=_BY_ROW_ORDER)
    except (KeyError, TypeError):
        return sorted(lines, key=_row_order)


def type_id_for(client: Client) -> int:
    country = (client.address.country if client.address else None) or (
        client.vat_number[:2] if client.vat_number else "BE"
    )
    company = client.kind is ClientKind.COMPANY
    if country == "BE":
        return BE_COMPANY if company and client.vat_number else BE_PRIVATE
    if country in _EU:
        return EU_COMPANY if company and client.vat_number else EU_PRIVATE
    return NON_EU


def unsupported_client_fields(client: Client, prefix: str = "") -> list[FieldIssue]:
    """Neutral client data Cashaca has nowhere to keep."""
    issues: list[FieldIssue] = []

    def lost(path: str, why: str) -> None:
        issues.append(FieldIssue(prefix + path, f"Cashaca cannot store this: {why}"))

    if client.language is Language.DE:
        lost("language", "its documents are nl, fr or en")
    if client.delivery_address:
        lost("delivery_address", "a client has one address")
    if client.site_address:
        lost("site_address", "a client has one address")
    if client.address and client.address.street2:
        lost("address.street2", "an address has one street line")
    if client.sepa_mandate:
        lost("sepa_mandate", "there are no direct-debit mandates in the API")
    if client.custom_fields:
        lost("custom_fields", "there are no custom fields in the API")
    if len(client.contacts) > 1 or any(c.email or c.phone for c in client.contacts):
        lost("contacts", "a client has one contact name (use the client's own email and phone)")
    if client.enterprise_number and not (client.vat_number and client.vat_number.endswith(client.enterprise_number)):
        lost("enterprise_number", "only the VAT number is stored")
    return issues


def unsupported_document_fields(doc: _Document) -> list[FieldIssue]:
    issues = [FieldIssue("client." + i.path, i.reason) for i in unsupported_client_fields(doc.client)]

    def lost(path: str, why: str) -> None:
        issues.append(FieldIssue(path, f"Cashaca cannot store this: {why}"))

    for i, row in enumerate(doc.rows):
        if row.discount_percent:
            lost(f"rows.{i}.discount_percent", "lines have no discount (use the document discount)")
        if row.unit != "C62":
            lost(f"rows.{i}.unit", "line units are account-specific ids, not UN/ECE codes")
        if row.vat_category in (VatCategory.L, VatCategory.M, VatCategory.B):
            lost(f"rows.{i}.vat_category", "only Belgian VAT treatments exist")
    if doc.allowances_charges:
        lost("allowances_charges", "a document has one discount, no charges")
    if doc.currency != "EUR":
        lost("currency", "documents are in euro")
    if doc.buyer_reference and doc.order_reference and doc.buyer_reference != doc.order_reference:
        lost("buyer_reference", "a document has one reference (po_number), already used by order_reference")
    if doc.due_date and doc.payment_term_days is None and doc.due_date < doc.issue_date:
        lost("due_date", "the due date is issue date + payment term")
    return issues


def client_body(client: Client) -> dict[str, Any]:
    address = client.address
    body: dict[str, Any] = {
        "type_id": type_id_for(client),
        "name": client.name,
        "vat_number": client.vat_number,
        "contact": client.contacts[0].name if client.contacts else None,
        "email": client.email,
        "tel": client.phone,
        "street": address.street if address else None,
        "postcode": address.postal_code if address else None,
        "city": address.city if address else None,
        # Assumed: `country` takes the ISO 3166 code; the v1 page only says "Land" (tombroucke's README sends 'BE').
        "country": address.country if address else None,
        "reference": client.external_id,
        "website": client.website,
        "language": _LANGUAGES.get(client.language, "nl"),
    }
    if client.provider_id:
        body["id"] = int(client.provider_id)
    return {key: value for key, value in body.items() if value is not None}


def client_from_json(data: dict[str, Any]) -> Client:
    return Client.from_provider(**_client_fields(data))


def _client_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A Cashaca client as the neutral Client's fields: a dict, validated by the caller (on its own, or within
    the one validation of the document that carries it)."""
    get = data.get
    street, postcode, city = get("street"), get("postcode"), get("city")
    address = None
    if street and postcode and city:  # a dict, validated within the client's validation
        address = {
            "street": street,
            "postal_code": str(postcode),
            "city": city,
            "country": (get("country") or "BE").upper()[:2],
        }
    type_id = int(get("type_id") or 0)
    vat_number = get("vat_number") or get("btw_number") or None
    kind = ClientKind.PERSON if type_id in (BE_PRIVATE, EU_PRIVATE) and not get("vat_number") else ClientKind.COMPANY
    contact = get("contact")
    language = get("language")
    reference = get("reference") or None
    return {
        "provider_id": str(data["id"]),
        "kind": kind,
        "name": data["name"],
        "vat_number": vat_number,
        "email": get("email") or None,
        "phone": get("tel") or None,
        "website": get("website") or None,
        "language": language if language in ("nl", "fr", "en") else "nl",
        "address": address,
        "contacts": [{"name": contact}] if contact else [],
        "external_id": reference,
        # The reconciliation key travels in `reference`, the client's own customer number (see the adapter).
        "idempotency_key": reference,
        "raw": data,
    }


def document_lines(doc: _Document) -> list[dict[str, Any]]:
    return [
        {
            "description": row.description,
            "number_skus": _money(row.quantity),
            "unit_price": _money(row.unit_price),
            "vat_percentage": _money(row.vat_rate.normalize()),
            "row_order": i,
        }
        for i, row in enumerate(doc.rows)
    ]


def reallocates_vat(doc: _Document) -> bool:
    return any(row.vat_category is VatCategory.AE for row in doc.rows)


def sales_type_id(doc: _Document) -> int:
    # Cashaca books each invoice as a sale of goods (1) or services (2). The neutral model has no such
    # flag; an intra-EU supply (K) is a supply of goods by definition, everything else is booked as
    # services, as the production script in the research does.
    return 1 if any(row.vat_category is VatCategory.K for row in doc.rows) else 2


def truthy(value: Any) -> bool:
    """A Rails boolean as JSON renders it (true, 1, "1", "true")."""
    return str(value).strip().lower() in ("1", "true")


def may_reverse_charge(data: dict[str, Any]) -> bool:
    """Whether a document read back could be reverse charged: a 0 % line for a Belgian client, no
    exemption reason. Only then is its sale worth reading (sale[reallocation_of_vat] is a sale field)."""
    client_type = int((data.get("client") or {}).get("type_id") or 0)
    zero = any(_dec(line.get("vat_percentage")) == 0 for line in data.get("commercial_document_lines") or [])
    return zero and client_type in (BE_PRIVATE, BE_COMPANY) and not data.get("no_vat_reason")


def _row_category(
    rate: Decimal, data: dict[str, Any], client_type: int, reverse_charge: bool
) -> tuple[VatCategory, str | None]:
    # Cashaca stores a percentage per line, not a VAT category; the category is inferred back from the
    # sale's reverse-charge flag (read by the caller from the sale), the client type and the invoice's
    # no_vat_reason (stijn1989 Entity/Invoice.php).
    if rate > 0:
        return VatCategory.S, None
    if reverse_charge:
        return VatCategory.AE, None
    if client_type == EU_COMPANY:
        return VatCategory.K, None
    if client_type == NON_EU:
        return VatCategory.G, None
    reason = data.get("no_vat_reason") or None
    return (VatCategory.E, reason) if reason else (VatCategory.Z, None)


def invoice_from_json(
    data: dict[str, Any], cls: type[Invoice] | type[CreditNote], *, reverse_charge: bool = False
) -> Invoice | CreditNote:
    """A Cashaca invoice or credit note. Its JSON says nothing about payments: status and paid amount stay
    unknown (None); ``list(unpaid=True)`` asks Cashaca which invoices are open."""
    client_data = data.get("client") or {
        # Payloads without the nested client (stijn1989's 2020 entity) carry it as client_* fields.
        "id": data.get("client_id"),
        "name": data.get("client_name"),
        "vat_number": data.get("client_vat_number"),
        "postcode": data.get("client_postcode"),
        "city": data.get("client_city"),
        "country": data.get("client_country"),
        "street": data.get("client_address1"),
    }
    client_type = int(client_data.get("type_id") or 0)
    rows = []
    for line in _in_row_order(data.get("commercial_document_lines") or []):
        get = line.get
        text = get("vat_percentage")
        rate = Decimal(text) if type(text) is str and text else _dec(text)  # _dec, its common case inlined
        quantity, price = get("number_skus") or 1, get("unit_price")
        # Most rows are standard rated: their category needs no look at the document (see _row_category).
        category, reason = (_STANDARD, None) if rate > 0 else _row_category(rate, data, client_type, reverse_charge)
        # Plain dicts: the rows are validated within the document's one validation.
        rows.append(
            {
                "description": get("description") or "",
                # Cashaca's amounts are strings: the model reads a decimal string exactly (and checks it).
                "quantity": quantity if type(quantity) is str else _dec(quantity),
                "unit_price": price if type(price) is str and price else _dec(price),
                "vat_rate": rate,
                "vat_category": category,
                "exemption_reason": reason,
            }
        )
    discount = _dec(data.get("discount_percentage"))
    issue = date.fromisoformat(data["date"])
    due = date.fromisoformat(data["due_date"]) if data.get("due_date") else None
    term = data.get("payment_term")
    ogm = data.get("ogm") or None
    fields: dict[str, Any] = {
        "provider_id": str(data["id"]),
        "number": data.get("serial_number"),
        "issue_date": issue,
        "due_date": due,
        "payment_term_days": int(term) if term not in (None, "") else None,
        "delivery_date": date.fromisoformat(data["delivery_date"]) if data.get("delivery_date") else None,
        # A dict like the rows: the client is validated within the document's one validation.
        "client": _client_fields(client_data),
        "rows": rows,
        "discount_percent": discount or None,
        "note": data.get("custom_text_bottom") or None,
        "order_reference": data.get("po_number") or None,
        # The reconciliation key travels in `internal_description` (see the adapter).
        "idempotency_key": data.get("internal_description") or None,
        "structured_communication": belgium.validate_ogm(ogm) if ogm else None,
        "raw": data,
    }
    if cls is CreditNote:
        fields["corrects_invoice_number"] = data.get("reference") or None
        fields.pop("structured_communication")
    return cls.from_provider(**fields)
