"""The sandbox's ``invoices`` domain: invoices and credit notes, their items, payments and events.

A credit note is an invoice whose total is negative: EF computes ``type`` (``invoice|creditnote``, read
only) from the amounts (EF help, api-invoices). Totals, ``status`` (``open|overdue|closed``) and
``total_paid`` are computed whenever an invoice is rendered, so they always agree with its items and
payments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from invoicekit import belgium
from invoicekit.sandbox import cents
from invoicekit_eenvoudigfactureren._sandbox_common import (
    TAX_RATES,
    Env,
    choice,
    date_field,
    decimal_field,
    int_field,
    is_empty,
    keep_comparable,
    money,
    record_id,
    text,
    timestamp,
)
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = [
    "PAYMENT_METHODS",
    "apply_invoice",
    "check_structured_message",
    "find_invoice",
    "item_input",
    "payment_input",
    "render_invoice",
    "render_item",
    "render_payment",
    "totals",
]

INVOICES = "invoices"
HUNDRED = Decimal(100)
MAX_AMOUNT = Decimal("9999999.99")
PAYMENT_METHODS = frozenset(
    {"transfer", "cash", "debitcard", "creditcard", "directcollection", "online", "bancontact", "ideal"}
)
_YES_NO = frozenset({"yes", "no"})
_READ_ONLY = frozenset(
    {
        "invoice_id",
        "uri",
        "client_uri",
        "client_name",
        "client_attention",
        "type",
        "status",
        "days_overdue",
        "date_overdue",
        "cash_discount_date_valid",
        "discount_total_without_tax",
        "total_without_tax",
        "tax_rate_1",
        "tax_rate_2",
        "tax_rate_3",
        "total_tax_1",
        "total_tax_2",
        "total_tax_3",
        "cash_discount_total",
        "discount_total_with_tax",
        "total_with_tax",
        "total_paid",
        "tags",
        "remarks",
        "events",
    }
)
_WRITABLE = frozenset(
    {
        "external_invoice_id",
        "client_id",
        "number",
        "reference",
        "date",
        "date_delivery",
        "days_due",
        "discount_percentage",
        "cash_discount_percentage",
        "cash_discount_days_valid",
        "currency",
        "exchange_rate",
        "show_tax_for_exchange_rate",
        "language",
        "tax_calculation",
        "tax_included",
        "layout_id",
        "note",
        "items",
        "payments",
        "structured_message",
    }
)


def check_structured_message(value: str, name: str = "structured_message") -> str:
    """12 digits with the mod-97 check; the printed form (``+++ddd/dddd/ddddd+++``) is accepted too."""
    digits = "".join(ch for ch in value if ch not in "+*/ ")
    if not digits.isdigit():
        raise ApiError(400, f"{name} invalid")
    if len(digits) < 12:
        raise ApiError(400, f"{name} too short")
    if len(digits) > 12:
        raise ApiError(400, f"{name} too long")
    try:
        return belgium.validate_ogm(digits)
    except ValueError:
        raise ApiError(400, f"{name} invalid") from None


def _tax_rate(value: Any) -> Decimal:
    try:
        rate = Decimal(str(value).strip() or "0")
    except ArithmeticError:
        raise ApiError(400, "tax_rate invalid") from None
    # "Moet overeenkomen met één van de BTW-percentages van de factuur of moet '0' zijn" (hvr4 bean).
    if rate != 0 and rate not in TAX_RATES:
        raise ApiError(400, "tax_rate invalid")
    return rate


def item_input(data: Any, *, tax_included: bool, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One invoice item as sent, checked and normalised (amounts as text)."""
    if not isinstance(data, dict):
        raise ApiError(400, "items invalid")
    item = dict(existing or {})
    description = text(data, "description")
    if description is not None:
        item["description"] = description
    if not item.get("description"):
        raise ApiError(400, "description is required")
    if "quantity_with_unit" in data and not is_empty(data["quantity_with_unit"]):
        # "2 h": a quantity and a unit in one field, input only.
        quantity_text, _, unit_text = str(data["quantity_with_unit"]).strip().partition(" ")
        data = {**data, "quantity": quantity_text, "unit": unit_text.strip()}
    quantity = decimal_field(data, "quantity", places=6)
    if quantity is not None:
        item["quantity"] = f"{quantity:f}"
    item.setdefault("quantity", "1")
    unit = text(data, "unit", max_len=10)
    if unit is not None:
        if unit and (not unit[0].isalpha() or any(ch.isspace() for ch in unit)):
            raise ApiError(400, "unit invalid")
        item["unit"] = unit
    if "tax_rate" in data:
        item["tax_rate"] = f"{_tax_rate(data['tax_rate']):f}"
    rate = Decimal(item.get("tax_rate", "0"))
    special = text(data, "tax_rate_special_status", max_len=20)
    if special is not None:
        item["tax_rate_special_status"] = special
    if item.get("tax_rate_special_status") and rate != 0:
        raise ApiError(400, "tax_rate_special_status invalid")
    amount = decimal_field(data, "amount", places=6)
    with_tax = decimal_field(data, "amount_with_tax", places=6)
    for value in (amount, with_tax):
        if value is not None and abs(value) > MAX_AMOUNT:
            raise ApiError(400, "amount too large")
    if tax_included:
        # Prices include VAT: the price that counts is the one with VAT. The vendor's WooCommerce plugin sends
        # both (generation.php build_document: amount = net / quantity, amount_with_tax = gross / quantity,
        # each rounded to cents) with tax_included = the shop's prices_include_tax, and expects the order's
        # total back; the gross price is the one that adds up to it. Without amount_with_tax, amount is
        # the price with VAT (assumed: the meaning of tax_included).
        gross = with_tax if with_tax is not None else amount
        if gross is not None:
            item["amount_with_tax"] = f"{gross:f}"
            item["amount"] = f"{(gross * HUNDRED / (HUNDRED + rate)).quantize(Decimal('0.000001')):f}"
    else:
        if amount is None and with_tax is not None and "amount" not in data:
            # Only the price with VAT was sent: EF keeps the price without it.
            amount = (with_tax * HUNDRED / (HUNDRED + rate)).quantize(Decimal("0.000001"))
        if amount is not None:
            item["amount"] = f"{amount:f}"
            item.pop("amount_with_tax", None)
    item.setdefault("amount", "0")
    for key, limit in (("stockitem_code", 50), ("general_ledger_account", 20)):
        given = text(data, key, max_len=limit)
        if given is not None:
            item[key] = given
    if "stockitem_id" in data:
        stock = int_field(data, "stockitem_id")
        item["stockitem_id"] = "" if stock is None else str(stock)
    return item


def payment_input(env: Env, data: Any, invoice: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "payment invalid")
    payment: dict[str, Any] = {"date": date_field(data, "date") or env.today().isoformat()}
    remaining = choice(data, "remaining_amount", _YES_NO) == "yes"
    if remaining:
        # The woo plugin marks an invoice paid with {"remaining_amount": "yes"}: pay whatever is open.
        figures = totals(invoice)
        amount: Decimal | None = figures["total_with_tax"] - figures["total_paid"]
    else:
        amount = decimal_field(data, "amount", places=2)
        if amount is None and env.enforces("payment.amount.required"):
            raise ApiError(400, "amount is required")
    if amount is None or cents(amount) == 0:
        raise ApiError(400, "amount can not be 0.00")
    payment["amount"] = money(amount)
    payment["description"] = text(data, "description", max_len=255) or ""
    method = text(data, "method") or ""
    if method and method.lower() not in PAYMENT_METHODS and env.enforces("payment.method.invalid"):
        raise ApiError(400, "method invalid")
    payment["method"] = method.lower()
    payment["created"] = timestamp()
    return payment


def _items_input(env: Env, value: Any, tax_included: bool) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [] if is_empty(value) else [value]
    result = []
    for index, item in enumerate(items):
        try:
            parsed = item_input(item, tax_included=tax_included)
        except ApiError as exc:
            # Which item failed matters to a caller with twenty lines.
            raise ApiError(exc.status, f"items.{index}.{exc.message}") from None
        result.append({"item_id": env.store.next_value("item_id"), **parsed})
    return result


def _unique_number(env: Env, number: str, invoice_id: int | None) -> None:
    # By the store's index on number (sandbox.py): a create costs O(1) in the stored invoices.
    for other in env.store.find(INVOICES, "number", number):
        if other["id"] != invoice_id:
            raise ApiError(400, "number not unique")


def _generated_number(env: Env, day: str) -> str:
    year = day[:4]
    while True:
        # hvr4 filters on number=2017-0001: EF numbers invoices per year; a number a caller took is skipped.
        number = f"{year}-{env.store.next_value(f'invoice_number:{year}'):04d}"
        if not env.store.find(INVOICES, "number", number, limit=1):
            return number


def apply_invoice(env: Env, record: dict[str, Any], data: Any, *, create: bool, replace: bool) -> dict[str, Any]:
    """``data`` applied to an invoice ``record`` (create, PUT replace or POST partial update)."""
    if not isinstance(data, dict):
        raise ApiError(400, "invoice invalid")
    for key in data:
        if key not in _WRITABLE and key not in _READ_ONLY and env.enforces("invoice.unknown_field"):
            raise ApiError(400, f"{key} unknown")
    invoice_id = record.get("id")
    if replace:
        record = {
            key: record[key] for key in ("id", "payments", "events", "tags", "remarks", "created") if key in record
        }
    if "client_id" in data or create or replace:
        client_id = int_field(data, "client_id", low=1)
        if client_id is None:
            raise ApiError(400, "client_id is required")
        if env.store.get("clients", client_id) is None:
            raise ApiError(400, "client_id unknown")
        record["client_id"] = client_id
    for key, limit in (("external_invoice_id", 50), ("reference", 255), ("note", None), ("currency", 3)):
        value = text(data, key, max_len=limit)
        if value is not None:
            record[key] = value.upper() if key == "currency" else value
    if record.get("currency") and (len(record["currency"]) != 3 or not record["currency"].isalpha()):
        raise ApiError(400, "currency invalid")
    for key in ("date", "date_delivery"):
        value = date_field(data, key)
        if value is not None:
            record[key] = value
    if not record.get("date"):
        record["date"] = env.today().isoformat()
    if "days_due" in data:
        days = int_field(data, "days_due")
        record["days_due"] = 0 if days is None else days
    for key in ("discount_percentage", "cash_discount_percentage"):
        if key in data:
            percent = decimal_field(data, key, places=2)
            if percent is not None and not 0 <= percent <= 100:
                raise ApiError(400, f"{key} invalid")
            record[key] = "" if percent is None else f"{percent:f}"
    if "cash_discount_days_valid" in data:
        record["cash_discount_days_valid"] = int_field(data, "cash_discount_days_valid", high=100) or 0
    if "exchange_rate" in data:
        rate = decimal_field(data, "exchange_rate", places=10, low=Decimal(0))
        record["exchange_rate"] = "" if rate is None else f"{rate:f}"
    for key, allowed in (
        ("show_tax_for_exchange_rate", _YES_NO),
        ("tax_included", _YES_NO),
        ("language", frozenset({"dutch", "french", "english", "german"})),
        ("tax_calculation", frozenset({"total", "item"})),
    ):
        value = choice(data, key, allowed)
        if value is not None:
            record[key] = value
    if "layout_id" in data:
        layout = int_field(data, "layout_id")
        record["layout_id"] = "" if layout is None else str(layout)
    tax_included = record.get("tax_included") == "yes"
    if "items" in data or create or replace:
        # Assumption: `items` in a partial update (POST /invoices/{id}) replaces the item list, as on PUT.
        record["items"] = _items_input(env, data.get("items"), tax_included)
        if not record["items"]:
            raise ApiError(400, "items cannot be empty")
    number = text(data, "number", max_len=50)
    if number:
        _unique_number(env, number, invoice_id)
        record["number"] = number
    elif create or not record.get("number"):
        record["number"] = _generated_number(env, record["date"])
    record["type"] = "creditnote" if totals(record)["total_with_tax"] < 0 else "invoice"
    message = text(data, "structured_message")
    if record["type"] == "creditnote":
        # "niet gebruikt bij een creditnota" (EF help, api-invoices: not used for a credit note).
        record["structured_message"] = ""
    elif message:
        record["structured_message"] = check_structured_message(message)
    elif not record.get("structured_message"):
        # The sandbox account has "generate structured messages" on; the number makes it unique.
        record["structured_message"] = belgium.ogm_from_reference(
            f"{record['date'][2:4]}{int(env.store.next_value('ogm')):08d}"
        )
    record.setdefault("payments", [])
    record.setdefault("events", [])
    record.setdefault("tags", [])
    record.setdefault("remarks", [])
    record.setdefault("created", timestamp())
    if create and not is_empty(data.get("payments")):
        raw_payments = data["payments"] if isinstance(data["payments"], list) else [data["payments"]]
        for raw in raw_payments:
            payment = payment_input(env, raw, record)
            record["payments"].append({"payment_id": env.store.next_value("payment_id"), **payment})
    return keep_comparable("invoices", record)


def find_invoice(env: Env, segment: str | int) -> dict[str, Any]:
    invoice_id = segment if isinstance(segment, int) else record_id(segment, "invoice")
    record = env.store.get(INVOICES, invoice_id)
    if record is None:
        raise ApiError(404, "invoice_id unknown")
    return dict(record)


def _line(item: Mapping[str, Any]) -> Decimal:
    return cents(Decimal(str(item.get("quantity", "1"))) * Decimal(str(item.get("amount", "0"))))


def line_net(item: Mapping[str, Any], *, gross: bool = False) -> Decimal:
    """An item's line total as the invoice shows it: without VAT, or with it (``gross``)."""
    if gross:
        return _gross_line(item)
    if item.get("amount_with_tax") is not None:  # a price with VAT (tax_included)
        rate = Decimal(str(item.get("tax_rate", "0")))
        return cents(_gross_line(item) * HUNDRED / (HUNDRED + rate))
    return _line(item)


def _gross_line(item: Mapping[str, Any]) -> Decimal:
    rate = Decimal(str(item.get("tax_rate", "0")))
    gross = item.get("amount_with_tax")
    if gross is None:
        gross = Decimal(str(item.get("amount", "0"))) * (HUNDRED + rate) / HUNDRED
    return cents(Decimal(str(item.get("quantity", "1"))) * Decimal(str(gross)))


def totals(record: Mapping[str, Any]) -> dict[str, Any]:
    """EF's totals, by the sandbox's own rule. With tax_calculation "total" (the default) VAT is computed once
    per rate on the rate's total, as EN 16931 and Belgian law want; with "item" it is rounded per item. With
    tax_included the gross line totals are summed per rate and the VAT is taken out of that sum, so that the
    total is what the prices with VAT add up to (assumed rounding; no source states EF's)."""
    discount_pct = Decimal(str(record.get("discount_percentage") or "0"))
    gross_mode = record.get("tax_included") == "yes"
    line = _gross_line if gross_mode else _line
    per_item = record.get("tax_calculation") == "item"
    groups: dict[tuple[Decimal, str], Decimal] = {}
    item_tax = Decimal(0)
    item_net = Decimal(0)
    item_discount = Decimal(0)
    for item in record.get("items", []):
        rate = Decimal(str(item.get("tax_rate", "0")))
        key = (rate, str(item.get("tax_rate_special_status", "")))
        groups[key] = groups.get(key, Decimal(0)) + line(item)
        if per_item:
            discount = cents(line(item) * discount_pct / HUNDRED)
            base = line(item) - discount
            tax = cents(base * rate / (HUNDRED + rate)) if gross_mode else cents(base * rate / HUNDRED)
            item_tax += tax
            item_net += base - tax if gross_mode else base
            item_discount += cents(discount * HUNDRED / (HUNDRED + rate)) if gross_mode else discount
    discount_without = Decimal(0)
    discount_with = Decimal(0)
    by_rate: dict[Decimal, Decimal] = {}
    taxable_total = Decimal(0)
    for (rate, _), base in groups.items():
        discount = cents(base * discount_pct / HUNDRED)
        after = base - discount
        if gross_mode:
            tax = cents(after * rate / (HUNDRED + rate))
            taxable = after - tax
            discount_with += discount
            discount_without += cents(discount * HUNDRED / (HUNDRED + rate))
        else:
            tax = cents(after * rate / HUNDRED)
            taxable = after
            discount_without += discount
            discount_with += cents(discount * (HUNDRED + rate) / HUNDRED)
        taxable_total += taxable
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + tax
    if per_item:
        taxable_total = item_net
        discount_without = item_discount
    tax_total = item_tax if per_item else sum(by_rate.values(), Decimal(0))
    total_with_tax = taxable_total + tax_total
    paid = sum((Decimal(str(p["amount"])) for p in record.get("payments", [])), Decimal(0))
    cash_pct = Decimal(str(record.get("cash_discount_percentage") or "0"))
    return {
        "discount_total_without_tax": discount_without,
        "total_without_tax": taxable_total,
        "tax_by_rate": by_rate,
        "cash_discount_total": cents(total_with_tax * cash_pct / HUNDRED),
        "discount_total_with_tax": discount_with,
        "total_with_tax": total_with_tax,
        "total_paid": paid,
    }


def _status(record: Mapping[str, Any], figures: Mapping[str, Any], today: date) -> tuple[str, int, str]:
    total: Decimal = figures["total_with_tax"]
    open_amount = total - figures["total_paid"]
    closed = open_amount <= 0 if total >= 0 else open_amount >= 0
    days_due = int(record.get("days_due") or 0)
    due = date.fromisoformat(record["date"]) + timedelta(days=days_due) if days_due > 0 else None
    if closed:
        return "closed", 0, due.isoformat() if due else ""
    if due is not None and today > due:
        return "overdue", (today - due).days, due.isoformat()
    return "open", 0, due.isoformat() if due else ""


def render_item(env: Env, invoice_id: int, item: Mapping[str, Any]) -> dict[str, Any]:
    rate = Decimal(str(item.get("tax_rate", "0")))
    if item.get("amount_with_tax") is not None:  # a price with VAT (tax_included)
        gross = _gross_line(item)
        line, line_with_tax = cents(gross * HUNDRED / (HUNDRED + rate)), gross
    else:
        line = _line(item)
        line_with_tax = cents(line * (HUNDRED + rate) / HUNDRED)
    return {
        "item_id": int(item["item_id"]),
        "invoice_id": invoice_id,
        "uri": env.uri("invoices", invoice_id, "items", item["item_id"]),
        "description": item.get("description", ""),
        "amount": str(item.get("amount", "0")),
        "quantity": _number(item.get("quantity", "1")),
        "unit": item.get("unit", ""),
        "stockitem_code": item.get("stockitem_code", ""),
        "stockitem_id": int(item["stockitem_id"]) if str(item.get("stockitem_id", "")).isdigit() else None,
        "total_without_tax": money(line),
        "tax_rate": _number(item.get("tax_rate", "0")),
        "tax_rate_special_status": item.get("tax_rate_special_status", ""),
        "general_ledger_account": item.get("general_ledger_account", ""),
        "total_with_tax": money(line_with_tax),
    }


def render_payment(env: Env, invoice_id: int, payment: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": int(payment["payment_id"]),
        "invoice_id": invoice_id,
        "uri": env.uri("invoices", invoice_id, "payments", payment["payment_id"]),
        "date": payment.get("date", ""),
        "amount": payment.get("amount", "0.00"),
        "description": payment.get("description", ""),
        "method": payment.get("method", ""),
    }


def render_event(env: Env, invoice_id: int, event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": int(event["event_id"]),
        "invoice_id": invoice_id,
        "uri": env.uri("invoices", invoice_id, "events", event["event_id"]),
        "date": event.get("date", ""),
        "type": event.get("type", ""),
        "content": event.get("content", ""),
        "recipients": [{"name": "", "email_address": r} for r in event.get("recipients", [])],
    }


def tag_id(env: Env, name: str) -> int:
    """A tag's id, the same for every document that carries it."""
    for row in env.store.all("tags"):
        if row.get("name") == name:
            return int(row["id"])
    return int(env.store.insert("tags", {"name": name}))


def _number(value: Any) -> int | str:
    # JSON numbers for quantities and rates, as the 2017 quote JSON shows ("quantity":1,"tax_rate":0);
    # a fraction stays text so that no float ever carries it.
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else f"{number.normalize():f}"


def render_invoice(env: Env, record: Mapping[str, Any]) -> dict[str, Any]:
    invoice_id = int(record["id"])
    figures = totals(record)
    status, days_overdue, date_overdue = _status(record, figures, env.today())
    client = env.store.get("clients", int(record.get("client_id", 0))) or {}
    cash_days = int(record.get("cash_discount_days_valid") or 0)
    cash_valid = ""
    if record.get("cash_discount_percentage") and cash_days:
        cash_valid = (date.fromisoformat(record["date"]) + timedelta(days=cash_days)).isoformat()
    rates: Sequence[Decimal] = TAX_RATES
    data: dict[str, Any] = {
        "invoice_id": invoice_id,
        "uri": env.uri("invoices", invoice_id),
        "external_invoice_id": record.get("external_invoice_id", ""),
        "client_id": int(record.get("client_id", 0)),
        "client_uri": env.uri("clients", record.get("client_id", 0)),
        "client_name": client.get("name", ""),
        "client_attention": client.get("attention", ""),
        "type": record.get("type", "invoice"),
        "number": record.get("number", ""),
        "reference": record.get("reference", ""),
        "date": record.get("date", ""),
        "date_delivery": record.get("date_delivery", ""),
        "status": status,
        "days_due": int(record.get("days_due") or 0),
        "days_overdue": days_overdue,
        "date_overdue": date_overdue,
        "discount_percentage": record.get("discount_percentage") or "0",
        "cash_discount_percentage": record.get("cash_discount_percentage") or "0",
        "cash_discount_days_valid": cash_days,
        "cash_discount_date_valid": cash_valid,
        "currency": record.get("currency") or "EUR",
        "exchange_rate": record.get("exchange_rate") or "1.0000000000",
        "show_tax_for_exchange_rate": record.get("show_tax_for_exchange_rate") or "yes",
        "language": record.get("language") or client.get("default_language") or "dutch",
        "tax_calculation": record.get("tax_calculation") or "total",
        "tax_included": record.get("tax_included") or "no",
        "layout_id": int(record["layout_id"]) if str(record.get("layout_id", "")).isdigit() else None,
        "note": record.get("note", ""),
        "items": [render_item(env, invoice_id, item) for item in record.get("items", [])],
        "discount_total_without_tax": money(figures["discount_total_without_tax"]),
        "total_without_tax": money(figures["total_without_tax"]),
    }
    for index, rate in enumerate(rates, start=1):
        data[f"tax_rate_{index}"] = _number(rate)
    for index, rate in enumerate(rates, start=1):
        data[f"total_tax_{index}"] = money(figures["tax_by_rate"].get(rate, Decimal(0)))
    data.update(
        {
            "cash_discount_total": money(figures["cash_discount_total"]),
            "discount_total_with_tax": money(figures["discount_total_with_tax"]),
            "total_with_tax": money(figures["total_with_tax"]),
            "total_paid": money(figures["total_paid"]),
            "structured_message": record.get("structured_message", ""),
            # {tag_id, name} as hvr4's efTagsBean reads them; the ids are the sandbox's.
            "tags": [{"tag_id": tag_id(env, tag), "name": tag} for tag in record.get("tags", [])],
            "payments": [render_payment(env, invoice_id, p) for p in record.get("payments", [])],
            "remarks": list(record.get("remarks", [])),
            "events": [render_event(env, invoice_id, e) for e in record.get("events", [])],
        }
    )
    return data
