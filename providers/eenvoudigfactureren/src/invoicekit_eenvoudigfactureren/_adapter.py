"""The EenvoudigFactureren adapter: neutral operations as EF API v1 requests, in XML, and its answers back.

EF quirks it handles: the key goes in an ``X-API-Key`` header; XML is EF's default format and the one this
adapter speaks (every body it sends and reads, through the hardened parser); a create answers only
``{"success":..,"<x>_id":..}``, so the adapter reads the document back, as the vendor's own WooCommerce
plugin does; a body EF cannot parse gets HTTP 200 with ``{"code":400,"error":..}``; credit notes are
invoices with a negative total; lists page with ``skip``/``take``. It never does I/O: the engine runs its
flows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import httpx

from invoicekit.adapter import (
    Adapter,
    ApiRequest,
    ClientQuery,
    DocumentQuery,
    Flow,
    Found,
    LazyPage,
    Listing,
    Lookup,
    LookupFlow,
    SendResult,
    SkipTake,
    Step,
    lookup_by_key,
    read_json,
)
from invoicekit.capabilities import Capability
from invoicekit.errors import (
    AuthenticationError,
    ConfigurationError,
    Conflict,
    FieldIssue,
    InvoicekitError,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ValidationError,
)
from invoicekit.model import Client, Contact, CreditNote, Invoice, Payment
from invoicekit.model._documents import _Document
from invoicekit.model._key import new_idempotency_key
from invoicekit.xmlsafe import DEFAULT_MAX_BYTES, XmlError, parse_xml
from invoicekit_eenvoudigfactureren import _mapping as m
from invoicekit_eenvoudigfactureren._xml import XmlEncodeError, from_xml, to_xml

__all__ = ["EenvoudigFacturerenAdapter"]

DEFAULT_BASE_URL = "https://eenvoudigfactureren.be"
API_ROOT = "/api/v1"
# Assumption (reference #8): skip/take paging, at most 100 per page; a short page is the last.
PAGE = SkipTake(size=100)
XML_BODY = {"Content-Type": "application/xml; charset=utf-8"}
D = TypeVar("D", Invoice, CreditNote)
T = TypeVar("T")

# EF names the field first in its errors ("phone_number too long", "items cannot be empty"); the same words
# map each EF field to the neutral path a caller can fix.
# Assumption (reference #7): every field error has that shape, 400 {"error": "<field> is required"} and kin.
_FIELD_ERROR = re.compile(
    r"^(?:(?P<owner>client|custom_value)\s+)?(?P<field>[A-Za-z0-9_.]+)\s+"
    r"(?P<what>is required|too short|too long|too large|invalid|not unique|unknown|can ?not be .+|cannot be empty)$"
)
_ADDRESS = {
    "street": "street",
    "street2": "street2",
    "postal_code": "postal_code",
    "city": "city",
    "country_code": "country",
    "country": "country",
}
_SEPA = {
    "name": "account_holder",
    "iban": "iban",
    "bic": "bic",
    "mandate_date": "signature_date",
    "mandate_reference": "mandate_reference",
}
_CLIENT = {
    "name": "name",
    "external_client_id": "external_id",
    "tax_code": "vat_number",
    "company_id": "enterprise_number",
    "email_address": "email",
    "phone_number": "phone",
    "website": "website",
    "default_language": "language",
    "custom_values": "custom_fields",
    **{key: f"address.{value}" for key, value in _ADDRESS.items()},
}
_CONTACT = {"contact_name": "name", "email_address": "email", "phone_number": "phone"}
_ITEM = {
    "description": "description",
    "amount": "unit_price",
    "amount_with_tax": "unit_price",
    "quantity": "quantity",
    "unit": "unit",
    "tax_rate": "vat_rate",
    "tax_rate_special_status": "vat_category",
}
_DOCUMENT = {
    "client_id": "client.provider_id",
    "number": "number",
    "reference": "order_reference",
    "date": "issue_date",
    "date_delivery": "delivery_date",
    "days_due": "payment_term_days",
    "discount_percentage": "discount_percent",
    "currency": "currency",
    "note": "note",
    "structured_message": "structured_communication",
    "items": "rows",
}
_PAYMENT = {
    "amount": "amount",
    "date": "date",
    "method": "method",
    "description": "reference",
    "invoice_id": "invoice_id",
}
_SEND = {"tax_code": "client.vat_number", "recipient": "to", "methods": "via"}
# For the error code inside a 200 answer (EF's quirk): the error its HTTP status would have given.
_STATUS_ERRORS: dict[int, type[ProviderError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
}


class _ApiKey(httpx.Auth):
    """EF's recommended authentication: ``X-API-Key`` on every call, ``X-AccountId`` to pick an account."""

    def __init__(self, api_key: str, account_id: str | None) -> None:
        self._api_key = api_key
        self._account_id = account_id

    def __repr__(self) -> str:
        return "<EenvoudigFactureren API key auth>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-API-Key"] = self._api_key
        if self._account_id:
            request.headers["X-AccountId"] = self._account_id
        yield request


def _id(value: str, what: str = "provider_id") -> str:
    # Ids go into the path: refuse anything but digits before a request is built.
    if not isinstance(value, str) or not value.isdigit():
        raise ValidationError.single(what, f"{value!r} is not an EenvoudigFactureren id (digits only)")
    return value


def _compact(data: Mapping[str, Any]) -> dict[str, Any]:
    """A create body: fields without a value are left out rather than sent empty."""
    return {key: value for key, value in data.items() if value is not None and value != []}


def _exact(field: str, value: str) -> dict[str, str]:
    """Query parameters that find ``field == value``. The filter syntax has no escape for its comma
    separator, and a value starting with ``~`` would read as the ``=~`` (contains) operator, so such a value
    is looked for with ``search`` (the caller then compares exactly).

    Assumption (reference #8): any top-level field can be filtered on, external ids and tax_code included.
    """
    if "," in value or value.startswith("~"):
        return {"search": value}
    return {"filter": f"{field}={value}"}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _path_context(response: httpx.Response) -> list[str]:
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built by hand has no request
        return []
    return [part for part in path.split(API_ROOT, 1)[-1].split("/") if part]


def _neutral_path(segments: Sequence[str], field: str, owner: str | None) -> str:
    """The neutral field an EF field of this request is about (``eenvoudigfactureren.<field>`` if none)."""
    head, _, rest = field.partition(".")
    domain = segments[0] if segments else ""
    sub = segments[2] if len(segments) > 2 else ""
    if owner == "custom_value":
        return f"custom_fields.{field}"
    if (owner == "client" or sub in ("send", "sendemail")) and head in _SEND:
        return _SEND[head]
    if domain == "clients" and sub == "contacts" and head in _CONTACT:
        return f"contacts.{_CONTACT[head]}"
    if domain == "clients" and not sub:
        if head in ("delivery_address", "site_address"):
            return f"{head}.{_ADDRESS.get(rest, rest)}" if rest else head
        if head == "sepa_collection":
            return f"sepa_mandate.{_SEPA.get(rest, rest)}" if rest else "sepa_mandate"
        if head in _CLIENT:
            return _CLIENT[head]
    if domain == "invoices":
        if sub == "payments" and head in _PAYMENT:
            return _PAYMENT[head]
        if head == "items":
            index, _, item_field = rest.partition(".")
            if index.isdigit() and item_field in _ITEM:
                return f"rows.{index}.{_ITEM[item_field]}"
            return "rows"
        if sub == "items" and head in _ITEM:
            return f"rows.{_ITEM[head]}"
        if head in _DOCUMENT:
            return _DOCUMENT[head]
    return f"eenvoudigfactureren.{field}"


class EenvoudigFacturerenAdapter(Adapter):
    name = "eenvoudigfactureren"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CLIENTS_CREATE,
            Capability.CLIENTS_GET,
            Capability.CLIENTS_LIST,
            Capability.CLIENTS_SEARCH,
            Capability.CLIENTS_UPDATE,
            Capability.CLIENTS_DELETE,
            Capability.CLIENTS_CONTACTS,
            Capability.INVOICES_CREATE,
            Capability.INVOICES_GET,
            Capability.INVOICES_LIST,
            Capability.INVOICES_LIST_UNPAID,
            Capability.INVOICES_UPDATE,
            Capability.INVOICES_DELETE,
            Capability.INVOICES_SEND_EMAIL,
            Capability.INVOICES_SEND_PEPPOL,
            Capability.INVOICES_UBL,
            Capability.INVOICES_PDF,
            Capability.CREDIT_NOTES_PDF,
            Capability.CREDIT_NOTES_CREATE,
            Capability.CREDIT_NOTES_GET,
            Capability.CREDIT_NOTES_LIST,
            Capability.CREDIT_NOTES_DELETE,
            Capability.CREDIT_NOTES_SEND_EMAIL,
            Capability.CREDIT_NOTES_SEND_PEPPOL,
            Capability.PAYMENTS_CREATE,
            Capability.PAYMENTS_LIST,
            # total_paid: "the sum of the payments" in EF's invoice field list (docs, and the hvr4 bean).
            Capability.INVOICES_PAID_AMOUNT,
            # The reconciliation key of every create travels in a field EF documents and returns
            # (docs/idempotency.md, reconciliation_fields below).
            Capability.CLIENTS_CREATE_BY_KEY,
            Capability.INVOICES_CREATE_BY_KEY,
            Capability.CREDIT_NOTES_CREATE_BY_KEY,
            Capability.PAYMENTS_CREATE_BY_KEY,
        }
    )
    # external_client_id: seed 004 (<= 50, "Uniekheid ... wordt niet afgedwongen"); external_invoice_id:
    # reference "EF, Invoices" (<= 50, docs and hvr4's efInvoicesBean); a payment's description: reference
    # "EF, Invoices" payment fields and hvr4's efInvoicesPaymentsBean, as "<reference> [<key>]".
    reconciliation_fields: ClassVar[Mapping[str, str]] = {
        "clients": "external_client_id",
        "invoices": "external_invoice_id",
        "credit_notes": "external_invoice_id",
        "payments": "description",
    }

    def __init__(
        self,
        *,
        api_key: str,
        account_id: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        max_xml_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigurationError("eenvoudigfactureren needs api_key= (Instellingen > API > API-sleutels)")
        if account_id is not None and not (isinstance(account_id, str) and account_id.strip().isalnum()):
            raise ConfigurationError("account_id= is the account's id (letters and digits, e.g. CAAAAAAAA)")
        self._api_key = api_key.strip()
        self.account_id = account_id.strip() if account_id else None
        root = base_url.rstrip("/")
        # A sandbox's base URL (and a white label's, pasted from its docs) already ends in /api/v1.
        self.base_url = root if root.endswith(API_ROOT) else root + API_ROOT
        self.max_xml_bytes = max_xml_bytes

    def auth(self) -> httpx.Auth:
        return _ApiKey(self._api_key, self.account_id)

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    def headers(self) -> dict[str, str]:
        # XML is EF's default already; saying so keeps a proxy or a future default from changing it.
        return {"Accept": "application/xml"}

    # --- reading answers -----------------------------------------------------------------------------------
    def _parse(self, response: httpx.Response, *, many: bool = False) -> Any:
        kind = response.headers.get("content-type", "").lower()
        if "json" in kind:
            return read_json(response, self.name)
        if "html" in kind:
            # A login page, a proxy's error page or a maintenance notice: never an EF document.
            raise MalformedResponse(
                "EenvoudigFactureren answered an HTML page, not its API's XML",
                provider=self.name,
                status=response.status_code,
            )
        try:
            return from_xml(response.content, max_bytes=self.max_xml_bytes, many=many)
        except XmlError as exc:
            raise MalformedResponse(
                f"unreadable XML from EenvoudigFactureren ({exc})", provider=self.name, status=response.status_code
            ) from None

    def _data(self, response: httpx.Response, *, many: bool = False) -> Any:
        """The answer as data; EF's "HTTP 200 with an error code" quirk raised as the error it is. With
        ``many`` the answer is a list, whatever its XML root and item elements are called."""
        data = self._parse(response, many=many)
        if isinstance(data, Mapping) and data.get("error"):
            code = str(data.get("code") or "").strip()
            status = int(code) if code.isdigit() else 400
            raise self._error(status, str(data["error"]), response)
        return data

    def _done(self, response: httpx.Response) -> None:
        """A write's answer, for its quirk only: an empty body (a proxy's 204) is as good as a success message."""
        if response.content.strip():
            self._data(response)

    def _object(self, response: httpx.Response, key: str | None = None) -> Mapping[str, Any]:
        """One EF object; with ``key`` (``"client_id"``) it must carry that id, or it is no EF object at
        all (foreign XML, an empty page) and reading it would make a blank document."""
        data = self._data(response)
        if not isinstance(data, Mapping):
            raise MalformedResponse(
                "expected one EF object, got a list", provider=self.name, status=response.status_code
            )
        if key is not None and not str(data.get(key) or "").strip().isdigit():
            raise MalformedResponse(
                f"the answer is no EF object: it has no {key}", provider=self.name, status=response.status_code
            )
        return data

    def _created_id(self, response: httpx.Response, key: str) -> str:
        value = str(self._object(response).get(key) or "").strip()
        if not value.isdigit():
            raise MalformedResponse(f"the create answer has no {key}", provider=self.name, status=response.status_code)
        return value

    def created_id(self, response: httpx.Response) -> str | None:
        # A create answer names the new id after its domain: client_id, invoice_id, payment_id, contact_id.
        ids = [str(value).strip() for key, value in self._object(response).items() if key.endswith("_id")]
        return ids[0] if len(ids) == 1 and ids[0].isdigit() else None

    def _safe_message(self, response: httpx.Response) -> str | None:
        try:
            data = self._parse(response)
        except InvoicekitError:
            return None
        if isinstance(data, Mapping) and isinstance(data.get("error"), str):
            return str(data["error"])
        return None

    # --- errors --------------------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> str:
        return self._safe_message(response) or super().error_message(response)

    def _error(self, status: int, message: str, response: httpx.Response) -> InvoicekitError:
        if status == 400:
            match = _FIELD_ERROR.match(message.strip())
            if match:
                path = _neutral_path(_path_context(response), match["field"], match["owner"])
                return ValidationError([FieldIssue(path, message)], provider=self.name)
            return ProviderRejected(message, provider=self.name, status=status)
        kind = _STATUS_ERRORS.get(status, ProviderUnavailable if status >= 500 else ProviderRejected)
        return kind(message, provider=self.name, status=status)

    def error_for(self, response: httpx.Response, body: str) -> InvoicekitError:
        if response.status_code == 400:
            message = self._safe_message(response)
            if message and _FIELD_ERROR.match(message.strip()):
                return self._error(400, message, response)
        return super().error_for(response, body)

    def _field_error(self, response: httpx.Response, prefix: str) -> InvoicekitError:
        """A 400 a flow chose to see itself, with the index of the item it was about."""
        message = self._safe_message(response) or "refused"
        match = _FIELD_ERROR.match(message.strip())
        if match:
            field = _neutral_path(_path_context(response), match["field"], match["owner"])
            path = prefix + field.split(".", 1)[-1] if field.startswith("contacts.") else field
            return ValidationError([FieldIssue(path, message)], provider=self.name)
        return ProviderRejected(message, provider=self.name, status=response.status_code)

    def unsupported_fields(self, document: Client | _Document) -> list[FieldIssue]:
        if isinstance(document, Client):
            return m.unsupported_client_fields(document)
        return m.unsupported_document_fields(document)

    # --- requests --------------------------------------------------------------------------------------------
    def _xml(self, root: str, data: Mapping[str, Any] | Sequence[Any], paths: Mapping[str, str]) -> bytes:
        try:
            return to_xml(root, data)
        except XmlEncodeError as exc:
            head = exc.path.split(".", 1)[0]
            raise ValidationError.single(paths.get(head, exc.path), exc.reason, provider=self.name) from None

    def _post(self, path: str, body: bytes, params: Mapping[str, str] | None = None) -> ApiRequest:
        return ApiRequest("POST", path, params=dict(params or {}), content=body, headers=XML_BODY)

    def _all(self, request: ApiRequest) -> Generator[Step, Any, list[Mapping[str, Any]]]:
        """Every item of a list, page by page (for lookups, which must see the whole list)."""
        items: list[Mapping[str, Any]] = []
        current: ApiRequest | None = PAGE.first(request)
        while current is not None:
            response = yield Step(current)
            assert isinstance(response, httpx.Response)
            page = self._data(response, many=True)
            if not isinstance(page, list):
                raise MalformedResponse("an EF list is a list of objects", provider=self.name)
            items += [item for item in page if isinstance(item, Mapping)]
            current = PAGE.next_request(current, response, len(page))
        return items

    def _listing(
        self,
        request: ApiRequest,
        parse: Callable[[Mapping[str, Any]], T],
        keep: Callable[[T], bool] | None = None,
    ) -> Listing[T]:
        def parse_page(response: httpx.Response) -> Sequence[T]:
            page = self._data(response, many=True)
            if not isinstance(page, list):
                raise MalformedResponse("an EF list is a list of objects", provider=self.name)
            # Each item read as the caller reaches it (see LazyPage: a dropped item dies young).
            return LazyPage([item for item in page if isinstance(item, Mapping)], parse)

        return Listing(request, PAGE, parse_page, keep=keep)

    # --- clients ---------------------------------------------------------------------------------------------
    def _client_key(self, client: Client) -> Client:
        """The client with its key set: EF keeps it in external_client_id, which is also its external id."""
        if client.external_id and client.idempotency_key and client.external_id != client.idempotency_key:
            raise ValidationError.single(
                "idempotency_key",
                "EF keeps the key in external_client_id, which holds external_id: leave one out or make them equal",
                provider=self.name,
            )
        key = client.idempotency_key or client.external_id or new_idempotency_key()
        return client.model_copy(update={"idempotency_key": key})

    def create_client(self, client: Client) -> Flow[Client]:
        issues = m.client_issues(client)
        if issues:
            raise ValidationError(issues, provider=self.name)
        client = self._client_key(client)
        key = client.idempotency_key
        assert key is not None
        body = self._xml("client", _compact(m.client_to_ef(client)), _CLIENT)
        outcome = yield Step(
            self._post("/clients", body),
            idempotent=False,
            lookup=lambda: self.find_client_by_key(key),
            reference=key,
        )
        client_id = outcome.provider_id if isinstance(outcome, Found) else self._created_id(outcome, "client_id")
        # Contacts have their own subdomain (/clients/{id}/contacts); EF documents no inline create.
        for index, contact in enumerate(client.contacts):
            yield from self._add_contact(client_id, index, contact, known=frozenset())
        return (yield from self.get_client(client_id))

    def find_client_by_key(self, key: str) -> LookupFlow:
        # filter=external_client_id=<key> (reference "EF, Transport": filter on any top-level field).
        params = {**_exact("external_client_id", key), "sort": "client_id"}
        items = yield from self._all(ApiRequest("GET", "/clients", params=params))
        return lookup_by_key(key, ((str(i.get("client_id")), _text(i.get("external_client_id"))) for i in items))

    def _add_contact(self, client_id: str, index: int, contact: Contact, known: frozenset[str]) -> Flow[str]:
        body = self._xml("contact", m.contact_to_ef(contact), _CONTACT)
        outcome = yield Step(
            self._post(f"/clients/{client_id}/contacts", body),
            idempotent=False,
            lookup=lambda: self._find_contact(client_id, contact, known),
            reference=f"contact {contact.name!r} of client {client_id}",
            allow=frozenset({400}),
        )
        if isinstance(outcome, Found):
            return outcome.provider_id
        if outcome.status_code == 400:
            raise self._field_error(outcome, f"contacts.{index}.")
        return self._created_id(outcome, "contact_id")

    def _find_contact(self, client_id: str, contact: Contact, known: frozenset[str]) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", f"/clients/{client_id}/contacts"))
        wanted = m.contact_to_ef(contact)
        matches = [
            str(item["contact_id"])
            for item in items
            if str(item.get("contact_id")) not in known
            and all(str(item.get(key) or "") == value for key, value in wanted.items())
        ]
        if len(matches) == 1:
            return Found(matches[0])
        return Lookup.ABSENT if not matches else Lookup.UNKNOWN

    def get_client(self, client_id: str) -> Flow[Client]:
        response = yield Step(ApiRequest("GET", f"/clients/{_id(client_id)}"))
        assert isinstance(response, httpx.Response)
        return m.client_from_ef(self._object(response, "client_id"))

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        params: dict[str, str] = {"sort": "client_id"}
        filters: list[str] = []
        if query.search:
            params["search"] = query.search
        for field, value in (("external_client_id", query.external_id), ("tax_code", query.vat_number)):
            if value:
                exact = _exact(field, value)
                if "filter" in exact:
                    filters.append(exact["filter"])
                else:
                    params.setdefault("search", exact["search"])
        if filters:
            params["filter"] = ",".join(filters)

        def keep(client: Client) -> bool:
            # Exact checks, for values the filter could not carry (a comma) and a search's near misses.
            return (query.external_id is None or client.external_id == query.external_id) and (
                query.vat_number is None or client.vat_number == query.vat_number
            )

        return self._listing(ApiRequest("GET", "/clients", params=params), m.client_from_ef, keep)

    def update_client(self, client_id: str, client: Client) -> Flow[Client]:
        issues = m.client_issues(client)
        if issues:
            raise ValidationError(issues, provider=self.name)
        client_id = _id(client_id)
        response = yield Step(ApiRequest("GET", f"/clients/{client_id}"))
        assert isinstance(response, httpx.Response)
        current = self._object(response, "client_id")
        body = m.client_to_ef(client)
        # A POST changes only the fields it names (a PUT would also wipe what the neutral model does not
        # map, such as layouts and notes). Assumption: an empty field in a POST clears it, and a custom
        # value sent empty is removed.
        have = {str(i.get("name")) for i in current.get("custom_values") or [] if isinstance(i, Mapping)}
        body["custom_values"] = body["custom_values"] + [
            {"name": name, "value": ""} for name in sorted(have - set(client.custom_fields))
        ]
        # The same body sent twice leaves the same client: safe to retry.
        yield Step(self._post(f"/clients/{client_id}", self._xml("client", body, _CLIENT)))
        contacts = [c for c in current.get("contacts") or [] if isinstance(c, Mapping)]
        yield from self._sync_contacts(client_id, contacts, client.contacts)
        return (yield from self.get_client(client_id))

    def _sync_contacts(self, client_id: str, current: list[Mapping[str, Any]], wanted: list[Contact]) -> Flow[None]:
        existing = {str(c.get("contact_id")): c for c in current}
        unmatched = dict(existing)
        plan: list[tuple[int, Contact, str | None]] = []
        for index, contact in enumerate(wanted):
            match = contact.provider_id if contact.provider_id in unmatched else None
            if match is None:
                match = next((k for k, c in unmatched.items() if c.get("contact_name") == contact.name), None)
            if match is not None:
                del unmatched[match]
            plan.append((index, contact, match))
        for contact_id in unmatched:
            # Gone already (a retried delete, another user) is what we wanted.
            yield Step(ApiRequest("DELETE", f"/clients/{client_id}/contacts/{contact_id}"), allow=frozenset({404}))
        for index, contact, match in plan:
            if match is None:
                yield from self._add_contact(client_id, index, contact, known=frozenset(existing))
                continue
            body = m.contact_to_ef(contact)
            if all(str(existing[match].get(key) or "") == value for key, value in body.items()):
                continue
            outcome = yield Step(
                ApiRequest(
                    "PUT",
                    f"/clients/{client_id}/contacts/{match}",
                    content=self._xml("contact", body, _CONTACT),
                    headers=XML_BODY,
                ),
                allow=frozenset({400}),
            )
            assert isinstance(outcome, httpx.Response)
            if outcome.status_code == 400:
                raise self._field_error(outcome, f"contacts.{index}.")
            self._done(outcome)

    def delete_client(self, client_id: str) -> Flow[None]:
        response = yield Step(ApiRequest("DELETE", f"/clients/{_id(client_id)}"))
        assert isinstance(response, httpx.Response)
        self._done(response)

    # --- invoices and credit notes ---------------------------------------------------------------------------
    def _preflight(self, doc: _Document) -> None:
        issues = m.document_issues(doc)
        if issues:
            raise ValidationError(issues, provider=self.name)

    def _document_client(self, doc: _Document) -> Flow[str]:
        if doc.client.provider_id is not None:
            return doc.client.provider_id
        # EF invoices point at an existing client (client_id is required): create it first, as Cashaca
        # creates an inline client with its invoice. Its key is its own, else the document's, so a create
        # sent again with the same key (a re-delivered webhook after a failure) reuses that client.
        client = doc.client
        if not (client.idempotency_key or client.external_id) and doc.idempotency_key:
            client = client.model_copy(update={"idempotency_key": doc.idempotency_key})
        client = self._client_key(client)
        assert client.idempotency_key is not None
        found = yield from self.find_client_by_key(client.idempotency_key)
        if isinstance(found, Found):
            return found.provider_id
        created = yield from self.create_client(client)
        assert created.provider_id is not None
        return created.provider_id

    def _check_inline_client(self, doc: _Document) -> None:
        """Everything create_client would refuse about the document's new client, before anything is sent."""
        if doc.client.provider_id is not None:
            return
        issues = m.client_issues(doc.client)
        if issues:
            raise ValidationError([FieldIssue(f"client.{i.path}", i.reason) for i in issues], provider=self.name)
        self._xml("client", _compact(m.client_to_ef(doc.client)), {k: f"client.{v}" for k, v in _CLIENT.items()})

    def _create_document(self, doc: D, cls: type[D]) -> Flow[D]:
        self._preflight(doc)
        self._check_inline_client(doc)
        # The invoice passes all its own checks (the XML encoding included) before its client is created: a
        # refused invoice must not leave a new client behind.
        self._xml("invoice", _compact(m.document_to_ef(doc, "0")), _DOCUMENT)
        reference = None
        if isinstance(doc, CreditNote) and doc.corrects_invoice_id and not doc.corrects_invoice_number:
            corrected = yield from self._read_document(doc.corrects_invoice_id, Invoice, with_client=False)
            reference = corrected.number
        client_id = yield from self._document_client(doc)
        body = m.document_to_ef(doc, client_id)
        if reference is not None:
            body["reference"] = reference
        # EF has no idempotency key; external_invoice_id carries the reconciliation key (document_to_ef).
        key = doc.idempotency_key or new_idempotency_key()
        body["external_invoice_id"] = key
        outcome = yield Step(
            self._post("/invoices", self._xml("invoice", _compact(body), _DOCUMENT)),
            idempotent=False,
            lookup=lambda: self._find_document(key),
            reference=key,
        )
        invoice_id = outcome.provider_id if isinstance(outcome, Found) else self._created_id(outcome, "invoice_id")
        return (yield from self._read_document(invoice_id, cls))

    def _find_document(self, key: str) -> LookupFlow:
        # filter=external_invoice_id=<key> (reference "EF, Transport"); invoices and credit notes share the
        # domain and the field, so a key is looked for across both.
        params = {**_exact("external_invoice_id", key), "sort": "invoice_id"}
        items = yield from self._all(ApiRequest("GET", "/invoices", params=params))
        return lookup_by_key(key, ((str(i.get("invoice_id")), _text(i.get("external_invoice_id"))) for i in items))

    def find_invoice_by_key(self, key: str) -> LookupFlow:
        return (yield from self._find_document(key))

    def find_credit_note_by_key(self, key: str) -> LookupFlow:
        return (yield from self._find_document(key))

    def _read_document(self, invoice_id: str, cls: type[D], *, with_client: bool = True) -> Flow[D]:
        response = yield Step(ApiRequest("GET", f"/invoices/{_id(invoice_id)}"))
        assert isinstance(response, httpx.Response)
        data = self._object(response, "invoice_id")
        kind = str(data.get("type") or "invoice").strip()
        expected = "creditnote" if cls is CreditNote else "invoice"
        if kind != expected:
            # One EF domain holds both; the neutral API keeps them apart.
            other = "credit note" if kind == "creditnote" else "invoice"
            raise NotFound(f"{invoice_id} is an EF {other}, not a {cls.__name__}", provider=self.name)
        client = None
        client_id = str(data.get("client_id") or "").strip()
        if with_client and client_id.isdigit():
            # The invoice names its client by id only; a neutral document carries the whole client.
            client_response = yield Step(ApiRequest("GET", f"/clients/{client_id}"), allow=frozenset({404}))
            assert isinstance(client_response, httpx.Response)
            if client_response.status_code != 404:
                client = m.client_from_ef(self._object(client_response, "client_id"))
        document = m.document_from_ef(data, cls, client)
        if isinstance(document, CreditNote) and document.corrects_invoice_number and with_client:
            corrected = yield from self._invoice_id_by_number(document.corrects_invoice_number)
            document = document.model_copy(update={"corrects_invoice_id": corrected})
        assert isinstance(document, cls)
        return document

    def _invoice_id_by_number(self, number: str) -> Flow[str | None]:
        if "," in number:
            return None
        params = {"filter": f"number={number},type=invoice", "fields": "invoice_id,number"}
        response = yield Step(ApiRequest("GET", "/invoices", params=params))
        assert isinstance(response, httpx.Response)
        found = [i for i in self._data(response, many=True) if isinstance(i, Mapping) and i.get("number") == number]
        return str(found[0]["invoice_id"]) if len(found) == 1 else None

    def _list_documents(self, query: DocumentQuery, cls: type[D]) -> Listing[D]:
        filters = ["type=creditnote" if cls is CreditNote else "type=invoice"]
        if query.unpaid:
            filters.append("status!=closed")
        if query.client_id:
            filters.append(f"client_id={_id(query.client_id, 'client_id')}")
        if query.number and "," not in query.number:
            filters.append(f"number={query.number}")
        params = {"filter": ",".join(filters), "sort": "invoice_id"}

        def parse(data: Mapping[str, Any]) -> D:
            document = m.document_from_ef(data, cls)
            assert isinstance(document, cls)
            return document

        return self._listing(ApiRequest("GET", "/invoices", params=params), parse)

    def _update_document(self, invoice_id: str, doc: D, cls: type[D]) -> Flow[D]:
        self._preflight(doc)
        invoice_id = _id(invoice_id)
        client_id = yield from self._document_client(doc)
        body = m.document_to_ef(doc, client_id)
        if body["external_invoice_id"] is None:
            del body["external_invoice_id"]  # a document built without its key keeps the one it has
        # POST /invoices/{id} changes the fields it names; items sent replace the invoice's items. The same
        # body twice leaves the same invoice, so the step may be retried.
        yield Step(self._post(f"/invoices/{invoice_id}", self._xml("invoice", body, _DOCUMENT)))
        return (yield from self._read_document(invoice_id, cls))

    def _send(self, doc_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        doc_id = _id(doc_id)
        if via == "email":
            if to is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", to):
                raise ValidationError.single("to", f"{to!r} is not an e-mail address", provider=self.name)
            # Without an address EF mails the client's main contact (the vendor plugin's default).
            methods: dict[str, Any] = {"email": {"recipient": to or "main_contact"}}
        else:
            methods = {"peppol": {}}
            yield from self._check_peppol_receiver(doc_id)
        body = self._xml("send", {"methods": methods}, _SEND)
        # Sending twice would deliver twice, and no public source shows how EF records a send (its events'
        # types and tags are unknown), so a send whose answer was lost ends in UncertainOutcome.
        outcome = yield Step(
            self._post(f"/invoices/{doc_id}/send", body),
            idempotent=False,
            reference=f"{via} send of {doc_id}",
        )
        assert isinstance(outcome, httpx.Response)  # a step without a lookup never ends in Found
        data = self._object(outcome)
        return SendResult(via=via, accepted=True, message=str(data.get("success") or "") or None, raw=dict(data))

    def _check_peppol_receiver(self, doc_id: str) -> Flow[None]:
        """A Belgian Peppol address is made from the receiver's VAT or enterprise number (tax_code,
        company_id, seed 004): a client with neither cannot receive by Peppol, whatever EF would answer."""
        response = yield Step(ApiRequest("GET", f"/invoices/{doc_id}"))
        assert isinstance(response, httpx.Response)
        client_id = str(self._object(response, "invoice_id").get("client_id") or "").strip()
        if not client_id.isdigit():
            return
        client_response = yield Step(ApiRequest("GET", f"/clients/{client_id}"))
        assert isinstance(client_response, httpx.Response)
        client = self._object(client_response, "client_id")
        if not str(client.get("tax_code") or "").strip() and not str(client.get("company_id") or "").strip():
            raise ValidationError.single(
                "client.vat_number",
                "the client has no VAT or enterprise number, so no Peppol address: send it by e-mail",
                provider=self.name,
            )

    def create_invoice(self, invoice: Invoice) -> Flow[Invoice]:
        return (yield from self._create_document(invoice, Invoice))

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        return (yield from self._read_document(invoice_id, Invoice))

    def list_invoices(self, query: DocumentQuery) -> Listing[Invoice]:
        return self._list_documents(query, Invoice)

    def update_invoice(self, invoice_id: str, invoice: Invoice) -> Flow[Invoice]:
        return (yield from self._update_document(invoice_id, invoice, Invoice))

    def delete_invoice(self, invoice_id: str) -> Flow[None]:
        response = yield Step(ApiRequest("DELETE", f"/invoices/{_id(invoice_id)}"))
        assert isinstance(response, httpx.Response)
        self._done(response)

    def send_invoice(self, invoice_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        return (yield from self._send(invoice_id, via, to))

    def invoice_ubl(self, invoice_id: str) -> Flow[bytes]:
        request = ApiRequest("GET", f"/invoices/{_id(invoice_id)}", params={"format": "peppolbis3"})
        response = yield Step(request)
        assert isinstance(response, httpx.Response)
        try:
            root = parse_xml(response.content, max_bytes=self.max_xml_bytes)
        except XmlError as exc:
            raise MalformedResponse(f"unreadable UBL from EenvoudigFactureren ({exc})", provider=self.name) from None
        if root.tag.rsplit("}", 1)[-1] not in ("Invoice", "CreditNote"):
            self._data(response)  # an error in EF's own shape, answered with 200
            raise MalformedResponse("the peppolbis3 download is not a UBL Invoice or CreditNote", provider=self.name)
        return response.content

    def _pdf(self, doc_id: str) -> Flow[bytes]:
        # ?format=pdf: the vendor tool's default download (download.rb), named by EF's help among the formats.
        response = yield Step(ApiRequest("GET", f"/invoices/{_id(doc_id)}", params={"format": "pdf"}))
        assert isinstance(response, httpx.Response)
        if not response.content.startswith(b"%PDF-"):
            self._data(response)  # an error in EF's own shape, answered with 200
            raise MalformedResponse("the pdf download is not a PDF", provider=self.name, status=response.status_code)
        return response.content

    def invoice_pdf(self, invoice_id: str) -> Flow[bytes]:
        return (yield from self._pdf(invoice_id))

    def credit_note_pdf(self, credit_note_id: str) -> Flow[bytes]:
        return (yield from self._pdf(credit_note_id))

    def create_credit_note(self, credit_note: CreditNote) -> Flow[CreditNote]:
        return (yield from self._create_document(credit_note, CreditNote))

    def get_credit_note(self, credit_note_id: str) -> Flow[CreditNote]:
        return (yield from self._read_document(credit_note_id, CreditNote))

    def list_credit_notes(self, query: DocumentQuery) -> Listing[CreditNote]:
        return self._list_documents(query, CreditNote)

    def delete_credit_note(self, credit_note_id: str) -> Flow[None]:
        return (yield from self.delete_invoice(credit_note_id))

    def send_credit_note(
        self, credit_note_id: str, via: Literal["email", "peppol"], to: str | None
    ) -> Flow[SendResult]:
        return (yield from self._send(credit_note_id, via, to))

    # --- payments --------------------------------------------------------------------------------------------
    def create_payment(self, payment: Payment) -> Flow[Payment]:
        invoice_id = _id(payment.invoice_id, "invoice_id")
        path = f"/invoices/{invoice_id}/payments"
        key = payment.idempotency_key or new_idempotency_key()
        payment = payment.model_copy(update={"idempotency_key": key})
        body = self._xml("payment", _compact(m.payment_to_ef(payment)), _PAYMENT)
        outcome = yield Step(
            self._post(path, body),
            idempotent=False,
            lookup=lambda: self.find_payment_by_key(invoice_id, key),
            reference=key,
        )
        payment_id = outcome.provider_id if isinstance(outcome, Found) else self._created_id(outcome, "payment_id")
        response = yield Step(ApiRequest("GET", f"{path}/{payment_id}"))
        assert isinstance(response, httpx.Response)
        return m.payment_from_ef(self._object(response, "payment_id"), invoice_id)

    def find_payment_by_key(self, invoice_id: str, key: str) -> LookupFlow:
        # No source documents a filter on a subdomain list, and the key is the tail of the description, so
        # the invoice's payments are read (paged: one invoice's payments, a bounded list) and compared.
        path = f"/invoices/{_id(invoice_id, 'invoice_id')}/payments"
        items = yield from self._all(ApiRequest("GET", path))
        return lookup_by_key(
            key, ((str(i.get("payment_id")), m.payment_key(_text(i.get("description")))[1]) for i in items)
        )

    def list_payments(self, invoice_id: str) -> Listing[Payment]:
        invoice_id = _id(invoice_id, "invoice_id")
        request = ApiRequest("GET", f"/invoices/{invoice_id}/payments")
        return self._listing(request, lambda data: m.payment_from_ef(data, invoice_id))
