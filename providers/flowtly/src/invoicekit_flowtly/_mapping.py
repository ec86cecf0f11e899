"""Pure functions between the neutral model and Flowtly's JSON (no I/O).

Field names come from Flowtly's public docs (flowtly.eu developer platform: clients, invoicing); the ones
they do not show are marked "assumed" here and in the sandbox's provenance.toml.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from invoicekit.errors import FieldIssue
from invoicekit.model import (
    Address,
    Client,
    ClientKind,
    DocumentStatus,
    Invoice,
    InvoiceRow,
    Language,
    Payment,
)
from invoicekit.model._base import provider_context
from invoicekit.model._documents import _Document
from invoicekit.vat import DEFAULT_EXEMPTION_CODES, VatCategory

__all__ = [
    "client_body",
    "client_from_json",
    "document_body",
    "document_from_json",
    "dumps",
    "id_of",
    "iri",
    "paid_amount",
    "payment_from_json",
    "row_body",
    "unsupported_client_fields",
    "unsupported_document_fields",
]

# Flowtly's tinType for a company (VAT number) and a person (none): assumed values of a documented field.
_TIN_VAT, _TIN_NONE = "vat", "none"


def dumps(body: Any) -> bytes:
    """JSON with Decimals as numbers (``quantity``, ``amount`` are JSON numbers in Flowtly's schema)."""
    return json.dumps(_plain(body), ensure_ascii=False, separators=(",", ":")).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A float prints its shortest round-trip text, so 7.5 and 4.333 go out exactly as written.
        if Decimal(repr(as_float)) == value:
            return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else as_float
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def iri(resource: str, provider_id: str) -> str:
    return f"/{resource}/{provider_id}"


def id_of(value: Any) -> str | None:
    """The id in an IRI (``/clients/12``, ``/api/clients/12``), an embedded object's ``id``, or a bare id."""
    if isinstance(value, dict):
        value = value.get("id", value.get("@id"))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value:
        return value.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    return Decimal(str(value))


def _money(value: Decimal) -> str:
    return str(value)


# --- clients ----------------------------------------------------------------------------------------------


def unsupported_client_fields(client: Client) -> list[FieldIssue]:
    issues = []
    if client.website:
        issues.append(FieldIssue("website", "Flowtly's client has no website field"))
    if client.delivery_address:
        issues.append(FieldIssue("delivery_address", "Flowtly keeps one address per client"))
    if client.site_address:
        issues.append(FieldIssue("site_address", "Flowtly keeps one address per client"))
    if client.sepa_mandate:
        issues.append(FieldIssue("sepa_mandate", "Flowtly's client has no SEPA mandate"))
    if client.custom_fields:
        issues.append(FieldIssue("custom_fields", "Flowtly's client API has no custom fields"))
    if client.email:
        issues.append(FieldIssue("email", "Flowtly's client has no e-mail field (contacts' fields are not public)"))
    if client.contacts:
        issues.append(FieldIssue("contacts", "Flowtly documents clientContacts but not a contact's fields"))
    return issues


def client_body(client: Client) -> dict[str, Any]:
    address = client.address
    body: dict[str, Any] = {
        "name": client.name,
        "country": address.country if address else "BE",
        "currency": "EUR",
        "tinType": _TIN_VAT if client.kind is ClientKind.COMPANY else _TIN_NONE,
        "tinCountry": client.vat_number[:2] if client.vat_number else None,
        "tin": client.vat_number[2:] if client.vat_number else None,
        "vatNumber": client.vat_number,
        "documentsLanguage": client.language.value,
        "addressPhoneNumber": client.phone,
        "addressStreetLine": address.street if address else None,
        "addressLocaleNumber": address.street2 if address else None,
        "addressPostCode": address.postal_code if address else None,
        "addressCity": address.city if address else None,
        "addressCountry": address.country if address else None,
        # The one documented free external id of a client carries the reconciliation key (the external
        # id, unless the caller chose another key; create_client refuses the two differing).
        "externalPaymentCustomerId": client.idempotency_key or client.external_id,
    }
    return body


def client_from_json(data: dict[str, Any]) -> Client:
    # clientContacts are documented as a list, but not a contact's fields: they are never read (nor the
    # e-mail, which Flowtly's client has no field for).
    address = None
    if data.get("addressStreetLine") and data.get("addressPostCode") and data.get("addressCity"):
        address = {
            "street": data["addressStreetLine"],
            "street2": data.get("addressLocaleNumber"),
            "postal_code": data["addressPostCode"],
            "city": data["addressCity"],
            "country": data.get("addressCountry") or data.get("country") or "BE",
        }
    vat = data.get("vatNumber")
    if not vat and data.get("tin") and data.get("tinType") == _TIN_VAT:
        vat = f"{data.get('tinCountry') or ''}{data['tin']}"
    language = data.get("documentsLanguage")
    return Client.from_provider(
        provider_id=id_of(data.get("id")),
        kind=ClientKind.PERSON if data.get("tinType") == _TIN_NONE else ClientKind.COMPANY,
        name=data["name"],
        vat_number=vat or None,
        phone=data.get("addressPhoneNumber"),
        language=language if language in {lang.value for lang in Language} else Language.NL,
        address=Address.model_validate(address) if address else None,
        external_id=data.get("externalPaymentCustomerId"),
        idempotency_key=data.get("externalPaymentCustomerId"),
        raw=data,
    )


# --- invoices and credit notes ----------------------------------------------------------------------------


def unsupported_document_fields(doc: _Document) -> list[FieldIssue]:
    issues = []
    if doc.discount_percent:
        issues.append(FieldIssue("discount_percent", "Flowtly has no document discount (only row discounts)"))
    if doc.allowances_charges:
        issues.append(FieldIssue("allowances_charges", "Flowtly has no document allowances or charges"))
    if doc.structured_communication:
        issues.append(FieldIssue("structured_communication", "Flowtly's invoice has no structured communication"))
    if doc.buyer_reference:
        issues.append(FieldIssue("buyer_reference", "Flowtly's invoice has no buyer reference"))
    # The public Invoice table stops after dueDate: no documented field holds a note or an order reference.
    if doc.note:
        issues.append(FieldIssue("note", "Flowtly's documented invoice fields have no note"))
    if doc.order_reference:
        issues.append(FieldIssue("order_reference", "Flowtly's documented invoice fields have no order reference"))
    for i, row in enumerate(doc.rows):
        # vatRate is documented as a string, its values are not: a rate (0 included) is what it can say, a
        # zero-rated category (exempt, reverse charge, intra-EU, export, outside scope) is not.
        if row.vat_category not in (VatCategory.S, VatCategory.Z):
            issues.append(
                FieldIssue(
                    f"rows.{i}.vat_category",
                    f"Flowtly documents no vatRate value for VAT category {row.vat_category.value}",
                )
            )
        if row.exemption_reason:
            issues.append(FieldIssue(f"rows.{i}.exemption_reason", "Flowtly's row has no exemption reason field"))
    return issues


def _vat_rate(row: InvoiceRow) -> str:
    # Only rates (S, and Z at 0 %): unsupported_document_fields refuses the other categories.
    return str(row.vat_rate.normalize()) if row.vat_category is VatCategory.S else "0"


def row_body(row: InvoiceRow, invoice_iri: str | None) -> dict[str, Any]:
    gross = (row.quantity * row.unit_price).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    body: dict[str, Any] = {
        "productName": row.description,
        "quantity": row.quantity,
        "unit": row.unit,
        "netPrice": _money(row.unit_price),
        "vatRate": _vat_rate(row),
        # Flowtly keeps a row discount as an amount; the exact amount (not rounded) keeps the percentage.
        "netDiscountAmount": _money(gross * row.discount_percent / 100) if row.discount_percent else None,
    }
    if invoice_iri is not None:
        body["invoice"] = invoice_iri
    return body


def _row_from_json(data: dict[str, Any]) -> InvoiceRow:
    rate = Decimal(str(data.get("vatRate", "0")).strip().replace(",", "."))
    category = VatCategory.S if rate else VatCategory.Z
    quantity = _dec(data.get("quantity"))
    price = _dec(data.get("netPrice"))
    discount = _dec(data.get("netDiscountAmount"))
    gross = (quantity * price).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    percent = (discount * 100 / gross).normalize() if discount and gross else None
    return InvoiceRow.model_validate(
        {
            "description": data["productName"],
            "quantity": quantity,
            "unit": data.get("unit") or "C62",
            "unit_price": price,
            "discount_percent": percent,
            "vat_rate": rate,
            "vat_category": category,
            "exemption_code": DEFAULT_EXEMPTION_CODES.get(category),
        }
    )


def document_body(doc: _Document, *, client_id: str) -> dict[str, Any]:
    due = doc.effective_due_date
    body: dict[str, Any] = {
        "name": doc.number,
        "client": iri("clients", client_id),
        "issueDate": doc.issue_date.isoformat(),
        "saleDate": (doc.delivery_date or doc.issue_date).isoformat(),
        "dueDate": (due or doc.issue_date).isoformat(),
        "currency": doc.currency,
    }
    return {k: v for k, v in body.items() if v is not None}


# The Invoice read includes the invoice_row.read and invoice_transaction.read groups (documented), so rows
# and transactions are embedded, but the names of the properties that hold them are not public: they are
# found by the documented fields of their items (InvoiceRow: productName, netPrice, vatRate; InvoiceTransaction:
# invoice, date), never by a name we would have to guess.
_ROW_MARKS = frozenset({"productName", "netPrice", "vatRate"})
_TRANSACTION_MARKS = frozenset({"invoice", "date"})


def _embedded(data: dict[str, Any], marks: frozenset[str]) -> list[dict[str, Any]]:
    for value in data.values():
        if isinstance(value, list) and value and all(isinstance(item, dict) and marks <= item.keys() for item in value):
            return list(value)
    return []


def rows_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The invoice's embedded rows (see above)."""
    return _embedded(data, _ROW_MARKS)


def paid_amount(data: dict[str, Any]) -> Decimal:
    """What the invoice's embedded transactions add up to (Flowtly records payments as invoice transactions)."""
    return sum((_dec(t.get("amount")) for t in _embedded(data, _TRANSACTION_MARKS)), Decimal(0))


def _status(data: dict[str, Any], paid: Decimal) -> DocumentStatus:
    total = _dec(data.get("amount"))
    if paid > 0 and paid >= total:
        return DocumentStatus.PAID
    if paid > 0:
        return DocumentStatus.PARTIALLY_PAID
    return DocumentStatus.OPEN


def _date(value: Any) -> date | None:
    if not value:
        return None
    return (
        datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
        if "T" in str(value)
        else date.fromisoformat(str(value))
    )


def document_from_json(data: dict[str, Any], client: Client | None) -> Invoice:
    paid = paid_amount(data)
    client_id = id_of(data.get("client"))
    if client is None or client.provider_id != client_id:
        embedded = data.get("client")
        client = (
            client_from_json(embedded)
            if isinstance(embedded, dict) and embedded.get("name")
            else Client.from_provider(provider_id=client_id, name=f"client {client_id}")
        )
    with provider_context():  # rows made elsewhere may not follow our sending rules
        rows = [_row_from_json(row) for row in rows_of(data)]
    fields: dict[str, Any] = {
        "provider_id": id_of(data.get("id")),
        "number": data.get("name"),
        "issue_date": _date(data.get("issueDate")),
        "due_date": _date(data.get("dueDate")),
        "delivery_date": _date(data.get("saleDate")),
        "currency": data.get("currency") or "EUR",
        "client": client,
        "rows": rows,
        "status": _status(data, paid),
        "paid_amount": paid,
        "raw": data,
    }
    return Invoice.from_provider(**fields)


def payment_from_json(data: dict[str, Any]) -> Payment:
    return Payment.from_provider(
        provider_id=id_of(data.get("id")),
        invoice_id=id_of(data.get("invoice")) or "",
        date=_date(data.get("date")) or date.today(),
        amount=_dec(data.get("amount")),
        raw=data,
    )
