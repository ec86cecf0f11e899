"""The Books facade: ``books.clients``, ``.invoices``, ``.credit_notes``, ``.payments``, in sync and async twins.

Every call goes the same way: capability check (UnsupportedOperation, nothing sent) -> input checks
(ValidationError, nothing sent) -> the adapter's flow, run by the engine. The sync and async classes
differ only in ``await``; everything they decide is in :class:`_Operations`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal, TypeVar

import httpx

from invoicekit.adapter import Adapter, ClientQuery, DocumentQuery, Flow, Listing, SendResult
from invoicekit.capabilities import Capability
from invoicekit.engine import EngineCore, iterate_async, iterate_sync, run_async, run_sync
from invoicekit.errors import FieldIssue, UnsupportedOperation, ValidationError
from invoicekit.model import Client, CreditNote, Invoice, Payment, Seller
from invoicekit.vat import BELGIAN_RATES, VatCategory, VatRateTable

__all__ = ["AsyncBooks", "Books"]

T = TypeVar("T")
log = logging.getLogger("invoicekit.books")
Via = Literal["email", "peppol"]


class _Operations:
    """What a call needs before it may send anything; shared by the sync and async facades."""

    def __init__(
        self, core: EngineCore, *, vat_rates: VatRateTable, seller: Seller | None, allow_field_loss: bool
    ) -> None:
        self.core = core
        self.adapter: Adapter = core.adapter
        self.vat_rates = vat_rates
        self.seller = seller
        self.allow_field_loss = allow_field_loss

    def check_fields(self, document: Client | Invoice | CreditNote) -> None:
        """Refuse data the provider would silently drop, unless the caller accepted the loss."""
        issues = self.adapter.unsupported_fields(document)
        if not issues:
            return
        if not self.allow_field_loss:
            raise ValidationError(issues, provider=self.adapter.name)
        for issue in issues:
            log.warning("%s: dropping %s (%s)", self.adapter.name, issue.path, issue.reason)

    def require(self, capability: Capability) -> None:
        if capability not in self.adapter.capabilities:
            raise UnsupportedOperation(self.adapter.name, capability.value)

    def check_rates(self, document: Invoice | CreditNote) -> None:
        self.check_fields(document)
        day = document.issue_date
        allowed = self.vat_rates.rates_on(day)
        issues = [
            FieldIssue(
                f"rows.{i}.vat_rate",
                f"{row.vat_rate} % is not a Belgian VAT rate on {day.isoformat()} (in force: "
                + ", ".join(str(r) for r in sorted(allowed))
                + " %)",
            )
            for i, row in enumerate(document.rows)
            if row.vat_category is VatCategory.S and not self.vat_rates.is_valid_rate(row.vat_rate, day)
        ]
        if issues:
            raise ValidationError(issues)

    def map_custom_fields(self, client: Client) -> Client:
        results = self.core.hooks.hook.invoicekit_map_custom_fields(
            provider=self.adapter.name, kind="client", fields=dict(client.custom_fields)
        )
        if not results:
            self.check_fields(client)
            return client
        fields = dict(client.custom_fields)
        for result in reversed(results):  # pluggy returns the last registered first
            if result:
                fields.update(result)
        mapped = client.model_copy(update={"custom_fields": fields})
        self.check_fields(mapped)
        return mapped

    def created(self, kind: str, document: T) -> T:
        self.core.hooks.hook.invoicekit_document_created(provider=self.adapter.name, kind=kind, document=document)
        return document

    def ubl_flow(self, invoice: Invoice | str) -> Flow[bytes]:
        """The provider's own UBL when it offers one, else UBL built by invoicekit from the fetched invoice."""
        if Capability.INVOICES_UBL in self.adapter.capabilities:
            return (yield from self.adapter.invoice_ubl(_doc_id(invoice)))
        if self.seller is None or Capability.INVOICES_GET not in self.adapter.capabilities:
            # Building it ourselves needs the seller's profile: connect(..., seller=Seller(...)).
            raise UnsupportedOperation(self.adapter.name, Capability.INVOICES_UBL.value)
        from invoicekit import ubl

        fetched = yield from self.adapter.get_invoice(_doc_id(invoice))
        return ubl.to_ubl(fetched, self.seller)

    def check_peppol(self, document: Invoice | CreditNote) -> None:
        """A Peppol send of a document we hold: check it as an access point would, before sending."""
        if self.seller is None:
            return
        from invoicekit import ubl

        ubl.preflight_or_raise(document, self.seller)


def _doc_id(document: Invoice | CreditNote | Client | str) -> str:
    if isinstance(document, str):
        return document
    if document.provider_id is None:
        raise ValidationError.single("provider_id", "this document has no provider id: create or fetch it first")
    return document.provider_id


# --------------------------------------------------------------------------------------------- sync
class _SyncResource:
    def __init__(self, ops: _Operations, client: httpx.Client) -> None:
        self._ops = ops
        self._client = client

    def _run(self, capability: Capability, make_flow: Callable[[], Flow[T]]) -> T:
        self._ops.require(capability)
        return run_sync(self._ops.core.run(make_flow()), self._client)

    def _list(self, capability: Capability, make_listing: Callable[[], Listing[T]]) -> Iterator[T]:
        self._ops.require(capability)
        listing = make_listing()  # input errors surface here, before the first page is fetched
        return iterate_sync(self._ops.core.paginate(listing), self._client)


class Clients(_SyncResource):
    """``books.clients``: create, read, list, search, update and delete clients."""

    def create(self, client: Client) -> Client:
        """Create a client at the provider and return it as stored, with its ``provider_id``."""
        self._ops.require(Capability.CLIENTS_CREATE)
        client = self._ops.map_custom_fields(client)
        return self._ops.created(
            "client", self._run(Capability.CLIENTS_CREATE, lambda: self._ops.adapter.create_client(client))
        )

    def get(self, client_id: str) -> Client:
        """The client with this provider id; :class:`~invoicekit.errors.NotFound` if there is none."""
        return self._run(Capability.CLIENTS_GET, lambda: self._ops.adapter.get_client(client_id))

    def list(
        self, *, search: str | None = None, external_id: str | None = None, vat_number: str | None = None
    ) -> Iterator[Client]:
        """The provider's clients, page by page as you iterate; ``search`` (name), ``external_id`` or
        ``vat_number`` narrow the list (capability ``clients.search``)."""
        cap = Capability.CLIENTS_SEARCH if (search or external_id or vat_number) else Capability.CLIENTS_LIST
        query = ClientQuery(search=search, external_id=external_id, vat_number=vat_number)
        return self._list(cap, lambda: self._ops.adapter.list_clients(query))

    def update(self, client_id: str, client: Client) -> Client:
        """Replace the client's data with ``client`` and return it as stored."""
        self._ops.require(Capability.CLIENTS_UPDATE)
        client = self._ops.map_custom_fields(client)
        return self._run(Capability.CLIENTS_UPDATE, lambda: self._ops.adapter.update_client(client_id, client))

    def delete(self, client: Client | str) -> None:
        """Delete the client (a :class:`~invoicekit.model.Client` you hold, or its provider id)."""
        self._run(Capability.CLIENTS_DELETE, lambda: self._ops.adapter.delete_client(_doc_id(client)))

    def check_vat_number(self, vat_number: str) -> bool:
        """Whether the provider says ``vat_number`` is valid (capability ``clients.check_vat``)."""
        return self._run(Capability.CLIENTS_CHECK_VAT, lambda: self._ops.adapter.check_vat_number(vat_number))


class Invoices(_SyncResource):
    """``books.invoices``: create, read, list, update, delete and send invoices; their UBL and PDF."""

    def create(self, invoice: Invoice) -> Invoice:
        """Create an invoice and return it as stored, with its number, ``provider_id`` and structured
        communication. The VAT rates are checked against the table in force on ``issue_date`` first."""
        self._ops.require(Capability.INVOICES_CREATE)
        self._ops.check_rates(invoice)
        return self._ops.created(
            "invoice",
            self._run(Capability.INVOICES_CREATE, lambda: self._ops.adapter.create_invoice(invoice)),
        )

    def get(self, invoice_id: str) -> Invoice:
        """The invoice with this provider id, with its ``status`` and ``paid_amount``."""
        return self._run(Capability.INVOICES_GET, lambda: self._ops.adapter.get_invoice(invoice_id))

    def list(self, *, unpaid: bool = False, client_id: str | None = None) -> Iterator[Invoice]:
        """The provider's invoices, page by page as you iterate; ``unpaid=True`` keeps the ones not paid in
        full (capability ``invoices.list_unpaid``), ``client_id`` one client's."""
        cap = Capability.INVOICES_LIST_UNPAID if unpaid else Capability.INVOICES_LIST
        query = DocumentQuery(unpaid=unpaid, client_id=client_id)
        return self._list(cap, lambda: self._ops.adapter.list_invoices(query))

    def update(self, invoice_id: str, invoice: Invoice) -> Invoice:
        """Replace the invoice's data with ``invoice`` (where the provider allows it) and return it as stored."""
        self._ops.require(Capability.INVOICES_UPDATE)
        self._ops.check_rates(invoice)
        return self._run(Capability.INVOICES_UPDATE, lambda: self._ops.adapter.update_invoice(invoice_id, invoice))

    def delete(self, invoice: Invoice | str) -> None:
        """Delete the invoice (one you hold, or its provider id)."""
        self._run(Capability.INVOICES_DELETE, lambda: self._ops.adapter.delete_invoice(_doc_id(invoice)))

    def send(self, invoice: Invoice | str, *, via: Via = "email", to: str | None = None) -> SendResult:
        """Send the invoice by e-mail to ``to`` (whether it may be left out depends on the provider) or by
        Peppol (``via="peppol"``).

        A Peppol send of an invoice you hold is pre-flighted first when the connection knows the seller.
        A send is never repeated blindly after a lost answer: the adapter looks it up where the provider
        allows, else the caller gets :class:`~invoicekit.errors.UncertainOutcome`.
        """
        cap = Capability.INVOICES_SEND_PEPPOL if via == "peppol" else Capability.INVOICES_SEND_EMAIL
        self._ops.require(cap)
        if via == "peppol" and isinstance(invoice, Invoice):
            self._ops.check_peppol(invoice)
        return self._run(cap, lambda: self._ops.adapter.send_invoice(_doc_id(invoice), via, to))

    def ubl(self, invoice: Invoice | str) -> bytes:
        """Peppol BIS 3.0 UBL of an invoice: the provider's download, or built from the fetched invoice when
        the provider has none and the connection knows the seller."""
        return run_sync(self._ops.core.run(self._ops.ubl_flow(invoice)), self._client)

    def pdf(self, invoice: Invoice | str) -> bytes:
        """The provider's own PDF of an invoice, as bytes (capability ``invoices.pdf``)."""
        return self._run(Capability.INVOICES_PDF, lambda: self._ops.adapter.invoice_pdf(_doc_id(invoice)))

    def next_number(self) -> str:
        """The number the provider will give the next invoice."""
        return self._run(Capability.INVOICES_NEXT_NUMBER, self._ops.adapter.next_invoice_number)


class CreditNotes(_SyncResource):
    """``books.credit_notes``: create, read, list, delete and send credit notes; their PDF."""

    def create(self, credit_note: CreditNote) -> CreditNote:
        """Create a credit note (positive amounts; ``corrects_invoice_id`` names the invoice it corrects)."""
        self._ops.require(Capability.CREDIT_NOTES_CREATE)
        self._ops.check_rates(credit_note)
        return self._ops.created(
            "credit_note",
            self._run(Capability.CREDIT_NOTES_CREATE, lambda: self._ops.adapter.create_credit_note(credit_note)),
        )

    def get(self, credit_note_id: str) -> CreditNote:
        """The credit note with this provider id."""
        return self._run(Capability.CREDIT_NOTES_GET, lambda: self._ops.adapter.get_credit_note(credit_note_id))

    def list(self, *, client_id: str | None = None) -> Iterator[CreditNote]:
        """The provider's credit notes, page by page as you iterate; ``client_id`` keeps one client's."""
        query = DocumentQuery(client_id=client_id)
        return self._list(Capability.CREDIT_NOTES_LIST, lambda: self._ops.adapter.list_credit_notes(query))

    def delete(self, credit_note: CreditNote | str) -> None:
        """Delete the credit note (one you hold, or its provider id)."""
        self._run(Capability.CREDIT_NOTES_DELETE, lambda: self._ops.adapter.delete_credit_note(_doc_id(credit_note)))

    def send(self, credit_note: CreditNote | str, *, via: Via = "email", to: str | None = None) -> SendResult:
        """Send the credit note by e-mail or by Peppol, as :meth:`Invoices.send` does."""
        cap = Capability.CREDIT_NOTES_SEND_PEPPOL if via == "peppol" else Capability.CREDIT_NOTES_SEND_EMAIL
        self._ops.require(cap)
        if via == "peppol" and isinstance(credit_note, CreditNote):
            self._ops.check_peppol(credit_note)
        return self._run(cap, lambda: self._ops.adapter.send_credit_note(_doc_id(credit_note), via, to))

    def pdf(self, credit_note: CreditNote | str) -> bytes:
        """The provider's own PDF of a credit note, as bytes (capability ``credit_notes.pdf``)."""
        return self._run(Capability.CREDIT_NOTES_PDF, lambda: self._ops.adapter.credit_note_pdf(_doc_id(credit_note)))


class Payments(_SyncResource):
    """``books.payments``: record payments against invoices and list them."""

    def create(self, payment: Payment) -> Payment:
        """Record a payment received against an invoice (``payment.invoice_id``) and return it as stored."""
        return self._ops.created(
            "payment",
            self._run(Capability.PAYMENTS_CREATE, lambda: self._ops.adapter.create_payment(payment)),
        )

    def list(self, invoice: Invoice | str) -> Iterator[Payment]:
        """The payments recorded against an invoice (one you hold, or its provider id)."""
        self._ops.require(Capability.PAYMENTS_LIST)
        invoice_id = _doc_id(invoice)
        return self._list(Capability.PAYMENTS_LIST, lambda: self._ops.adapter.list_payments(invoice_id))


# -------------------------------------------------------------------------------------------- async
class _AsyncResource:
    def __init__(self, ops: _Operations, client: httpx.AsyncClient) -> None:
        self._ops = ops
        self._client = client

    async def _run(self, capability: Capability, make_flow: Callable[[], Flow[T]]) -> T:
        self._ops.require(capability)
        return await run_async(self._ops.core.run(make_flow()), self._client)

    def _list(self, capability: Capability, make_listing: Callable[[], Listing[T]]) -> AsyncIterator[T]:
        self._ops.require(capability)
        listing = make_listing()
        return iterate_async(self._ops.core.paginate(listing), self._client)


class AsyncClients(_AsyncResource):
    """The async twin of :class:`Clients`: the same methods, awaited; ``list`` returns an async iterator."""

    async def create(self, client: Client) -> Client:
        self._ops.require(Capability.CLIENTS_CREATE)
        client = self._ops.map_custom_fields(client)
        return self._ops.created(
            "client",
            await self._run(Capability.CLIENTS_CREATE, lambda: self._ops.adapter.create_client(client)),
        )

    async def get(self, client_id: str) -> Client:
        return await self._run(Capability.CLIENTS_GET, lambda: self._ops.adapter.get_client(client_id))

    def list(
        self, *, search: str | None = None, external_id: str | None = None, vat_number: str | None = None
    ) -> AsyncIterator[Client]:
        cap = Capability.CLIENTS_SEARCH if (search or external_id or vat_number) else Capability.CLIENTS_LIST
        query = ClientQuery(search=search, external_id=external_id, vat_number=vat_number)
        return self._list(cap, lambda: self._ops.adapter.list_clients(query))

    async def update(self, client_id: str, client: Client) -> Client:
        self._ops.require(Capability.CLIENTS_UPDATE)
        client = self._ops.map_custom_fields(client)
        return await self._run(Capability.CLIENTS_UPDATE, lambda: self._ops.adapter.update_client(client_id, client))

    async def delete(self, client: Client | str) -> None:
        await self._run(Capability.CLIENTS_DELETE, lambda: self._ops.adapter.delete_client(_doc_id(client)))

    async def check_vat_number(self, vat_number: str) -> bool:
        return await self._run(Capability.CLIENTS_CHECK_VAT, lambda: self._ops.adapter.check_vat_number(vat_number))


class AsyncInvoices(_AsyncResource):
    """The async twin of :class:`Invoices`: the same methods, awaited; ``list`` returns an async iterator."""

    async def create(self, invoice: Invoice) -> Invoice:
        self._ops.require(Capability.INVOICES_CREATE)
        self._ops.check_rates(invoice)
        return self._ops.created(
            "invoice",
            await self._run(Capability.INVOICES_CREATE, lambda: self._ops.adapter.create_invoice(invoice)),
        )

    async def get(self, invoice_id: str) -> Invoice:
        return await self._run(Capability.INVOICES_GET, lambda: self._ops.adapter.get_invoice(invoice_id))

    def list(self, *, unpaid: bool = False, client_id: str | None = None) -> AsyncIterator[Invoice]:
        cap = Capability.INVOICES_LIST_UNPAID if unpaid else Capability.INVOICES_LIST
        query = DocumentQuery(unpaid=unpaid, client_id=client_id)
        return self._list(cap, lambda: self._ops.adapter.list_invoices(query))

    async def update(self, invoice_id: str, invoice: Invoice) -> Invoice:
        self._ops.require(Capability.INVOICES_UPDATE)
        self._ops.check_rates(invoice)
        return await self._run(
            Capability.INVOICES_UPDATE, lambda: self._ops.adapter.update_invoice(invoice_id, invoice)
        )

    async def delete(self, invoice: Invoice | str) -> None:
        await self._run(Capability.INVOICES_DELETE, lambda: self._ops.adapter.delete_invoice(_doc_id(invoice)))

    async def send(self, invoice: Invoice | str, *, via: Via = "email", to: str | None = None) -> SendResult:
        cap = Capability.INVOICES_SEND_PEPPOL if via == "peppol" else Capability.INVOICES_SEND_EMAIL
        self._ops.require(cap)
        if via == "peppol" and isinstance(invoice, Invoice):
            self._ops.check_peppol(invoice)
        return await self._run(cap, lambda: self._ops.adapter.send_invoice(_doc_id(invoice), via, to))

    async def ubl(self, invoice: Invoice | str) -> bytes:
        """See :meth:`Invoices.ubl`."""
        return await run_async(self._ops.core.run(self._ops.ubl_flow(invoice)), self._client)

    async def pdf(self, invoice: Invoice | str) -> bytes:
        """See :meth:`Invoices.pdf`."""
        return await self._run(Capability.INVOICES_PDF, lambda: self._ops.adapter.invoice_pdf(_doc_id(invoice)))

    async def next_number(self) -> str:
        return await self._run(Capability.INVOICES_NEXT_NUMBER, self._ops.adapter.next_invoice_number)


class AsyncCreditNotes(_AsyncResource):
    """The async twin of :class:`CreditNotes`: the same methods, awaited; ``list`` returns an async iterator."""

    async def create(self, credit_note: CreditNote) -> CreditNote:
        self._ops.require(Capability.CREDIT_NOTES_CREATE)
        self._ops.check_rates(credit_note)
        return self._ops.created(
            "credit_note",
            await self._run(Capability.CREDIT_NOTES_CREATE, lambda: self._ops.adapter.create_credit_note(credit_note)),
        )

    async def get(self, credit_note_id: str) -> CreditNote:
        return await self._run(Capability.CREDIT_NOTES_GET, lambda: self._ops.adapter.get_credit_note(credit_note_id))

    def list(self, *, client_id: str | None = None) -> AsyncIterator[CreditNote]:
        query = DocumentQuery(client_id=client_id)
        return self._list(Capability.CREDIT_NOTES_LIST, lambda: self._ops.adapter.list_credit_notes(query))

    async def delete(self, credit_note: CreditNote | str) -> None:
        await self._run(
            Capability.CREDIT_NOTES_DELETE, lambda: self._ops.adapter.delete_credit_note(_doc_id(credit_note))
        )

    async def send(self, credit_note: CreditNote | str, *, via: Via = "email", to: str | None = None) -> SendResult:
        cap = Capability.CREDIT_NOTES_SEND_PEPPOL if via == "peppol" else Capability.CREDIT_NOTES_SEND_EMAIL
        self._ops.require(cap)
        if via == "peppol" and isinstance(credit_note, CreditNote):
            self._ops.check_peppol(credit_note)
        return await self._run(cap, lambda: self._ops.adapter.send_credit_note(_doc_id(credit_note), via, to))

    async def pdf(self, credit_note: CreditNote | str) -> bytes:
        """See :meth:`CreditNotes.pdf`."""
        return await self._run(
            Capability.CREDIT_NOTES_PDF, lambda: self._ops.adapter.credit_note_pdf(_doc_id(credit_note))
        )


class AsyncPayments(_AsyncResource):
    """The async twin of :class:`Payments`: the same methods, awaited; ``list`` returns an async iterator."""

    async def create(self, payment: Payment) -> Payment:
        return self._ops.created(
            "payment",
            await self._run(Capability.PAYMENTS_CREATE, lambda: self._ops.adapter.create_payment(payment)),
        )

    def list(self, invoice: Invoice | str) -> AsyncIterator[Payment]:
        self._ops.require(Capability.PAYMENTS_LIST)
        invoice_id = _doc_id(invoice)
        return self._list(Capability.PAYMENTS_LIST, lambda: self._ops.adapter.list_payments(invoice_id))


# ------------------------------------------------------------------------------------------ facades
class _BooksBase:
    def __init__(
        self, core: EngineCore, *, vat_rates: VatRateTable | None, seller: Seller | None, allow_field_loss: bool
    ) -> None:
        self._ops = _Operations(
            core, vat_rates=vat_rates or BELGIAN_RATES, seller=seller, allow_field_loss=allow_field_loss
        )
        self.provider: str = core.adapter.name
        self.capabilities: frozenset[Capability] = core.adapter.capabilities
        self.sandbox: Any = None  # the in-process sandbox behind this connection, when sandbox=True

    @property
    def adapter(self) -> Adapter:
        return self._ops.adapter

    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider!r}>"


class Books(_BooksBase):
    """A synchronous connection to one provider. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        core: EngineCore,
        client: httpx.Client,
        *,
        vat_rates: VatRateTable | None = None,
        seller: Seller | None = None,
        allow_field_loss: bool = False,
    ) -> None:
        super().__init__(core, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
        self._client = client
        self.clients = Clients(self._ops, client)
        self.invoices = Invoices(self._ops, client)
        self.credit_notes = CreditNotes(self._ops, client)
        self.payments = Payments(self._ops, client)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Books:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncBooks(_BooksBase):
    """The async twin of :class:`Books`: the same resources, awaited (lists are async iterators)."""

    def __init__(
        self,
        core: EngineCore,
        client: httpx.AsyncClient,
        *,
        vat_rates: VatRateTable | None = None,
        seller: Seller | None = None,
        allow_field_loss: bool = False,
    ) -> None:
        super().__init__(core, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
        self._client = client
        self.clients = AsyncClients(self._ops, client)
        self.invoices = AsyncInvoices(self._ops, client)
        self.credit_notes = AsyncCreditNotes(self._ops, client)
        self.payments = AsyncPayments(self._ops, client)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncBooks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
