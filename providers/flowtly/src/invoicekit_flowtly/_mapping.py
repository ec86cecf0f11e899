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
    Contact,
    CreditNote,
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
    "CREDIT_NOTE_TYPE",
    "INVOICE_TYPE",
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

#: Invoice ``type`` values (the field is documented, its values are not: assumed).
INVOICE_TYPE = "invoice"
CREDIT_NOTE_TYPE = "correction"

# Zero-rated categories in the ``vatRate`` string (documented as a string, values assumed; the Polish
# roots of the API, tinType and saleDate, suggest the JPK/KSeF codes).
_CATEGORY_CODES = {
    VatCategory.Z: "0",
    VatCategory.E: "zw",
    VatCategory.AE: "oo",
    VatCategory.K: "0 WDT",
    VatCategory.G: "0 EXP",
    VatCategory.O: "np",
}
_CODE_CATEGORIES = {code: category for category, code in _CATEGORY_CODES.items()}
# Flowtly's tinType for a company (VAT number) and a person (none): assumed values of a documented field.
_TIN_VAT, _TIN_NONE = "vat", "none"
_CONTACT_ROLE_BILLING = "billing"


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
    return issues


def client_body(client: Client) -> dict[str, Any]:
    address = client.address
    contacts = [{"name": c.name, "email": c.email, "phoneNumber": c.phone, "role": None} for c in client.contacts]
    if client.email:
        # Flowtly's client has no e-mail field: the address invoices go to is a contact (assumed role).
        contacts.insert(0, {"name": client.name, "email": client.email, "phoneNumber": None, "role": "billing"})
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
        "externalPaymentCustomerId": client.external_id,
        "clientContacts": contacts,
    }
    return body


def client_from_json(data: dict[str, Any]) -> Client:
    contacts: list[Contact] = []
    email = None
    for item in data.get("clientContacts") or []:
        if not isinstance(item, dict):
            continue  # an IRI only: nothing to read
        if item.get("role") == _CONTACT_ROLE_BILLING and email is None:
            email = item.get("email")
            continue
        name = item.get("name")
        if name:
            contacts.append(
                Contact.model_validate(
                    {
                        "name": name,
                        "email": item.get("email"),
                        "phone": item.get("phoneNumber"),
                        "provider_id": id_of(item),
                    }
                )
            )
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
        email=email,
        phone=data.get("addressPhoneNumber"),
        language=language if language in {lang.value for lang in Language} else Language.NL,
        address=Address.model_validate(address) if address else None,
        contacts=contacts,
        external_id=data.get("externalPaymentCustomerId"),
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
    return issues


def _vat_rate(row: InvoiceRow) -> str:
    if row.vat_category is VatCategory.S:
        return str(row.vat_rate.normalize())
    return _CATEGORY_CODES.get(row.vat_category, "0")


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
        "vatExemptionReason": row.exemption_reason,
    }
    if invoice_iri is not None:
        body["invoice"] = invoice_iri
    return body


def _row_from_json(data: dict[str, Any]) -> InvoiceRow:
    code = str(data.get("vatRate", "0")).strip()
    category = next((_CODE_CATEGORIES[c] for c in (code, code.lower(), code.upper()) if c in _CODE_CATEGORIES), None)
    if category is None:
        rate = Decimal(code.replace(",", "."))
        category = VatCategory.S if rate else VatCategory.Z
    else:
        rate = Decimal(0)
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
            "exemption_reason": data.get("vatExemptionReason"),
        }
    )


def document_body(doc: _Document, *, key: str | None, client_id: str) -> dict[str, Any]:
    due = doc.effective_due_date
    body: dict[str, Any] = {
        "type": CREDIT_NOTE_TYPE if isinstance(doc, CreditNote) else INVOICE_TYPE,
        "name": doc.number,
        "client": iri("clients", client_id),
        "issueDate": doc.issue_date.isoformat(),
        "saleDate": (doc.delivery_date or doc.issue_date).isoformat(),
        "dueDate": (due or doc.issue_date).isoformat(),
        "currency": doc.currency,
        "comment": doc.note,
        "orderNumber": doc.order_reference,
        "externalId": key,
    }
    if isinstance(doc, CreditNote) and doc.corrects_invoice_id:
        body["parent"] = iri("invoices", doc.corrects_invoice_id)
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


def document_from_json(data: dict[str, Any], client: Client | None) -> Invoice | CreditNote:
    is_note = data.get("type") == CREDIT_NOTE_TYPE
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
        "note": data.get("comment"),
        "order_reference": data.get("orderNumber"),
        "status": _status(data, paid),
        "paid_amount": paid,
        "raw": data,
    }
    if is_note:
        parent = data.get("parent")
        fields["corrects_invoice_id"] = id_of(parent)
        if isinstance(parent, dict):
            fields["corrects_invoice_number"] = parent.get("name")
        return CreditNote.from_provider(**fields)
    return Invoice.from_provider(**fields)


def payment_from_json(data: dict[str, Any]) -> Payment:
    return Payment.from_provider(
        provider_id=id_of(data.get("id")),
        invoice_id=id_of(data.get("invoice")) or "",
        date=_date(data.get("date")) or date.today(),
        amount=_dec(data.get("amount")),
        raw=data,
    )
