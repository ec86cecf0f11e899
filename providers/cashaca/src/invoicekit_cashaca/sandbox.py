"""A stateful local fake of the Cashaca API v2 (formerly Zenfactuur), for tests and demos without an account.

Faithful to the provider's own docs, quirks included: the token travels as ``?token=`` on every call (POST
and PUT too), paths end in ``.json``, bodies are wrapped in the resource name, lists are bare JSON arrays of
at most 100 items paged with ``page`` and ``per_page`` (or the docs' typo ``per_age``), the next serial
numbers are bare JSON strings, and creating an invoice also books it as a sale, which is what payments
(``financial_transactions``) hang off. Like Rails, it squeezes ``//`` in paths, takes a path without
``.json`` as JSON, and wraps an unwrapped JSON body in the resource name.

Everything it serves (endpoints, response fields, params, defaults, refusals) is listed with its origin in
``provenance.toml`` (a seed, a public client, or an assumption and why). ``create_sandbox(strict=True)``
(``invoicekit sandbox serve cashaca --strict``) serves only the documented and observed part.

::

    from invoicekit_cashaca.sandbox import create_sandbox

    sandbox = create_sandbox()
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        http.get("/api/v2/clients.json", params=sandbox.credentials())

``base_url`` is the host (``http://cashaca.sandbox``), like the adapter's ``base_url=`` setting; the API
lives under ``/api/v2``. State lives in the sandbox's store: clients, invoices, credit_notes, quotations,
sales, financial_transactions, money_accounts, projects, units, skus, sales_categories, recurrent_schedules
and deliveries (what was sent by e-mail or Peppol, for tests to
inspect).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from invoicekit.belgium import bic_from_iban
from invoicekit.sandbox import Provenance, Sandbox, StateStore, utc_timestamp
from invoicekit_cashaca._sandbox_catalog import RECURRENT_SCHEDULES, SALES_CATEGORIES, SKUS, UNITS, catalog_routes
from invoicekit_cashaca._sandbox_clients import NAME_KEY, client_routes
from invoicekit_cashaca._sandbox_documents import CREDIT_NOTE, INVOICE, QUOTATION
from invoicekit_cashaca._sandbox_http import (
    CLIENTS,
    COMPANY,
    COMPANY_ID,
    FINANCIAL_TRANSACTIONS,
    MONEY_ACCOUNTS,
    squeeze_paths,
)
from invoicekit_cashaca._sandbox_links import CLIENT_KEY, link_routes
from invoicekit_cashaca._sandbox_routes import document_routes, other_routes
from invoicekit_cashaca._sandbox_serials import NUMBERING, SERIAL_FIELD

__all__ = ["USERNAME", "CashacaSandbox", "create_sandbox"]

#: What ``GET /api/v2/api_tokens.json`` answers as the user behind the token.
USERNAME = "sandbox@cashaca.invalid"

_IBAN = "BE71096123456769"  # a well-known example number (Belfius, GKCCBEBB)

# The seller on every document (sender_* fields): a fictitious company with valid-looking numbers.
_COMPANY = {
    "name": "Cashaca Sandbox BV",
    "sender_name": "Cashaca Sandbox BV",
    "sender_address1": "Kerkstraat 1",
    "sender_address2": "9000 Gent",
    "sender_address3": "BE",
    "sender_postcode": "9000",
    "sender_city": "Gent",
    "sender_country": "BE",
    "sender_contact": "Sandbox",
    "sender_vat_number": "BE0428759497",
    "sender_rpr": "RPR Gent",
    "sender_iban": _IBAN,
    "sender_bic": bic_from_iban(_IBAN),
    "sender_bank_account": "BE71 0961 2345 6769",
}

# money_accounts.json lists the account's bank and cash accounts (seed 000); maartendeblock reads the id as
# storage_id. The other fields are assumed (provenance.toml).
_MONEY_ACCOUNTS = (
    {"name": "Zichtrekening", "account_type": "bank", "iban": _IBAN, "bic": _COMPANY["sender_bic"]},
    {"name": "Kas", "account_type": "cash", "iban": None, "bic": None},
)


async def _not_found(request: Request, exc: Exception) -> Response:
    # Rails answers an unknown route (or a method a route lacks) with 404; the body keeps the API's error shape.
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return JSONResponse({"error": "not found"}, status_code=404)


# The account's lookup lists. Assumed contents (their fields are undocumented; provenance.toml marks them):
# units, sales categories and a sale item a new account could have, and one recurring invoice schedule, so that
# tombroucke's GetRecurrentScheduleRequest has something to read.
_UNITS = ({"name": "stuk"}, {"name": "uur"}, {"name": "dag"})
_SALES_CATEGORIES = ({"name": "Diensten"}, {"name": "Goederen"})
_SKUS = ({"name": "Consultancy (uur)"},)
_RECURRENT_SCHEDULES = ({"name": "Maandelijkse onderhoudsfactuur", "interval": "monthly", "document_type": "invoice"},)

_INDEXES = (
    *((kind.collection, SERIAL_FIELD) for kind in (INVOICE, CREDIT_NOTE, QUOTATION)),
    *((kind.collection, CLIENT_KEY) for kind in (INVOICE, CREDIT_NOTE, QUOTATION)),
    (NUMBERING, "name"),
    (CLIENTS, "vat_number"),
    (CLIENTS, "name"),
    (CLIENTS, NAME_KEY),
    (FINANCIAL_TRANSACTIONS, "sale_id"),
)

#: Where everything the sandbox serves comes from (shipped in the package; docs/providers/cashaca.md shows it).
PROVENANCE = Provenance.load("invoicekit_cashaca")


class CashacaSandbox(Sandbox):
    """The Cashaca sandbox. ``today`` decides the year of new numbers; tests may replace it."""

    def __init__(self, *, store: StateStore | None = None, seed: int | None = None, strict: bool = False) -> None:
        self.today: Callable[[], date] = date.today
        super().__init__(
            "cashaca",
            store=store,
            seed=seed,
            credential_name="token",
            curl_template='curl -s "{base_url}/api/v2/clients.json?token={token}"',
            provenance=PROVENANCE,
            strict=strict,
        )
        # What a create or a read looks records up by: indexed, so a create costs O(1) in the number of stored
        # records and a list page its records (docs/providers/cashaca.md, "The sandbox's store").
        for collection, field in _INDEXES:
            self.store.index(collection, field)
        self._seed_account()

    def build_app(self) -> ASGIApp:
        def today() -> date:
            return self.today()

        routes = [
            *client_routes(self),
            *document_routes(self, INVOICE, today),
            *document_routes(self, CREDIT_NOTE, today),
            *document_routes(self, QUOTATION, today),
            *other_routes(self, today, USERNAME),
            *catalog_routes(self, today),
            *link_routes(self),
        ]
        return squeeze_paths(Starlette(routes=routes, exception_handlers={HTTPException: _not_found}))

    def _seed_account(self) -> None:
        # Only into an empty store, so reopening a SQLite store keeps its state as it was.
        with self.store.transaction():
            if self.store.get(COMPANY, COMPANY_ID) is None:
                self.store.insert(COMPANY, {**_COMPANY, "created_at": utc_timestamp()})
            if not self.store.count(MONEY_ACCOUNTS):
                for account in _MONEY_ACCOUNTS:
                    self.store.insert(MONEY_ACCOUNTS, {**account, "company_id": COMPANY_ID, "currency": "EUR"})
            for collection, records in (
                (UNITS, _UNITS),
                (SALES_CATEGORIES, _SALES_CATEGORIES),
                (SKUS, _SKUS),
                (RECURRENT_SCHEDULES, _RECURRENT_SCHEDULES),
            ):
                if not self.store.count(collection):
                    for record in records:
                        self.store.insert(collection, {**record, "company_id": COMPANY_ID})


def create_sandbox(*, store: StateStore | None = None, seed: int | None = None, strict: bool = False) -> Sandbox:
    """A fresh Cashaca sandbox with one valid token, one account and two money accounts (bank, cash).

    ``store``: a :class:`~invoicekit.sandbox.SqliteStore` keeps the state across restarts; ``seed`` seeds
    the fault injection (``sandbox.faults``); ``strict=True`` serves only what Cashaca's docs or a public
    client show (provenance.toml), without the assumed fields, refusals and endpoints.
    """
    return CashacaSandbox(store=store, seed=seed, strict=strict)
