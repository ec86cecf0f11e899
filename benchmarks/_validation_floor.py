"""What reading one listed invoice costs, layer by layer, in CPU time (``python -m benchmarks.profile validation``).

The listing target compares ours with raw paging + ``response.json()``. Ours must also validate every
invoice (a provider's bad data is a typed error, never accepted silently). This measures, per invoice of a
real Cashaca page: the JSON decode, the floor's (``json.loads``) and ours (``read_json``); pydantic-core
alone validating the same 13 models (the same fields and nesting, plain types, no Python validator: what
any validation costs at the least); our
validation (``Invoice.from_provider`` of the same nested dict: the Belgian and amount checks in Python);
and the whole Cashaca mapping (``invoice_from_json``).
"""

from __future__ import annotations

import json
import time
import timeit
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, Field

from invoicekit.adapter import read_json
from invoicekit.model import CreditNote, Invoice
from invoicekit.vat import VatCategory

__all__ = ["report"]


class _Address(BaseModel):
    street: str
    street2: str | None = None
    postal_code: str
    city: str
    country: str = "BE"


class _Client(BaseModel):
    provider_id: str | None = None
    raw: Any = None
    kind: str = "company"
    name: str = Field(min_length=1, max_length=150)
    vat_number: str | None = None
    enterprise_number: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    language: str = "nl"
    address: _Address | None = None
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    external_id: str | None = None
    idempotency_key: str | None = None


class _Row(BaseModel):
    description: str = Field(min_length=1, max_length=1000)
    quantity: Decimal = Decimal(1)
    unit: str = "C62"
    unit_price: Decimal
    discount_percent: Decimal | None = None
    vat_rate: Decimal = Field(ge=0, le=100)
    vat_category: VatCategory = VatCategory.S
    exemption_code: str | None = None
    exemption_reason: str | None = None


class _Invoice(BaseModel):
    provider_id: str | None = None
    raw: Any = None
    number: str | None = None
    issue_date: date
    due_date: date | None = None
    payment_term_days: int | None = None
    delivery_date: date | None = None
    currency: str = "EUR"
    client: _Client
    rows: list[_Row] = Field(default_factory=list)
    discount_percent: Decimal | None = None
    note: str | None = None
    order_reference: str | None = None
    structured_communication: str | None = None
    idempotency_key: str | None = None


def _cpu_us(work: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(work, number=number, repeat=5, timer=time.process_time)) / number * 1e6


def report(page: bytes, parse: Callable[[dict[str, Any]], Invoice | CreditNote]) -> None:
    items = json.loads(page)
    item = items[0]
    read = parse(item)
    nested = read.model_dump(
        include=set(_Invoice.model_fields) - {"raw"}, exclude_none=True, exclude={"client": {"raw"}}
    )
    nested["raw"] = item
    nested["client"]["raw"] = item.get("client")
    rows = len(read.rows)
    decode = _cpu_us(lambda: json.loads(page), 20) / len(items)
    answer = httpx.Response(200, content=page)
    ours_decode = _cpu_us(lambda: read_json(answer, "profile"), 20) / len(items)
    plain = _cpu_us(lambda: _Invoice.model_validate(nested), 2000)
    ours = _cpu_us(lambda: Invoice.from_provider(**nested), 2000)
    mapping = _cpu_us(lambda: parse(item), 2000)
    print(f"one listed invoice ({rows} rows, 13 models), CPU time per invoice:")
    print(f"  JSON decode, json.loads (the floor's .json())    {decode:6.1f} us")
    print(f"  JSON decode, read_json (ours: msgspec)           {ours_decode:6.1f} us")
    print(f"  pydantic-core alone, same models, no validators  {plain:6.1f} us  ({plain / decode:.0%} of json.loads)")
    print(f"  Invoice.from_provider (our checks)                {ours:6.1f} us")
    print(f"  the whole Cashaca mapping (invoice_from_json)     {mapping:6.1f} us")
