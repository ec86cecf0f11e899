"""Invoices and credit notes in the Cashaca sandbox: validation, numbering, totals, storage and rendering.

``POST /invoices.json`` is "new invoice + book it as a sale": one request creates (or matches) the client,
the invoice and the sale that payments hang off. Credit notes work the same way and refer to the invoice
they correct by its number.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from invoicekit.belgium import InvalidNumber, format_ogm, ogm_from_reference, validate_ogm
from invoicekit.sandbox import Sandbox, enforces, utc_timestamp
from invoicekit_cashaca._sandbox_clients import render_client, resolve_client
from invoicekit_cashaca._sandbox_http import (
    COMPANY,
    COMPANY_ID,
    CREDIT_NOTES,
    FINANCIAL_TRANSACTIONS,
    INVOICES,
    QUOTATIONS,
    SALES,
    Errors,
    Params,
    as_bool,
    as_date,
    as_decimal,
    as_int,
    blank,
    lines_param,
    money,
    shaped,
    wrapped,
)
from invoicekit_cashaca._sandbox_numbers import (
    EARLY_PAYMENT_DISCOUNT,
    EU_VAT_RATES,
    FIXED_DISCOUNT,
    NO_DISCOUNT,
    PERCENT_DISCOUNT,
    Row,
    document_totals,
)
from invoicekit_cashaca._sandbox_serials import next_in_year, note_serial, taken

__all__ = [
    "CREDIT_NOTE",
    "INVOICE",
    "QUOTATION",
    "DocumentKind",
    "book_sale",
    "client_link",
    "create_document",
    "paid_on_sale",
    "render_document",
    "sale_params",
    "total_of",
]

# Assumed refusal (document.line.rate_not_belgian): outside OSS sales a line's VAT percentage is a Belgian
# rate; an OSS sale (sales_type_id 3) takes the rates of vat_rates.json.
ALLOWED_RATES = frozenset(Decimal(rate) for rate in (0, 6, 12, 21))
OSS_RATES = frozenset(Decimal(rate) for rates in EU_VAT_RATES.values() for rate in rates)
# Assumed default: without `payment_term` the account's default term applies: 30 days.
DEFAULT_PAYMENT_TERM = 30
_PERCENT_STYLES = (PERCENT_DISCOUNT, EARLY_PAYMENT_DISCOUNT)
# sales_type_id (apipie docs): 1 goods, 2 services, 3 OSS.
SALES_TYPES = (1, 2, 3)
# Assumed (status_id values are unknown): 1 = booked, 2 = sent (by e-mail
# or Peppol). Whether it is paid shows in `paid_amount` and in unpaid.json, not in the status.
STATUS_BOOKED, STATUS_SENT = 1, 2


#: Whether a refusal (named as in provenance.toml) is on.
Refusals = Callable[[str], bool]


@dataclass(frozen=True)
class DocumentKind:
    collection: str
    wrapper: str
    label: str


INVOICE = DocumentKind(INVOICES, "invoice", "Invoice")
CREDIT_NOTE = DocumentKind(CREDIT_NOTES, "credit_note", "Credit note")
#: A quotation is made like an invoice (maartendeblock Apis/Quotation.php: client + quotation) but books no sale.
QUOTATION = DocumentKind(QUOTATIONS, "quotation", "Quotation")


# --- validation ------------------------------------------------------------------------------------------


def _rate(value: Any, field: str, errors: Errors, allowed: frozenset[Decimal] | None) -> Decimal | None:
    rate = as_decimal(value, field, errors)
    if rate is not None and allowed is not None and rate not in allowed:
        errors.add(field, "is not included in the list")
        return None
    return rate


def _lines(
    doc: Params, global_rate: Decimal | None, errors: Errors, allowed: frozenset[Decimal] | None, on: Refusals
) -> list[Params]:
    raw = doc.get("commercial_document_lines_attributes", doc.get("commercial_document_lines"))
    items = lines_param(raw, "commercial_document_lines", errors)
    # No lines is no error: the v1 page marks them optional and maartendeblock's docblocks create invoices,
    # credit notes and quotations with a serial number and a date only.
    lines: list[Params] = []
    for index, item in enumerate(items):
        # Assumed: Rails keys the errors of nested records as "<association>.<field>".
        prefix = "commercial_document_lines."
        if blank(item.get("description")) and on("document.line.description_blank"):
            errors.add(prefix + "description", "can't be blank")
        quantity = as_decimal(item.get("number_skus"), prefix + "number_skus", errors)
        price = as_decimal(item.get("unit_price"), prefix + "unit_price", errors)
        # The v1 names (btw_*, seed cashaca-api-v1-invoice-create.txt) are assumed still accepted.
        rate_value = item.get("vat_percentage", item.get("btw_percentage"))
        rate = _rate(rate_value, prefix + "vat_percentage", errors, allowed) if not blank(rate_value) else global_rate
        if rate is None and blank(rate_value) and global_rate is None and on("document.line.vat_percentage_blank"):
            errors.add(prefix + "vat_percentage", "can't be blank (give it per line or for the whole document)")
        row_order = as_int(item.get("row_order"), prefix + "row_order", errors)
        lines.append(
            {
                "description": str(item.get("description") or "").strip(),
                "number_skus": Decimal(1) if quantity is None else quantity,
                "unit_price": Decimal(0) if price is None else price,
                "vat_percentage": rate if rate is not None else Decimal(0),
                "row_order": index if row_order is None else row_order,
            }
        )
    return lines


def _text(doc: Params, name: str) -> str | None:
    value = doc.get(name)
    return None if blank(value) else str(value)


def _discount(doc: Params, errors: Errors, on: Refusals) -> tuple[int, Decimal | None, Decimal | None]:
    style = as_int(doc.get("discount_style_id"), "discount_style_id", errors) or NO_DISCOUNT
    if style not in (NO_DISCOUNT, FIXED_DISCOUNT, PERCENT_DISCOUNT, EARLY_PAYMENT_DISCOUNT):
        errors.add("discount_style_id", "is not included in the list")
        style = NO_DISCOUNT
    percentage = as_decimal(doc.get("discount_percentage"), "discount_percentage", errors)
    fixed = as_decimal(doc.get("discount_amount"), "discount_amount", errors)
    if not on("document.discount_invalid"):
        return style, percentage, fixed
    if style in _PERCENT_STYLES:
        if percentage is None:
            errors.add("discount_percentage", "can't be blank")
        elif not Decimal(0) <= percentage <= Decimal(100):
            errors.add("discount_percentage", "must be between 0 and 100")
    if style == FIXED_DISCOUNT:
        if fixed is None:
            errors.add("discount_amount", "can't be blank")
        elif fixed < 0:
            errors.add("discount_amount", "must be greater than or equal to 0")
    return style, percentage, fixed


def sale_params(sale: Params, doc: Params, client_type: Any, errors: Errors) -> Params:
    # A missing `sale` block is tolerated: the production Apps Script (which throws on a non-2xx answer)
    # sends sales_type_id inside `invoice` and no `sale`; both places are read.
    type_value = sale.get("sales_type_id", doc.get("sales_type_id"))
    sales_type = as_int(type_value, "sales_type_id", errors)
    if sales_type is None and not errors.by_field.get("sales_type_id"):
        # Required when the client is outside Belgium (POST /sales docs); Belgian sales default to services.
        if client_type in (2, 3, 4):
            errors.add("sales_type_id", "can't be blank for a client outside Belgium")
        sales_type = 2
    elif sales_type is not None and sales_type not in SALES_TYPES:
        errors.add("sales_type_id", "is not included in the list")
    realloc = sale.get("reallocation_of_vat", sale.get("reallocation_of_btw"))
    return {
        "sales_type_id": sales_type,
        "description": _text(sale, "description"),
        "reallocation_of_vat": bool(as_bool(realloc, "reallocation_of_vat", errors)),
        "abc_sale": bool(as_bool(sale.get("abc_sale"), "abc_sale", errors)),
        "sales_category_id": as_int(sale.get("sales_category_id"), "sales_category_id", errors),
    }


# --- creation --------------------------------------------------------------------------------------------


def create_document(sandbox: Sandbox, kind: DocumentKind, params: Params, today: date) -> Params:
    """Validate and store a new invoice or credit note with its sale; raises ApiError 422 with every error.

    Call it inside ``sandbox.store.transaction()``: the uniqueness check and the number must not interleave,
    across server processes too.
    """
    store = sandbox.store
    errors = Errors()

    def on(refusal: str) -> bool:
        return enforces(sandbox, refusal)

    client_data = wrapped(params, "client", errors)
    doc = wrapped(params, kind.wrapper, errors, beside=("client", "sale"))
    sale_data = wrapped(params, "sale", errors, required=False, beside=("client", kind.wrapper))
    errors.raise_if_any()

    resolved = resolve_client(sandbox, client_data, errors)
    sale = sale_params(sale_data, doc, resolved.snapshot.get("type_id"), errors)
    allowed: frozenset[Decimal] | None = OSS_RATES if sale["sales_type_id"] == 3 else ALLOWED_RATES
    if not on("document.line.rate_not_belgian"):
        allowed = None
    issued = as_date(doc.get("date"), "date", errors)
    if issued is None and "date" not in errors.by_field:
        errors.add("date", "can't be blank")
    delivery = as_date(doc.get("delivery_date"), "delivery_date", errors)
    term = as_int(doc.get("payment_term"), "payment_term", errors)
    if term is not None and term < 0 and on("document.payment_term_negative"):
        errors.add("payment_term", "must be greater than or equal to 0")
    global_rate_value = doc.get("vat_percentage", doc.get("btw_percentage"))
    global_rate = _rate(global_rate_value, "vat_percentage", errors, allowed)
    lines = _lines(doc, global_rate, errors, allowed, on)
    style, percentage, fixed = _discount(doc, errors, on)
    pay_message = bool(as_bool(doc.get("pay_message"), "pay_message", errors))
    ids = {
        name: as_int(doc.get(name), name, errors)
        for name in ("financial_discount_days", "sales_category_id", "project_id")
    }

    serial = _text(doc, "serial_number")
    if serial is not None:
        serial = serial.strip()
        if taken(store, kind.collection, serial) and on("document.serial_number_taken"):
            errors.add("serial_number", "has already been taken")
    elif kind is CREDIT_NOTE and on("credit_note.serial_number_blank"):
        errors.add("serial_number", "can't be blank")

    reference = _text(doc, "reference")
    if (
        kind is CREDIT_NOTE
        and reference is not None
        and on("credit_note.reference_unknown")
        and not taken(store, INVOICES, reference)
    ):
        errors.add("reference", "does not match the number of an existing invoice")

    ogm: str | None = None
    if kind is INVOICE and not blank(doc.get("ogm")):
        try:
            ogm = validate_ogm(str(doc["ogm"]))
        except InvalidNumber as exc:
            if on("document.ogm_invalid"):
                errors.add("ogm", f"is invalid ({exc})")

    rows = [Row(line["number_skus"], line["unit_price"], line["vat_percentage"]) for line in lines]
    totals = document_totals(rows, style, percentage, fixed) if not errors else None
    if (
        totals is not None
        and style == FIXED_DISCOUNT
        and fixed
        and fixed > totals.lines
        and on("document.discount_invalid")
    ):
        errors.add("discount_amount", "must be less than or equal to the total of the lines")
    errors.raise_if_any()
    assert issued is not None
    assert totals is not None

    client = resolved.save(sandbox)
    snapshot = resolved.snapshot
    serial = serial or next_in_year(store, kind.collection, issued.year)
    note_serial(store, kind.collection, serial)
    if kind is INVOICE and ogm is None:
        try:
            # Assumed (default invoice.ogm): without an `ogm` of its own the invoice gets the
            # structured communication built from its number (what proposed_invoice_ogm.json proposes).
            ogm = ogm_from_reference(serial)
        except InvalidNumber:
            ogm = None
    now = utc_timestamp()
    term = DEFAULT_PAYMENT_TERM if term is None else term
    sign = -1 if kind is CREDIT_NOTE else 1
    # The document's id comes first, reserved with an empty record: its lines and its sale refer to it. The
    # complete record replaces it below, in the same transaction, so nobody sees the empty one.
    record_id = store.insert(kind.collection, {})
    # Assumed: a credit note is booked as a negative sale.
    sale_id = None
    if kind is not QUOTATION:
        amounts = {rate_total.rate: sign * rate_total.taxable for rate_total in totals.by_rate}
        booked_for = {f"{kind.wrapper}_id": record_id}
        sale_id = book_sale(sandbox, int(client["id"]), issued, amounts, sign * totals.vat, sale, booked_for)
    company = store.get(COMPANY, COMPANY_ID) or {}
    record: Params = {
        "serial_number": serial,
        "date": issued.isoformat(),
        "client_id": client["id"],
        "created_at": now,
        "updated_at": now,
        "company_id": COMPANY_ID,
        "vat_percentage": money(global_rate) if global_rate is not None else None,
        "client_name": snapshot.get("name"),
        "client_name2": None,
        "client_address1": snapshot.get("street"),
        "client_address2": " ".join(str(snapshot.get(f) or "") for f in ("postcode", "city")).strip() or None,
        "client_address3": snapshot.get("country"),
        "client_vat_number": snapshot.get("vat_number"),
        "client_postcode": snapshot.get("postcode"),
        "client_city": snapshot.get("city"),
        "client_country": snapshot.get("country"),
        "client_reference": snapshot.get("reference"),
        "client_language": snapshot.get("language") or "nl",
        **{key: value for key, value in company.items() if key.startswith("sender_")},
        "vat_exempted": all(row.vat_rate == 0 for row in rows),
        "sale_id": sale_id,
        "payment_term": term,
        "payment_term_style_id": None,
        "due_date": (issued + timedelta(days=term)).isoformat(),
        "delivery_date": delivery.isoformat() if delivery else None,
        "last_send": None,
        "last_seen": None,
        "pay_message": pay_message,
        "custom_text_top": _text(doc, "custom_text_top"),
        "custom_text_bottom": _text(doc, "custom_text_bottom"),
        "internal_description": _text(doc, "internal_description"),
        "reference": reference,
        "caption": None,
        "email_error": None,
        "discount_style_id": style,
        "discount_amount": money(totals.discount),
        "discount_percentage": money(percentage if percentage and style in _PERCENT_STYLES else Decimal(0)),
        "financial_discount_days": ids["financial_discount_days"],
        "valid_till": None,
        "saved_check_value": None,
        "has_signature_field": False,
        "sales_category_id": ids["sales_category_id"],
        "project_id": ids["project_id"],
        "status_id": STATUS_BOOKED,
        "send_reminder": False,
        "show_mollie_payment_button": False,
        "from_quotation_id": None,
        "show_units": False,
        "ogm": ogm,
        "send_to_coda_accountant": False,
        "send_via_email_ubl_integration": False,
        "po_number": _text(doc, "po_number"),
        "numeric_serial_number_version": int("".join(ch for ch in serial if ch.isdigit()) or 0) or None,
        "no_vat_reason": _text(doc, "no_vat_reason"),
        "amount": money(totals.net),
        "vat_amount": money(totals.vat),
        "client_key": secrets.token_hex(12),
        "commercial_document_lines": [],
    }
    record["id"] = record_id
    record["commercial_document_lines"] = [
        {
            "id": store.next_value("commercial_document_lines"),
            "number_skus": money(line["number_skus"]),
            "commercial_document_id": record_id,
            "created_at": now,
            "updated_at": now,
            "description": line["description"],
            "unit_price": money(line["unit_price"]),
            "vat_percentage": money(line["vat_percentage"]),
            "p_and_l_line": None,
            "row_order": line["row_order"],
            "unit_id": None,
            "image_url": None,
        }
        for line in lines
    ]
    store.replace(kind.collection, record_id, record)
    return record


def book_sale(
    sandbox: Sandbox,
    client_id: int,
    issued: date,
    amounts: Mapping[Decimal, Decimal],
    vat: Decimal,
    sale: Params,
    booked_for: Mapping[str, int] | None = None,
) -> int:
    """Store a sale: its net amount per VAT rate (``amount_at_0`` .. ``amount_at_21``, seed
    cashaca-api-v2-sales.txt), its VAT and the sale params. Returns its id. ``booked_for`` is the document it
    books (``{"invoice_id": 7}`` or ``{"credit_note_id": 3}``); a sale made alone has neither."""
    booked_for = booked_for or {}
    now = utc_timestamp()
    net = sum(amounts.values(), Decimal(0))
    per_rate = {f"amount_at_{rate.normalize():f}": money(amount) for rate, amount in amounts.items()}
    return sandbox.store.insert(
        SALES,
        {
            "date": issued.isoformat(),
            "client_id": client_id,
            "company_id": COMPANY_ID,
            "amount": money(net),
            "vat_amount": money(vat),
            **{f"amount_at_{rate}": per_rate.get(f"amount_at_{rate}", "0.00") for rate in (0, 6, 12, 21)},
            **sale,
            "invoice_id": booked_for.get("invoice_id"),
            "credit_note_id": booked_for.get("credit_note_id"),
            "created_at": now,
            "updated_at": now,
        },
    )


# --- reading ---------------------------------------------------------------------------------------------


def paid_on_sale(sandbox: Sandbox, sale_id: int) -> Decimal:
    """What has been paid on a sale: the sum of its financial transactions (found through their index)."""
    paid = Decimal(0)
    for transaction in sandbox.store.find(FINANCIAL_TRANSACTIONS, "sale_id", sale_id):
        if transaction.get("amount") is not None:  # a strict sandbox does not refuse an incomplete payment
            paid += Decimal(str(transaction["amount"]))
    return paid


def total_of(record: Mapping[str, Any]) -> Decimal:
    """Total including VAT."""
    return Decimal(str(record["amount"])) + Decimal(str(record["vat_amount"]))


def client_link(record: Params, base_url: str, kind: DocumentKind, extension: str) -> str:
    """Where the client reads the document (html_url_for_client and its pdf and xml siblings); the sandbox
    serves these links itself (documents_routes)."""
    return f"{base_url.rstrip('/')}/documents/{kind.collection}/{record.get('client_key')}.{extension}"


def render_document(
    sandbox: Sandbox, record: Params, *, client: Params | None, base_url: str, kind: DocumentKind
) -> Params:
    """A stored invoice or credit note as the API shows it (stijn1989 Entity/Invoice.php lists the fields)."""
    # Rails lists the id first.
    shown = {"id": record["id"], **{key: value for key, value in record.items() if key != "client_key"}}
    if shown.get("ogm"):
        # Assumed: the API shows the OGM formatted +++ddd/dddd/ddddd+++, as printed on Belgian invoices; the
        # store keeps its 12 digits.
        shown["ogm"] = format_ogm(str(shown["ogm"]))
    # The nested client: maartendeblock reads $invoice['client']['vat_number'] (Apis/Invoice.php).
    shown["client"] = render_client(sandbox, client) if client is not None else None
    for extension in ("html", "pdf", "xml"):
        shown[f"{extension}_url_for_client"] = client_link(record, base_url, kind, extension)
    return shaped(sandbox, kind.wrapper, shown)
