"""What the benchmarks send and store: a 10-row invoice, numbered invoices, and big stores seeded fast.

Seeding 20,000 invoices through HTTP would take minutes, so :func:`seed_invoices` creates *one* invoice
through the public API and then writes copies of the records that create left in the sandbox's store (the
invoice and the sale it is booked as), each with its own id, number, structured communication, client key
and line ids, through ``sandbox.store`` (the public
:class:`~invoicekit.sandbox.StateStore` interface). The copies are exactly what the sandbox itself stored,
so they render, list and page like created ones. This is Cashaca-specific: it names Cashaca's collections.
:func:`seed_copies` does the same for any bundled provider, copying the invoice record alone.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal

import invoicekit
from invoicekit.belgium import ogm_from_reference
from invoicekit.model import Address, Client, Invoice, InvoiceRow
from invoicekit.sandbox import Sandbox

__all__ = ["PROVIDER", "client", "invoice", "seed_copies", "seed_invoices", "serial", "small_invoice"]

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


def small_invoice(client: Client, description: str) -> Invoice:
    """A one-row invoice of a stored ``client`` (every bundled provider takes one), numbered by the provider."""
    row = InvoiceRow(description=description, quantity=Decimal(1), unit_price=Decimal("10.00"), vat_rate=21)
    return Invoice(issue_date=date(2026, 2, 1), payment_term_days=30, client=client, rows=[row])


def seed_copies(sandbox: Sandbox, provider: str, count: int) -> None:
    """Store ``count`` invoices in a fresh sandbox of any provider: one created through the public API, then
    copies of its stored record (collection ``invoices`` in every bundled sandbox) in one transaction.

    Each copy gets its own number (``SEED-00002``..., a form outside the providers' own series, so their
    next numbers stay where they were) and its own reconciliation key: every top-level field holding the
    created invoice's number or key (EF also keeps a lower-cased copy of the key) holds the copy's instead.
    The copies share the original's client and its other records, which a create or a page never reads.
    """
    with invoicekit.connect(provider, sandbox=sandbox) as books:
        # The key is the library's (for a provider that cannot keep one: none).
        first = books.invoices.create(small_invoice(books.clients.create(Client(name="Seed BV")), "Seed"))
    assert first.provider_id is not None
    assert first.number
    key = first.idempotency_key or secrets.token_hex(8)
    store = sandbox.store
    template = store.get("invoices", int(first.provider_id))
    assert template is not None
    with store.transaction():
        for n in range(2, count + 1):
            swap = {first.number: f"SEED-{n:05d}", key: f"{key}-{n}", key.lower(): f"{key}-{n}".lower()}
            store.insert("invoices", {k: swap.get(v, v) if isinstance(v, str) else v for k, v in template.items()})
