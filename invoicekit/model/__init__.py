"""The provider-neutral domain model and its EN 16931 totals engine."""

from invoicekit.model._base import Amount, NeutralModel, ProviderDocument, provider_context
from invoicekit.model._documents import (
    AllowanceCharge,
    CreditNote,
    DocumentStatus,
    Invoice,
    InvoiceRow,
    InvoicingPeriod,
    Payment,
    PaymentMethod,
    document_issues,
)
from invoicekit.model._party import (
    Address,
    Client,
    ClientKind,
    Contact,
    Language,
    Seller,
    SepaMandate,
    SequenceType,
)
from invoicekit.model._totals import Totals, VatBreakdown, compute_totals, round2

__all__ = [
    "Address",
    "AllowanceCharge",
    "Amount",
    "Client",
    "ClientKind",
    "Contact",
    "CreditNote",
    "DocumentStatus",
    "Invoice",
    "InvoiceRow",
    "InvoicingPeriod",
    "Language",
    "NeutralModel",
    "Payment",
    "PaymentMethod",
    "ProviderDocument",
    "Seller",
    "SepaMandate",
    "SequenceType",
    "Totals",
    "VatBreakdown",
    "compute_totals",
    "document_issues",
    "provider_context",
    "round2",
]
