"""invoicekit: one typed, provider-neutral API over Belgian invoicing SaaS providers.

    import invoicekit
    with invoicekit.connect("cashaca", sandbox=True) as books:
        client = books.clients.create(invoicekit.Client(name="IT Services BV", ...))

Switching provider changes the first argument of :func:`connect`. See docs/ for the rest.
"""

from typing import TYPE_CHECKING, Any

from invoicekit._version import __version__

if TYPE_CHECKING:
    from invoicekit._connect import connect, connect_async
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
    from invoicekit.migrate._run import migrate
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

# Loaded on first use (PEP 562), so `import invoicekit.testing` (the pytest plugin every pytest run of a
# project that installs invoicekit loads) or `import invoicekit.errors` does not pay for pydantic models,
# httpx and the engine.
_LAZY: dict[str, str] = {
    "connect": "invoicekit._connect",
    "connect_async": "invoicekit._connect",
    "AsyncBooks": "invoicekit.books",
    "Books": "invoicekit.books",
    "AsyncBulk": "invoicekit.bulk",
    "Bulk": "invoicekit.bulk",
    "BulkProgress": "invoicekit.bulk",
    "BulkResult": "invoicekit.bulk",
    "Capability": "invoicekit.capabilities",
    "AuthenticationError": "invoicekit.errors",
    "ConfigurationError": "invoicekit.errors",
    "InvoicekitError": "invoicekit.errors",
    "NotFound": "invoicekit.errors",
    "ProviderError": "invoicekit.errors",
    "RateLimited": "invoicekit.errors",
    "TransportError": "invoicekit.errors",
    "UncertainOutcome": "invoicekit.errors",
    "UnsupportedOperation": "invoicekit.errors",
    "ValidationError": "invoicekit.errors",
    "WriteLanded": "invoicekit.errors",
    "Address": "invoicekit.model",
    "AllowanceCharge": "invoicekit.model",
    "Client": "invoicekit.model",
    "ClientKind": "invoicekit.model",
    "Contact": "invoicekit.model",
    "CreditNote": "invoicekit.model",
    "DocumentStatus": "invoicekit.model",
    "Invoice": "invoicekit.model",
    "InvoiceRow": "invoicekit.model",
    "InvoicingPeriod": "invoicekit.model",
    "Language": "invoicekit.model",
    "Payment": "invoicekit.model",
    "PaymentMethod": "invoicekit.model",
    "Seller": "invoicekit.model",
    "SepaMandate": "invoicekit.model",
    "Totals": "invoicekit.model",
    "installed_providers": "invoicekit.registry",
    "VatCategory": "invoicekit.vat",
}


def __getattr__(name: str) -> Any:
    from importlib import import_module
    from importlib.util import find_spec

    module = _LAZY.get(name)
    if module is None:
        # A submodule reached as an attribute (``invoicekit.engine``), as when the package imported it eagerly.
        # ``invoicekit.migrate`` comes this way too: that package is callable (it runs migrate.migrate).
        if not name.startswith("__") and find_spec(f"invoicekit.{name}") is not None:
            from invoicekit._extras import SUBMODULE_EXTRAS, missing_extra

            needs = SUBMODULE_EXTRAS.get(name)
            message = None if needs is None else missing_extra(*needs)
            if message is not None:
                # hasattr() swallows AttributeError only; `import invoicekit.cli` raises the error naming the extra.
                raise AttributeError(f"module 'invoicekit' has no attribute {name!r}: {message}", name=name)
            return import_module(f"invoicekit.{name}")
        raise AttributeError(f"module 'invoicekit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
