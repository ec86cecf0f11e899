"""The documents the scenarios send. Rich on purpose: every neutral field set, amounts that need rounding.

A provider that cannot carry part of a sample says so through ``Adapter.unsupported_fields`` (and
``document_fields``); scenarios strip those parts with :func:`carried` (and report them as dropped) rather
than each provider getting a sample of its own. A scenario about a field itself (the round trips, the
refusals) uses the full sample and checks what the adapter declares.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from invoicekit import belgium
from invoicekit.adapter import Adapter
from invoicekit.model import (
    Address,
    AllowanceCharge,
    Client,
    ClientKind,
    Contact,
    CreditNote,
    Invoice,
    InvoiceRow,
    Language,
    SepaMandate,
)
from invoicekit.vat import VatCategory
from invoicekit_conformance._compare import strip_paths

__all__ = ["billing_client", "carried", "credit_note_for", "rich_client", "rich_invoice", "simple_invoice"]

D = TypeVar("D", Client, Invoice, CreditNote)


def carried(adapter: Adapter, document: D) -> D:
    """``document`` without what ``adapter`` declares it cannot store (``field_losses``: its
    ``unsupported_fields`` and whatever lies outside its ``document_fields``), the client of a document
    included: what a caller on that provider would send. Scenarios about something else than those fields
    (listing, paging, payments, races) send this, so a declared loss is never a reason to skip them."""
    if isinstance(document, Invoice | CreditNote):
        document = document.model_copy(update={"client": carried(adapter, document.client)})
    losses = adapter.field_losses(document)
    return strip_paths(document, losses) if losses else document


def rich_client(tag: str) -> Client:
    """A client with every neutral field set to something other than its default."""
    return Client(
        kind=ClientKind.COMPANY,
        name=f"Fidelity {tag} BV",
        vat_number="BE0403019261",
        email=f"billing-{tag}@fidelity.example",
        phone="+3232345678",
        website="https://fidelity.example",
        language=Language.FR,
        address=Address(
            street="Rue de la Loi 16", street2="Boîte 3", postal_code="1000", city="Bruxelles", country="BE"
        ),
        delivery_address=Address(street="Industrieweg 4", postal_code="9000", city="Gent"),
        site_address=Address(street="Werfstraat 9", postal_code="2000", city="Antwerpen"),
        contacts=[Contact(name="Jan Peeters", email=f"jan-{tag}@fidelity.example", phone="+32470123456")],
        sepa_mandate=SepaMandate(
            iban="BE68539007547034", mandate_reference=f"MANDATE-{tag}", signature_date=date(2025, 1, 15)
        ),
        external_id=f"fid-{tag}",
        custom_fields={"segment": "retail"},
    )


def billing_client(tag: str, *, name: str = "Invoice Test", vat_number: str | None = "BE0403019261") -> Client:
    """The plain client documents are made out to: what every Belgian invoicing provider stores."""
    return Client(
        name=f"{name} {tag} BV",
        vat_number=vat_number,
        email=f"invoices-{tag}@client.example",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        external_id=f"cl-{tag}",
    )


def rich_invoice(client: Client, tag: str) -> Invoice:
    """Rows at 21, 12, 6 and 0 %, amounts that round, discounts, a charge, a note and an OGM."""
    today = date.today()
    return Invoice(
        issue_date=today,
        payment_term_days=30,
        delivery_date=today - timedelta(days=1),
        client=client,
        rows=[
            InvoiceRow(
                description=f"Consultancy {tag}", quantity=Decimal("7.5"), unit="HUR", unit_price="95.00", vat_rate=21
            ),
            # 12 x 4.333 = 51.996: the line net must round to 52.00 before VAT is computed per rate.
            InvoiceRow(description="Catering", quantity=12, unit_price="4.333", vat_rate=12),
            InvoiceRow(description="Books", quantity=3, unit_price="19.99", vat_rate=6, discount_percent=10),
            InvoiceRow(description="Newspapers", quantity=2, unit_price="2.50", vat_rate=0, vat_category=VatCategory.Z),
        ],
        discount_percent=Decimal("5"),
        allowances_charges=[AllowanceCharge(is_charge=True, amount="7.50", reason="Shipping", vat_rate=21)],
        note="Thank you for your business.\nPayment by transfer, please.",
        order_reference=f"PO-{tag}",
        structured_communication=belgium.ogm_from_reference(int(tag, 16) % 10**10 or 1),
    )


def simple_invoice(client: Client, description: str, amount: str = "100.00", vat_rate: int = 21) -> Invoice:
    return Invoice(
        issue_date=date.today(),
        payment_term_days=30,
        client=client,
        rows=[InvoiceRow(description=description, quantity=1, unit_price=amount, vat_rate=vat_rate)],
    )


def credit_note_for(invoice: Invoice) -> CreditNote:
    """A credit note taking back the invoice's first row."""
    return CreditNote(
        issue_date=date.today(),
        client=invoice.client,
        rows=[invoice.rows[0]],
        corrects_invoice_id=invoice.provider_id,
        corrects_invoice_number=invoice.number,
        note=f"Credit for invoice {invoice.number}",
    )
