"""invoicekit: one typed, provider-neutral API over Belgian invoicing SaaS providers.

    import invoicekit
    with invoicekit.connect("cashaca", sandbox=True) as books:
        client = books.clients.create(invoicekit.Client(name="IT Services BV", ...))

Switching provider changes the first argument of :func:`connect`. See docs/ for the rest.
"""

from typing import TYPE_CHECKING, Any

from invoicekit._connect import connect, connect_async
from invoicekit._version import __version__
from invoicekit.books import AsyncBooks, Books
from invoicekit.bulk import AsyncBulk, Bulk, BulkProgress, BulkResult
from invoicekit.capabilities import Capability
from invoicekit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvoicekitError,
    NotFound,
    ProviderError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    UnsupportedOperation,
    ValidationError,
    WriteLanded,
)
from invoicekit.model import (
    Address,
    AllowanceCharge,
    Client,
    ClientKind,
    Contact,
    CreditNote,
    DocumentStatus,
    Invoice,
    InvoiceRow,
    InvoicingPeriod,
    Language,
    Payment,
    PaymentMethod,
    Seller,
    SepaMandate,
    Totals,
)
from invoicekit.registry import installed_providers
from invoicekit.vat import VatCategory

if TYPE_CHECKING:
    from invoicekit.migrate._run import migrate


def __getattr__(name: str) -> Any:
    # ``invoicekit.migrate`` is imported when first used (it is not needed to connect). The package is
    # callable: ``invoicekit.migrate(source, target, journal=...)`` runs invoicekit.migrate.migrate.
    if name == "migrate":
        import importlib

        return importlib.import_module("invoicekit.migrate")
    raise AttributeError(f"module 'invoicekit' has no attribute {name!r}")


__all__ = [
    "Address",
    "AllowanceCharge",
    "AsyncBooks",
    "AsyncBulk",
    "AuthenticationError",
    "Books",
    "Bulk",
    "BulkProgress",
    "BulkResult",
    "Capability",
    "Client",
    "ClientKind",
    "ConfigurationError",
    "Contact",
    "CreditNote",
    "DocumentStatus",
    "Invoice",
    "InvoiceRow",
    "InvoicekitError",
    "InvoicingPeriod",
    "Language",
    "NotFound",
    "Payment",
    "PaymentMethod",
    "ProviderError",
    "RateLimited",
    "Seller",
    "SepaMandate",
    "Totals",
    "TransportError",
    "UncertainOutcome",
    "UnsupportedOperation",
    "ValidationError",
    "VatCategory",
    "WriteLanded",
    "__version__",
    "connect",
    "connect_async",
    "installed_providers",
    "migrate",
]
