"""Golden documents, written here in Python (not copied from anywhere): one per VAT situation that the
Belgian mandate makes common. Each must pass XSD + CEN + Peppol with zero fatal findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoicekit.model import (
    Address,
    AllowanceCharge,
    Client,
    Contact,
    CreditNote,
    Invoice,
    InvoiceRow,
    Seller,
    SepaMandate,
)
from invoicekit.ubl import DocumentReference, UblExtras
from invoicekit.vat import VatCategory

SELLER_KBO = "0403019261"
BUYER_KBO = "0428759497"
OGM = "010806817183"


def seller() -> Seller:
    return Seller(
        name="Atelier Delvaux BV",
        vat_number=f"BE{SELLER_KBO}",
        address=Address(street="Kerkstraat 12", postal_code="9000", city="Gent", country="BE"),
        iban="BE48 3200 7018 4927",
        bic="BBRUBEBB",
        email="facturen@delvaux.example",
        phone="+32 9 123 45 67",
    )


def belgian_client() -> Client:
    return Client(
        name="IT Services BV",
        vat_number=f"BE{BUYER_KBO}",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen", country="BE"),
        email="ap@itservices.example",
        contacts=[Contact(name="An Peeters", email="an.peeters@itservices.example")],
    )


def dutch_client() -> Client:
    return Client(
        name="Van Dijk Techniek B.V.",
        vat_number="NL004495445B01",
        address=Address(street="Stationsplein 4", postal_code="3511 ED", city="Utrecht", country="NL"),
        language="en",
    )


def non_vat_client() -> Client:
    # A Belgian association that is not VAT-registered: enterprise number, no VAT number (BR-O-02).
    return Client(
        name="Jeugdhuis De Kelder vzw",
        enterprise_number="0428.759.497",
        address=Address(street="Dorpsplein 1", postal_code="3000", city="Leuven", country="BE"),
    )


def standard_21_6() -> Invoice:
    return Invoice(
        number="2026-0001",
        issue_date=date(2026, 1, 15),
        payment_term_days=30,
        client=belgian_client(),
        structured_communication=OGM,
        note="Thank you for your order.",
        rows=[
            InvoiceRow(
                description="Consultancy", quantity=Decimal(8), unit="HUR", unit_price=Decimal("95.00"), vat_rate=21
            ),
            InvoiceRow(
                description="Reference books\nTwo volumes, hardcover",
                quantity=Decimal(3),
                unit_price=Decimal("24.99"),
                vat_rate=6,
            ),
        ],
    )


def reverse_charge_ae() -> Invoice:
    return Invoice(
        number="2026-0002",
        issue_date=date(2026, 1, 20),
        due_date=date(2026, 2, 19),
        client=belgian_client(),
        buyer_reference="PO-7781",
        rows=[
            InvoiceRow(
                description="Renovation works, phase 1",
                quantity=Decimal(1),
                unit_price=Decimal("12500.00"),
                vat_rate=0,
                vat_category=VatCategory.AE,
                exemption_reason="Autoliquidation / Verlegging van heffing - art. 20 KB nr. 1",
            ),
            InvoiceRow(
                description="Site supervision",
                quantity=Decimal("12.5"),
                unit="HUR",
                unit_price=Decimal("65.00"),
                vat_rate=0,
                vat_category=VatCategory.AE,
                exemption_reason="Autoliquidation / Verlegging van heffing - art. 20 KB nr. 1",
            ),
        ],
    )


def intra_eu_k() -> Invoice:
    return Invoice(
        number="2026-0003",
        issue_date=date(2026, 2, 2),
        due_date=date(2026, 3, 4),
        delivery_date=date(2026, 1, 30),
        client=dutch_client(),
        order_reference="NL-ORD-55",
        rows=[
            InvoiceRow(
                description="Industrial sewing machine",
                quantity=Decimal(2),
                unit_price=Decimal("1890.00"),
                vat_rate=0,
                vat_category=VatCategory.K,
            ),
        ],
    )


def exempt_e() -> Invoice:
    return Invoice(
        number="2026-0004",
        issue_date=date(2026, 2, 10),
        payment_term_days=14,
        client=belgian_client(),
        rows=[
            InvoiceRow(
                description="Occupational health consultation",
                quantity=Decimal(2),
                unit_price=Decimal("80.00"),
                vat_rate=0,
                vat_category=VatCategory.E,
                exemption_code="VATEX-EU-132-1C",
                exemption_reason="Vrijgesteld van btw - art. 44 par. 1 WBTW",
            ),
        ],
    )


def not_subject_o() -> Invoice:
    return Invoice(
        number="2026-0005",
        issue_date=date(2026, 2, 12),
        due_date=date(2026, 3, 14),
        client=non_vat_client(),
        rows=[
            InvoiceRow(
                description="Membership fee 2026",
                quantity=Decimal(1),
                unit_price=Decimal("150.00"),
                vat_rate=0,
                vat_category=VatCategory.O,
            ),
        ],
    )


def allowance_charge() -> Invoice:
    return Invoice(
        number="2026-0006",
        issue_date=date(2026, 2, 20),
        payment_term_days=30,
        client=belgian_client(),
        structured_communication=OGM,
        discount_percent=Decimal("2.5"),
        rows=[
            InvoiceRow(
                description="Office chairs",
                quantity=Decimal(6),
                unit_price=Decimal("189.95"),
                discount_percent=Decimal(10),
                vat_rate=21,
            ),
            InvoiceRow(description="Desk lamps", quantity=Decimal(6), unit_price=Decimal("39.99"), vat_rate=21),
            InvoiceRow(description="Printed manuals", quantity=Decimal(6), unit_price=Decimal("12.50"), vat_rate=6),
        ],
        allowances_charges=[
            AllowanceCharge(is_charge=True, amount=Decimal("45.00"), reason="Delivery and assembly", vat_rate=21),
            AllowanceCharge(is_charge=False, amount=Decimal("20.00"), reason="Loyalty voucher", vat_rate=21),
        ],
    )


def credit_note() -> CreditNote:
    return CreditNote(
        number="CN-2026-0001",
        issue_date=date(2026, 2, 25),
        payment_term_days=30,
        client=belgian_client(),
        note="Credit for two returned reference books.",
        rows=[
            InvoiceRow(
                description="Reference books (returned)", quantity=Decimal(2), unit_price=Decimal("24.99"), vat_rate=6
            ),
        ],
    )


def sepa_direct_debit() -> Invoice:
    client = belgian_client().model_copy(
        update={
            "sepa_mandate": SepaMandate(
                iban="BE68539007547034", mandate_reference="MANDATE-2025-042", signature_date=date(2025, 6, 1)
            )
        }
    )
    return standard_21_6().model_copy(update={"number": "2026-0007", "client": client})


CREDIT_NOTE_EXTRAS = UblExtras(billing_references=(DocumentReference("2026-0001", date(2026, 1, 15)),))


@dataclass(frozen=True)
class Golden:
    name: str
    build: Callable[[], Invoice | CreditNote]
    extras: UblExtras | None = None


GOLDEN = (
    Golden("standard_21_6", standard_21_6),
    Golden("reverse_charge_ae", reverse_charge_ae),
    Golden("intra_eu_k", intra_eu_k),
    Golden("exempt_e", exempt_e),
    Golden("not_subject_o", not_subject_o),
    Golden("allowance_charge", allowance_charge),
    Golden("credit_note", credit_note, CREDIT_NOTE_EXTRAS),
    Golden("sepa_direct_debit", sepa_direct_debit),
)
