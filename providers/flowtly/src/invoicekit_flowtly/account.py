"""Flowtly-specific operations, outside the neutral model: the account's payment methods and deleting an
invoice transaction (a payment).

Payment methods (``/payment-methods``) are the Stripe cards the tenant pays its own Flowtly subscription
with (``ccBrand``, ``ccLastDigits``, ``externalId``), not the means an invoice is paid by, so they have no
place in the neutral model::

    import invoicekit
    from invoicekit_flowtly import account

    with invoicekit.connect("flowtly", username=..., password=...) as books:
        for card in account.payment_methods(books):
            print(card.brand, card.last_digits, card.expires)
        account.delete_payment(books, "42")

Each function takes a :class:`~invoicekit.Books` (``*_async`` twins take an :class:`~invoicekit.AsyncBooks`)
connected to Flowtly, and runs through the same engine (retries, redaction, hooks) as the neutral calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from invoicekit import AsyncBooks, Books
from invoicekit.adapter import ApiRequest, Flow
from invoicekit.engine import run_async, run_sync
from invoicekit.errors import ConfigurationError
from invoicekit_flowtly._adapter import FlowtlyAdapter

__all__ = [
    "PaymentMethod",
    "delete_payment",
    "delete_payment_async",
    "payment_methods",
    "payment_methods_async",
]

T = TypeVar("T")


@dataclass(frozen=True)
class PaymentMethod:
    """A card on the Flowtly account (seed: PaymentMethod); ``deleted`` ones are soft-deleted."""

    provider_id: str
    type: str | None
    brand: str | None
    last_digits: str | None
    exp_month: int
    exp_year: int
    external_id: str | None
    deleted: bool = False
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def expires(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


def _method(data: dict[str, Any]) -> PaymentMethod:
    return PaymentMethod(
        provider_id=str(data.get("id")),
        type=data.get("type"),
        brand=data.get("ccBrand"),
        last_digits=data.get("ccLastDigits"),
        exp_month=int(data["ccExpMonth"]),
        exp_year=int(data["ccExpYear"]),
        external_id=data.get("externalId"),
        deleted=bool(data.get("deleted") or data.get("deletedAt")),
        raw=data,
    )


def _adapter(books: Books | AsyncBooks) -> FlowtlyAdapter:
    adapter = books.adapter
    if not isinstance(adapter, FlowtlyAdapter):
        raise ConfigurationError(f"invoicekit_flowtly.account needs a Flowtly connection, not {books.provider!r}")
    return adapter


def _methods_flow(adapter: FlowtlyAdapter) -> Flow[list[PaymentMethod]]:
    items = yield from adapter._all(ApiRequest("GET", "/payment-methods"))
    return [_method(item) for item in items if not item.get("deleted")]


def payment_methods(books: Books) -> list[PaymentMethod]:
    """The account's payment methods that are not deleted."""
    adapter = _adapter(books)
    # Books has no public "run this flow"; these are the same engine and client its resources use.
    return run_sync(books._ops.core.run(_methods_flow(adapter)), _client(books))


async def payment_methods_async(books: AsyncBooks) -> list[PaymentMethod]:
    adapter = _adapter(books)
    return await run_async(books._ops.core.run(_methods_flow(adapter)), _async_client(books))


def delete_payment(books: Books, payment_id: str) -> None:
    """Remove a payment (an invoice transaction) by its id, as ``payments.create`` or ``.list`` gave it."""
    adapter = _adapter(books)
    run_sync(books._ops.core.run(adapter.delete_payment(payment_id)), _client(books))


async def delete_payment_async(books: AsyncBooks, payment_id: str) -> None:
    adapter = _adapter(books)
    await run_async(books._ops.core.run(adapter.delete_payment(payment_id)), _async_client(books))


def _client(books: Books) -> httpx.Client:
    return books._client


def _async_client(books: AsyncBooks) -> httpx.AsyncClient:
    return books._client
