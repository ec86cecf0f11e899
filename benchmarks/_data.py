"""What the benchmarks send and store: a 10-row invoice, numbered invoices, and big stores seeded fast.

Seeding 20,000 invoices through HTTP would take minutes (every Cashaca sandbox create reads the whole store),
so :func:`seed_invoices` creates *one* invoice through the public API and then writes copies of the records
that create left in the sandbox's store (the invoice and the sale it is booked as), each with its own id,
number, structured communication, client key and line ids, through ``sandbox.store`` (the public
:class:`~invoicekit.sandbox.StateStore` interface). The copies are exactly what the sandbox itself stored,
so they render, list and page like created ones. This is Cashaca-specific: it names Cashaca's collections.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal

import invoicekit
from invoicekit.belgium import ogm_from_reference
from invoicekit.model import Address, Client, Invoice, InvoiceRow
from invoicekit.sandbox import Sandbox

__all__ = ["PROVIDER", "client", "invoice", "seed_invoices", "serial"]

PROVIDER = "cashaca"
_RATES = (21, 21, 6, 12, 21, 6, 21, 12, 21, 6)


def client() -> Client:
    return Client(
        name="IT Services BV",
        vat_number="BE0428759497",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
    )


def serial(n: int) -> str:
    return f"2026_{n:05d}"


def invoice(n: int, *, rows: int = 10) -> Invoice:
    """Invoice number ``n`` (its number given, so a Cashaca create is one request), ``rows`` lines."""
    return Invoice(
        number=serial(n),
        issue_date=date(2026, 1, 1) + timedelta(days=n % 300),
        payment_term_days=30,
        client=client(),
        rows=[
            InvoiceRow(
                description=f"Line {i + 1}",
                quantity=Decimal(1 + i % 4),
                unit_price=Decimal("19.95") + i,
                vat_rate=_RATES[i % len(_RATES)],
            )
            for i in range(rows)
        ],
    )


def seed_invoices(sandbox: Sandbox, count: int) -> str:
    """Store ``count`` 10-row invoices (numbers 1..count) in a fresh Cashaca sandbox; return the first's id."""
    with invoicekit.connect(PROVIDER, sandbox=sandbox) as books:
        first = books.invoices.create(invoice(1))
    assert first.provider_id is not None
    store = sandbox.store
    template = store.get("invoices", int(first.provider_id))
    assert template is not None
    sale_template = store.get("sales", int(template["sale_id"]))
    assert sale_template is not None
    with sandbox.lock:
        for n in range(2, count + 1):
            number = serial(n)
            sale_id = store.insert("sales", {**sale_template, "invoice_id": None})
            record = {
                **template,
                "serial_number": number,
                "numeric_serial_number_version": int(number.replace("_", "")),
                "ogm": ogm_from_reference(number),
                "client_key": secrets.token_hex(12),
                "sale_id": sale_id,
            }
            record_id = store.insert("invoices", record)
            record["id"] = record_id
            record["commercial_document_lines"] = [
                {**line, "id": store.next_value("commercial_document_lines"), "commercial_document_id": record_id}
                for line in template["commercial_document_lines"]
            ]
            store.replace("invoices", record_id, record)
            store.replace("sales", sale_id, {**sale_template, "id": sale_id, "invoice_id": record_id})
    return first.provider_id
