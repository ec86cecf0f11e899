"""The adapter contract: how a provider's HTTP API is described to invoicekit, without doing any I/O.

An adapter turns neutral operations into *flows*: generators that yield :class:`Step` objects (a request
plus how it may be retried) and receive, for each, the :class:`httpx.Response` (or a :class:`Found` when a
lost write was recovered by a lookup). The flow returns the neutral result. The engine drives the same
flow with ``httpx.Client`` or ``httpx.AsyncClient``, so one adapter serves sync and async code, and
retries, paging, hooks and secret redaction are written once, in the engine.

A minimal read::

    def get_client(self, client_id: str) -> Flow[Client]:
        response = yield Step(ApiRequest("GET", f"/clients/{client_id}.json"))
        return self._client_from_json(read_json(response, self.name))

A create that can be recovered when its response is lost::

    def create_client(self, client: Client) -> Flow[Client]:
        outcome = yield Step(request, idempotent=False, lookup=lambda: self._find_client(ref))
        ...

Anything an operation rejects must be raised *before the first yield*: then no request is sent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeAlias, TypeVar, overload

import httpx

from invoicekit.capabilities import Capability
from invoicekit.errors import (
    AuthenticationError,
    Conflict,
    FieldIssue,
    InvoicekitError,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    UnsupportedOperation,
)
from invoicekit.model import Client, CreditNote, Invoice, Payment, ProviderDocument

if TYPE_CHECKING:
    import msgspec.json

__all__ = [
    "BASE_DOCUMENT_FIELDS",
    "Adapter",
    "ApiRequest",
    "ClientQuery",
    "DocumentQuery",
    "Flow",
    "Found",
    "LazyPage",
    "Listing",
    "Lookup",
    "LookupFlow",
    "NextLink",
    "PageNumber",
    "Paging",
    "SendResult",
    "SkipTake",
    "Step",
    "StepResult",
    "error_for_status",
    "lookup_by_key",
    "read_json",
]

T = TypeVar("T")


@dataclass(frozen=True)
class ApiRequest:
    """A request relative to the adapter's base URL. ``params`` never carry credentials: auth adds them."""

    method: str
    path: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Lookup(Enum):
    """What a lookup after an ambiguous write concluded (with :class:`Found` for a hit)."""

    ABSENT = "absent"  # certainly not there: the write may be sent again
    UNKNOWN = "unknown"  # cannot tell: the engine raises UncertainOutcome


@dataclass(frozen=True)
class Found:
    """A lookup found the document the lost write created; ``provider_id`` is its id at the provider."""

    provider_id: str


LookupResult: TypeAlias = Found | Lookup
LookupFlow: TypeAlias = Generator["Step", "StepResult", LookupResult]


@dataclass(frozen=True)
class Step:
    """One request of a flow.

    ``idempotent`` steps (reads, PUT, DELETE) are retried on 429, 5xx and transport errors. A
    non-idempotent step (a create) is retried only when it certainly did not land: after a 429 or a
    connection that never opened. After an ambiguous failure the engine runs ``lookup`` and retries only
    on :attr:`Lookup.ABSENT`; :class:`Found` is sent back into the flow instead of a response.
    Once a non-idempotent step is accepted, any later failure of the flow is raised as
    :class:`~invoicekit.errors.WriteLanded`; a flow reports a success answer that is really a refusal by
    raising its typed error (a ProviderError, or a ValidationError with ``provider=``) as it reads it.
    ``allow`` lists error statuses the flow wants to see itself (e.g. 404 in a lookup).
    """

    request: ApiRequest
    idempotent: bool = True
    lookup: Callable[[], LookupFlow] | None = None
    reference: str | None = None  # what the lookup searches by, for the UncertainOutcome message
    allow: frozenset[int] = frozenset()


StepResult: TypeAlias = httpx.Response | Found
Flow: TypeAlias = Generator[Step, StepResult, T]


class Paging:
    """How a provider pages a list; ``next_request`` returns None after the last page."""

    def first(self, request: ApiRequest) -> ApiRequest:
        return request

    def next_request(self, request: ApiRequest, response: httpx.Response, count: int) -> ApiRequest | None:
        raise NotImplementedError


@dataclass(frozen=True)
class PageNumber(Paging):
    """``?page=N`` (1-based) until a page comes back shorter than ``size``."""

    size: int = 100
    page_param: str = "page"
    size_param: str | None = "per_page"

    def first(self, request: ApiRequest) -> ApiRequest:
        params = {**request.params, self.page_param: 1}
        if self.size_param:
            params[self.size_param] = self.size
        return _with_params(request, params)

    def next_request(self, request: ApiRequest, response: httpx.Response, count: int) -> ApiRequest | None:
        if count < self.size:
            return None
        page = int(request.params.get(self.page_param, 1))
        return _with_params(request, {**request.params, self.page_param: page + 1})


@dataclass(frozen=True)
class SkipTake(Paging):
    """``?skip=N&take=M`` (0-based offset) until a page comes back shorter than ``size``."""

    size: int = 100
    skip_param: str = "skip"
    take_param: str = "take"

    def first(self, request: ApiRequest) -> ApiRequest:
        return _with_params(request, {**request.params, self.skip_param: 0, self.take_param: self.size})

    def next_request(self, request: ApiRequest, response: httpx.Response, count: int) -> ApiRequest | None:
        if count < self.size:
            return None
        skip = int(request.params.get(self.skip_param, 0))
        return _with_params(request, {**request.params, self.skip_param: skip + count})


@dataclass(frozen=True)
class NextLink(Paging):
    """The response names the next page (a JSON field, or an HTTP Link header when ``find`` says so)."""

    find: Callable[[httpx.Response], str | None]

    def next_request(self, request: ApiRequest, response: httpx.Response, count: int) -> ApiRequest | None:
        link = self.find(response)
        if not link:
            return None
        url = httpx.URL(link)
        return ApiRequest(request.method, url.path, params=dict(url.params), headers=request.headers)


def _with_params(request: ApiRequest, params: Mapping[str, str | int]) -> ApiRequest:
    return ApiRequest(request.method, request.path, params, request.json, request.content, request.headers)


class LazyPage(Sequence[T]):
    """A page whose items are read (mapped and validated) one at a time, as the caller reaches them.

    ``parse_page`` may return one instead of a list: its length is the provider's item count, known once the
    body is decoded, and the engine reads each item when the caller asks for it, with the same typed errors
    as a page read at once. Built as a list, a page's 100 invoices all live until its last one is taken, and
    Python's garbage collector walks them again and again (a full collection every few pages); read one at a
    time, an item the caller drops dies young.
    """

    __slots__ = ("_raw", "_read")

    def __init__(self, raw: Sequence[Any], read: Callable[[Any], T]) -> None:
        self._raw = raw
        self._read = read

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._read(item) for item in self._raw[index]]
        return self._read(self._raw[index])


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A paged list: the first request, how to page, and how to read one page into neutral items.

    ``keep`` filters items client-side (for filters the provider lacks); paging decisions are taken on the
    unfiltered page, so a filter never ends the listing early.
    """

    request: ApiRequest
    paging: Paging
    parse_page: Callable[[httpx.Response], Sequence[T]]
    keep: Callable[[T], bool] | None = None


@dataclass(frozen=True)
class ClientQuery:
    """What ``clients.list()`` filters by; None (or False) leaves a filter out."""

    search: str | None = None
    external_id: str | None = None
    vat_number: str | None = None


@dataclass(frozen=True)
class DocumentQuery:
    """What ``invoices.list()`` and ``credit_notes.list()`` filter by; None (or False) leaves a filter out."""

    unpaid: bool = False
    client_id: str | None = None
    number: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What a send reported. ``raw`` is the provider's answer."""

    via: Literal["email", "peppol"]
    accepted: bool
    message: str | None = None
    raw: Any = field(default=None, repr=False)


def lookup_by_key(key: str | None, candidates: Iterable[tuple[str, str | None]]) -> LookupResult:
    """What a search by reconciliation key concluded, from ``(provider id, stored key)`` pairs.

    Only the key decides, never a field other documents share (number, amount, date): exactly one
    document carrying ``key`` is :class:`Found`, none is :attr:`Lookup.ABSENT`, more than one (two
    creates raced, or someone reused the key) is :attr:`Lookup.UNKNOWN`, and so is a ``key`` of None
    (a provider that cannot store one: the engine then raises UncertainOutcome naming the key). Pass every
    candidate the provider's filter returned: a filter that is looser than equality (a substring search)
    is narrowed here.
    """
    if not key:
        return Lookup.UNKNOWN
    matches = {provider_id for provider_id, stored in candidates if stored == key}
    if len(matches) == 1:
        return Found(matches.pop())
    return Lookup.ABSENT if not matches else Lookup.UNKNOWN


# A JSON number past a double's range is no amount, id or count any provider sends; as a Decimal it would
# still be cheap, but int() of 1E+99999999 is not.
_MAX_JSON_EXPONENT = 308


def _json_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:  # an exponent past what decimal can hold at all
        value = None
    if value is None or value.adjusted() > _MAX_JSON_EXPONENT:
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@functools.cache
def _fast_decoder() -> msgspec.json.Decoder[Any]:
    # Imported on the first answer, not with invoicekit (about 10 ms). Its untyped decoding gives what json.loads
    # gives (dicts, lists, str, int, bool, None; the last duplicate key wins; the same 4,300-digit limit on
    # integers, which it refuses), and hands every number with a fraction or an exponent to the same
    # _json_decimal. NaN and Infinity are not JSON to msgspec at all.
    import msgspec.json

    return msgspec.json.Decoder(float_hook=_json_decimal)


def read_json(response: httpx.Response, provider: str) -> Any:
    """The response body as JSON, or :class:`MalformedResponse`.

    Numbers with a fraction or an exponent come back as :class:`~decimal.Decimal` (money is never a float);
    ``NaN``/``Infinity`` (not JSON), numbers beyond a double's range and nesting deeper than the interpreter
    can parse are MalformedResponse, as is any body that is not JSON (an HTML error page, XML).
    """
    content = response.content
    try:
        return _fast_decoder().decode(content)
    except (ValueError, RecursionError):  # msgspec's DecodeError is a ValueError
        # Whatever msgspec refuses, json.loads decides, as it always did: the same reasons for a bad body, and
        # what json.loads reads and msgspec does not (a UTF-8 BOM, UTF-16, a lone surrogate escape, nesting
        # past msgspec's depth) reads as before.
        pass
    try:
        return json.loads(content, parse_float=_json_decimal, parse_constant=_no_constant)
    except RecursionError:
        reason = "the JSON answer is nested too deeply"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an int of too many digits, the above
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip()
        reason = f"the response body is not valid JSON ({exc})"
        reason += f" but {kind}" if kind and "json" not in kind else ""
    raise MalformedResponse(reason, provider=provider, status=response.status_code)


def error_for_status(
    provider: str, status: int, message: str, *, request_id: str | None = None, body: str | None = None
) -> ProviderError:
    """The typed error for a non-success status: what :meth:`Adapter.error_for` returns unless overridden."""
    kwargs: dict[str, Any] = {"provider": provider, "status": status, "request_id": request_id, "body": body}
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 403:
        return PermissionDenied(message, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if status == 409:
        return Conflict(message, **kwargs)
    if status == 429:
        return RateLimited(message, retry_after=None, **kwargs)
    if status >= 500:
        return ProviderUnavailable(message, **kwargs)
    return ProviderRejected(message, **kwargs)


# The Invoice/CreditNote fields every adapter maps (partial losses are its unsupported_fields; the
# idempotency key is the engine's, carried by every create). Frozen on
# purpose: a field added to the neutral model later is not added here, so an adapter refuses it until it
# declares that its provider keeps it (``document_fields = BASE_DOCUMENT_FIELDS | {"new_field"}``).
BASE_DOCUMENT_FIELDS = frozenset(
    {
        "number", "issue_date", "due_date", "payment_term_days", "delivery_date", "currency", "client", "rows",
        "discount_percent", "allowances_charges", "note", "buyer_reference", "order_reference",
        "structured_communication", "status", "paid_amount", "corrects_invoice_id", "corrects_invoice_number",
        "idempotency_key",
    }
)  # fmt: skip


def _undeclared_fields(document: Client | Invoice | CreditNote, adapter: Adapter) -> list[FieldIssue]:
    """The fields ``document`` sets (to other than their default) that the adapter does not declare."""
    if isinstance(document, Client):
        return []
    issues = []
    for name, info in type(document).model_fields.items():
        if name in adapter.document_fields or name in ProviderDocument.model_fields:  # provider_id, raw
            continue
        if getattr(document, name) != info.get_default(call_default_factory=True):
            issues.append(FieldIssue(name, f"{adapter.name} cannot store this field"))
    return issues


class Adapter:
    """Base class of every provider adapter. Subclasses set ``name``, ``capabilities``, ``base_url`` and
    implement the operations they declare; the rest raise :class:`UnsupportedOperation`.

    Credentials live on the instance; ``secrets()`` lists them so the engine can redact them from logs,
    errors and reprs. An adapter never performs I/O itself.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    base_url: str
    #: Resource ("clients", "invoices", "credit_notes", "payments") -> the provider field that carries the
    #: reconciliation key (``idempotency_key``) and is returned on reads, for every resource whose
    #: ``<resource>.create_by_key`` capability is declared (the feature matrix shows it).
    reconciliation_fields: ClassVar[Mapping[str, str]] = {}

    # --- transport description -------------------------------------------------------------------
    def auth(self) -> httpx.Auth | None:
        """How requests are authenticated (an httpx.Auth flow, itself sans-I/O)."""
        return None

    def headers(self) -> dict[str, str]:
        return {}

    def secrets(self) -> tuple[str, ...]:
        return ()

    #: The neutral Invoice/CreditNote fields this provider keeps. A document that sets another one is
    #: refused like an ``unsupported_fields`` loss; the default, :data:`BASE_DOCUMENT_FIELDS`, leaves out
    #: every field added since (``invoicing_period``), which an adapter adds when its provider keeps it.
    document_fields: ClassVar[frozenset[str]] = BASE_DOCUMENT_FIELDS

    def field_losses(self, document: Client | Invoice | CreditNote) -> list[FieldIssue]:
        """Everything set on ``document`` this provider would drop: fields outside :attr:`document_fields`,
        then what :meth:`unsupported_fields` reports. Books refuses a document with any."""
        return _undeclared_fields(document, self) + self.unsupported_fields(document)

    def unsupported_fields(self, document: Client | Invoice | CreditNote) -> list[FieldIssue]:
        """Neutral fields set on ``document`` that this provider cannot store.

        Books refuses such a document (ValidationError naming the fields) unless the connection was made
        with ``allow_field_loss=True``; the conformance suite reports them as dropped.
        """
        return []

    def request_id(self, response: httpx.Response) -> str | None:
        value: str | None = response.headers.get("x-request-id")
        return value

    def error_message(self, response: httpx.Response) -> str:
        """The provider's own words for an error response (override to read its error shape)."""
        return response.reason_phrase or f"HTTP {response.status_code}"

    def error_for(self, response: httpx.Response, body: str) -> InvoicekitError:
        """A typed error for a non-success response; ``response`` and ``body`` are already redacted.

        Override to turn a provider's field errors (e.g. a 422) into a ValidationError-carrying error.
        """
        message = self.error_message(response)
        return error_for_status(
            self.name, response.status_code, message, request_id=self.request_id(response), body=body
        )

    def created_id(self, response: httpx.Response) -> str | None:
        """The id at the provider of what an accepted write made, read from its answer, or None.

        The engine asks only when something after an accepted write failed, to name the document that
        exists in :class:`~invoicekit.errors.WriteLanded`. The default reads a ``Location`` header, else an
        ``id`` at the top of a JSON object; override it when the provider's answers say it otherwise.
        """
        location = response.headers.get("location")
        if location:
            last = httpx.URL(location).path.rstrip("/").rsplit("/", 1)[-1]
            return last or None
        data = read_json(response, self.name)
        value = data.get("id") if isinstance(data, dict) else None
        return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.base_url}>"

    def _unsupported(self, capability: Capability) -> UnsupportedOperation:
        return UnsupportedOperation(self.name, capability.value)

    # --- clients ---------------------------------------------------------------------------------
    def create_client(self, client: Client) -> Flow[Client]:
        raise self._unsupported(Capability.CLIENTS_CREATE)

    def get_client(self, client_id: str) -> Flow[Client]:
        raise self._unsupported(Capability.CLIENTS_GET)

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        raise self._unsupported(Capability.CLIENTS_LIST)

    def update_client(self, client_id: str, client: Client) -> Flow[Client]:
        raise self._unsupported(Capability.CLIENTS_UPDATE)

    def delete_client(self, client_id: str) -> Flow[None]:
        raise self._unsupported(Capability.CLIENTS_DELETE)

    def check_vat_number(self, vat_number: str) -> Flow[bool]:
        raise self._unsupported(Capability.CLIENTS_CHECK_VAT)

    # --- finding a create by its reconciliation key (``<resource>.create_by_key``) --------------------
    # Each searches by the key alone and concludes with lookup_by_key(). A create flow uses the same
    # search as its Step lookup (``reference=key``); Books uses it for get-or-create.
    def find_client_by_key(self, key: str) -> LookupFlow:
        raise self._unsupported(Capability.CLIENTS_CREATE_BY_KEY)

    def find_invoice_by_key(self, key: str) -> LookupFlow:
        raise self._unsupported(Capability.INVOICES_CREATE_BY_KEY)

    def find_credit_note_by_key(self, key: str) -> LookupFlow:
        raise self._unsupported(Capability.CREDIT_NOTES_CREATE_BY_KEY)

    def find_payment_by_key(self, invoice_id: str, key: str) -> LookupFlow:
        raise self._unsupported(Capability.PAYMENTS_CREATE_BY_KEY)

    # --- invoices --------------------------------------------------------------------------------
    def create_invoice(self, invoice: Invoice) -> Flow[Invoice]:
        raise self._unsupported(Capability.INVOICES_CREATE)

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        raise self._unsupported(Capability.INVOICES_GET)

    def list_invoices(self, query: DocumentQuery) -> Listing[Invoice]:
        raise self._unsupported(Capability.INVOICES_LIST)

    def update_invoice(self, invoice_id: str, invoice: Invoice) -> Flow[Invoice]:
        raise self._unsupported(Capability.INVOICES_UPDATE)

    def delete_invoice(self, invoice_id: str) -> Flow[None]:
        raise self._unsupported(Capability.INVOICES_DELETE)

    def send_invoice(self, invoice_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        cap = Capability.INVOICES_SEND_PEPPOL if via == "peppol" else Capability.INVOICES_SEND_EMAIL
        raise self._unsupported(cap)

    def invoice_ubl(self, invoice_id: str) -> Flow[bytes]:
        raise self._unsupported(Capability.INVOICES_UBL)

    def invoice_pdf(self, invoice_id: str) -> Flow[bytes]:
        """The provider's own PDF of the invoice (the bytes of a ``%PDF-`` file)."""
        raise self._unsupported(Capability.INVOICES_PDF)

    def next_invoice_number(self) -> Flow[str]:
        raise self._unsupported(Capability.INVOICES_NEXT_NUMBER)

    # --- credit notes ----------------------------------------------------------------------------
    def create_credit_note(self, credit_note: CreditNote) -> Flow[CreditNote]:
        raise self._unsupported(Capability.CREDIT_NOTES_CREATE)

    def get_credit_note(self, credit_note_id: str) -> Flow[CreditNote]:
        raise self._unsupported(Capability.CREDIT_NOTES_GET)

    def list_credit_notes(self, query: DocumentQuery) -> Listing[CreditNote]:
        raise self._unsupported(Capability.CREDIT_NOTES_LIST)

    def delete_credit_note(self, credit_note_id: str) -> Flow[None]:
        raise self._unsupported(Capability.CREDIT_NOTES_DELETE)

    def send_credit_note(
        self, credit_note_id: str, via: Literal["email", "peppol"], to: str | None
    ) -> Flow[SendResult]:
        cap = Capability.CREDIT_NOTES_SEND_PEPPOL if via == "peppol" else Capability.CREDIT_NOTES_SEND_EMAIL
        raise self._unsupported(cap)

    def credit_note_pdf(self, credit_note_id: str) -> Flow[bytes]:
        """The provider's own PDF of the credit note (the bytes of a ``%PDF-`` file)."""
        raise self._unsupported(Capability.CREDIT_NOTES_PDF)

    # --- payments --------------------------------------------------------------------------------
    def create_payment(self, payment: Payment) -> Flow[Payment]:
        raise self._unsupported(Capability.PAYMENTS_CREATE)

    def list_payments(self, invoice_id: str) -> Listing[Payment]:
        raise self._unsupported(Capability.PAYMENTS_LIST)
