"""The Books facade: ``books.clients``, ``.invoices``, ``.credit_notes``, ``.payments``, in sync and async twins.

Every call goes the same way: capability check (UnsupportedOperation, nothing sent) -> input checks
(ValidationError, nothing sent) -> the adapter's flow, run by the engine. The sync and async classes
differ only in ``await``; everything they decide is in :class:`_Operations`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar

import httpx

from invoicekit.adapter import (
    Adapter,
    ClientQuery,
    DocumentQuery,
    Flow,
    Found,
    Listing,
    Lookup,
    LookupFlow,
    LookupResult,
    SendResult,
)
from invoicekit.capabilities import Capability
from invoicekit.engine import EngineCore, iterate_async, iterate_sync, run_async, run_sync
from invoicekit.errors import (
    Conflict,
    FieldIssue,
    InvoicekitError,
    UncertainOutcome,
    UnsupportedOperation,
    ValidationError,
)
from invoicekit.model import Client, CreditNote, Invoice, Payment, Seller
from invoicekit.model._key import check_key, new_idempotency_key
from invoicekit.vat import BELGIAN_RATES, VatCategory, VatRateTable

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncBooks", "Books"]

T = TypeVar("T")
D = TypeVar("D", Client, Invoice, CreditNote, Payment)
log = logging.getLogger("invoicekit.books")
Via = Literal["email", "peppol"]

# A plan runs several flows one after the other and sees each one's result or error: the sync and async
# facades drive the same plan (drive_sync / drive_async), so get-or-create is decided once.
Plan = Generator[Flow[Any], Any, T]


class _Keyed(NamedTuple):  # not a frozen dataclass: as immutable, a tenth of its start-up cost (engine/_core.py)
    """How Books creates one kind of document by its reconciliation key (docs/idempotency.md)."""

    kind: Literal["client", "invoice", "credit_note", "payment"]
    create: Capability
    by_key: Capability
    send: Callable[[Any], Flow[Any]]  # the adapter's create flow
    find: Callable[[str], LookupFlow]  # the adapter's search by key
    fetch: Callable[[str], Flow[Any]] | None  # read a found document by provider id (None: no read)


_KEYED_CAPABILITIES = {  # kind -> (create, create by key, get)
    "client": (Capability.CLIENTS_CREATE, Capability.CLIENTS_CREATE_BY_KEY, Capability.CLIENTS_GET),
    "invoice": (Capability.INVOICES_CREATE, Capability.INVOICES_CREATE_BY_KEY, Capability.INVOICES_GET),
    "credit_note": (Capability.CREDIT_NOTES_CREATE, Capability.CREDIT_NOTES_CREATE_BY_KEY, Capability.CREDIT_NOTES_GET),
}


L = TypeVar("L", threading.Lock, "asyncio.Lock")


def _async_lock() -> asyncio.Lock:
    # asyncio is imported when an async create first needs a lock: a sync connection never loads it.
    import asyncio

    return asyncio.Lock()


class _KeyLocks(Generic[L]):
    """One lock per caller's key while its create runs. Deliveries of one key on one connection (threads,
    tasks) then go one after the other and the second finds the first; between processes the search after
    the create still catches the race (Conflict)."""

    def __init__(self, factory: Callable[[], L]) -> None:
        self._factory: Callable[[], L] = factory
        self._guard = threading.Lock()
        self._held: dict[str, tuple[L, int]] = {}

    def take(self, key: str) -> L:
        with self._guard:
            lock, users = self._held.get(key) or (self._factory(), 0)
            self._held[key] = (lock, users + 1)
            return lock

    def release(self, key: str) -> None:
        with self._guard:
            lock, users = self._held[key]
            if users == 1:
                del self._held[key]
            else:
                self._held[key] = (lock, users - 1)


def drive_sync(plan: Plan[T], run: Callable[[Flow[Any]], Any]) -> T:
    try:
        flow = next(plan)
        while True:
            try:
                result = run(flow)
            except InvoicekitError as exc:
                flow = plan.throw(exc)
            else:
                flow = plan.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def drive_async(plan: Plan[T], run: Callable[[Flow[Any]], Awaitable[Any]]) -> T:
    try:
        flow = next(plan)
        while True:
            try:
                result = await run(flow)
            except InvoicekitError as exc:
                flow = plan.throw(exc)
            else:
                flow = plan.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


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
        self.sync_key_locks = _KeyLocks(threading.Lock)
        self.async_key_locks = _KeyLocks(_async_lock)

    def check_fields(self, document: Client | Invoice | CreditNote) -> None:
        """Refuse data the provider would silently drop, unless the caller accepted the loss."""
        issues = self.adapter.field_losses(document)
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
            # `allowed` is what is_valid_rate tests against (rates_on(day)), read once for all the rows.
            if row.vat_category is VatCategory.S and row.vat_rate not in allowed
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

    def keyed(self, spec: _Keyed, document: D, idempotency_key: str | None) -> Plan[D]:
        """Create ``document`` exactly once under its reconciliation key; see docs/idempotency.md.

        A key the caller chose may already be in use (a re-delivered webhook): the provider is searched
        by it first and a found document is returned, nothing sent; after the create it is searched again,
        so two workers racing with one key end in a Conflict naming it, never in a silent duplicate. A key
        the library made is new by construction, so it costs no search unless an answer is lost.
        """
        self.require(spec.create)
        key, explicit = _resolve_key(document, idempotency_key)
        if spec.by_key not in self.adapter.capabilities:
            if explicit:
                # The key would be dropped on the way: refuse rather than promise what cannot be kept.
                raise UnsupportedOperation(self.adapter.name, spec.by_key.value)
            made = yield spec.send(document)
            return self.created(spec.kind, made)  # type: ignore[no-any-return]
        chosen = key is not None
        key = key or new_idempotency_key()
        document = document.model_copy(update={"idempotency_key": key})
        if chosen:
            found: LookupResult = yield spec.find(key)
            if isinstance(found, Found):
                log.info(
                    "%s: a %s with key %r exists (%s): not created again",
                    self.adapter.name,
                    spec.kind,
                    key,
                    found.provider_id,
                )
                return (yield from self._existing(spec, document, found))
            if found is Lookup.UNKNOWN:
                raise self._duplicates(spec, key, None)
        made = yield spec.send(document)
        if chosen:
            try:
                check: LookupResult = yield spec.find(key)
            except InvoicekitError as exc:
                raise UncertainOutcome(
                    self.adapter.name,
                    f"create {spec.kind}",
                    key,
                    f"{made.provider_id} was created, but the search for a second {spec.kind} with this key "
                    f"failed ({exc}); creating again with the same key returns the one that exists",
                ) from None
            if check is Lookup.UNKNOWN:
                raise self._duplicates(spec, key, made.provider_id)
            if not (isinstance(check, Found) and check.provider_id == made.provider_id):
                raise UncertainOutcome(
                    self.adapter.name,
                    f"create {spec.kind}",
                    key,
                    f"{made.provider_id} was created, but a search by its key does not find it ({check}): the "
                    "adapter does not keep the key, so exactly once cannot be promised",
                )
        return self.created(spec.kind, made)  # type: ignore[no-any-return]

    def document_spec(self, kind: Literal["client", "invoice", "credit_note"]) -> _Keyed:
        a = self.adapter
        create, by_key, get = _KEYED_CAPABILITIES[kind]
        flows: dict[str, tuple[Callable[[Any], Flow[Any]], Callable[[str], LookupFlow], Callable[[str], Flow[Any]]]]
        flows = {
            "client": (a.create_client, a.find_client_by_key, a.get_client),
            "invoice": (a.create_invoice, a.find_invoice_by_key, a.get_invoice),
            "credit_note": (a.create_credit_note, a.find_credit_note_by_key, a.get_credit_note),
        }
        send, find, fetch = flows[kind]
        return _Keyed(kind, create, by_key, send, find, fetch if get in a.capabilities else None)

    def payment_spec(self, payment: Payment) -> _Keyed:
        a = self.adapter
        # No provider reads one payment by id: a found payment is returned as sent, with the found id.
        return _Keyed(
            "payment",
            Capability.PAYMENTS_CREATE,
            Capability.PAYMENTS_CREATE_BY_KEY,
            a.create_payment,
            lambda key: a.find_payment_by_key(payment.invoice_id, key),
            None,
        )

    def _existing(self, spec: _Keyed, document: D, found: Found) -> Plan[D]:
        if spec.fetch is None:
            return document.model_copy(update={"provider_id": found.provider_id})
        existing: D = yield spec.fetch(found.provider_id)
        return existing

    def _duplicates(self, spec: _Keyed, key: str, made: str | None) -> Conflict:
        mine = f"; this call created {made}" if made else ""
        return Conflict(
            f"the search for the idempotency key {key!r} found no single {spec.kind}{mine}: more than one "
            f"carries it (two creates with this key raced, or the key was used elsewhere: keep one and delete "
            f"the other at the provider), or the provider's answer cannot tell (the adapter says which)",
            provider=self.adapter.name,
        )

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


def _resolve_key(document: Client | Invoice | CreditNote | Payment, given: str | None) -> tuple[str | None, bool]:
    """The caller's key: ``idempotency_key=``, else the document's own, else a client's external id; and
    whether it was asked for explicitly (an adapter without key support refuses only those)."""
    if given is not None:
        try:
            check_key(given)
        except ValueError as exc:
            raise ValidationError.single("idempotency_key", str(exc)) from None
    own = document.idempotency_key
    if given is not None and own is not None and given != own:
        raise ValidationError.single(
            "idempotency_key", f"{given!r} given to create(), but the document carries {own!r}: pass one"
        )
    if given is None and own is None and isinstance(document, Client):
        return document.external_id, False  # a shop's customer number is the natural key of its client
    key = given if given is not None else own
    return key, key is not None


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

    def _keyed(self, spec: _Keyed, document: D, idempotency_key: str | None) -> D:
        key, _ = _resolve_key(document, idempotency_key)
        plan = self._ops.keyed(spec, document, idempotency_key)
        if not key:
            return drive_sync(plan, lambda flow: run_sync(self._ops.core.run(flow), self._client))
        locks = self._ops.sync_key_locks
        try:
            with locks.take(key):
                return drive_sync(plan, lambda flow: run_sync(self._ops.core.run(flow), self._client))
        finally:
            locks.release(key)


class Clients(_SyncResource):
    """``books.clients``: create, read, list, search, update and delete clients."""

    def create(self, client: Client, *, idempotency_key: str | None = None) -> Client:
        """Create a client, exactly once under its reconciliation key.

        ``idempotency_key`` (or ``client.idempotency_key``, or else ``client.external_id``) is the
        caller's key: when a client with it exists, that client is returned and nothing is created
        (get-or-create). Without one the library makes a key. See docs/idempotency.md.
        """
        self._ops.require(Capability.CLIENTS_CREATE)
        client = self._ops.map_custom_fields(client)
        return self._keyed(self._ops.document_spec("client"), client, idempotency_key)

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

    def create(self, invoice: Invoice, *, idempotency_key: str | None = None) -> Invoice:
        """Create an invoice (``number=None``: the provider numbers it); ``idempotency_key`` as for
        :meth:`Clients.create`."""
        self._ops.require(Capability.INVOICES_CREATE)
        self._ops.check_rates(invoice)
        return self._keyed(self._ops.document_spec("invoice"), invoice, idempotency_key)

    def get(self, invoice_id: str) -> Invoice:
        """The invoice with this provider id, with ``status`` and ``paid_amount`` where the provider reports them."""
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

    def create(self, credit_note: CreditNote, *, idempotency_key: str | None = None) -> CreditNote:
        """Create a credit note; ``idempotency_key`` as for :meth:`Clients.create`."""
        self._ops.require(Capability.CREDIT_NOTES_CREATE)
        self._ops.check_rates(credit_note)
        return self._keyed(self._ops.document_spec("credit_note"), credit_note, idempotency_key)

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

    def create(self, payment: Payment, *, idempotency_key: str | None = None) -> Payment:
        """Record a payment; ``idempotency_key`` as for :meth:`Clients.create` (two equal payments are two
        payments: each has its own key)."""
        return self._keyed(self._ops.payment_spec(payment), payment, idempotency_key)

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

    async def _keyed(self, spec: _Keyed, document: D, idempotency_key: str | None) -> D:
        key, _ = _resolve_key(document, idempotency_key)
        plan = self._ops.keyed(spec, document, idempotency_key)
        if not key:
            return await drive_async(plan, lambda flow: run_async(self._ops.core.run(flow), self._client))
        locks = self._ops.async_key_locks
        try:
            async with locks.take(key):
                return await drive_async(plan, lambda flow: run_async(self._ops.core.run(flow), self._client))
        finally:
            locks.release(key)


class AsyncClients(_AsyncResource):
    """The async twin of :class:`Clients`: the same methods, awaited; ``list`` returns an async iterator."""

    async def create(self, client: Client, *, idempotency_key: str | None = None) -> Client:
        """See :meth:`Clients.create`."""
        self._ops.require(Capability.CLIENTS_CREATE)
        client = self._ops.map_custom_fields(client)
        return await self._keyed(self._ops.document_spec("client"), client, idempotency_key)

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

    async def create(self, invoice: Invoice, *, idempotency_key: str | None = None) -> Invoice:
        """See :meth:`Invoices.create`."""
        self._ops.require(Capability.INVOICES_CREATE)
        self._ops.check_rates(invoice)
        return await self._keyed(self._ops.document_spec("invoice"), invoice, idempotency_key)

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

    async def create(self, credit_note: CreditNote, *, idempotency_key: str | None = None) -> CreditNote:
        """See :meth:`CreditNotes.create`."""
        self._ops.require(Capability.CREDIT_NOTES_CREATE)
        self._ops.check_rates(credit_note)
        return await self._keyed(self._ops.document_spec("credit_note"), credit_note, idempotency_key)

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

    async def create(self, payment: Payment, *, idempotency_key: str | None = None) -> Payment:
        """See :meth:`Payments.create`."""
        return await self._keyed(self._ops.payment_spec(payment), payment, idempotency_key)

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
        owns_client: bool = True,
    ) -> None:
        super().__init__(core, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
        self._client = client
        self._owns_client = owns_client  # False on a caller's client (connect(http_client=...)): left open
        self.clients = Clients(self._ops, client)
        self.invoices = Invoices(self._ops, client)
        self.credit_notes = CreditNotes(self._ops, client)
        self.payments = Payments(self._ops, client)

    def close(self) -> None:
        if self._owns_client:
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
        owns_client: bool = True,
    ) -> None:
        super().__init__(core, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
        self._client = client
        self._owns_client = owns_client
        self.clients = AsyncClients(self._ops, client)
        self.invoices = AsyncInvoices(self._ops, client)
        self.credit_notes = AsyncCreditNotes(self._ops, client)
        self.payments = AsyncPayments(self._ops, client)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncBooks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
