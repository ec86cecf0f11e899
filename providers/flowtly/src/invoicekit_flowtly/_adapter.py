"""The Flowtly adapter: neutral operations as Flowtly (API Platform, JSON-LD) requests, and back.

Flowtly specifics it handles: a JWT from ``POST /login``, renewed once on a 401 (:mod:`._auth`); Hydra
collections with or without the ``hydra:`` prefix (:mod:`._hydra`); relations as IRIs; PATCH only as
``application/merge-patch+json``; an invoice made in two steps (the invoice, then each row through
``POST /invoice-rows`` with the invoice's IRI); payments as invoice transactions. It never does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

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
    Step,
    lookup_by_key,
    read_json,
)
from invoicekit.capabilities import Capability
from invoicekit.errors import ConfigurationError, FieldIssue, InvoicekitError, ValidationError
from invoicekit.model import Client, Invoice, Payment
from invoicekit.model._documents import _Document
from invoicekit_flowtly import _mapping as m
from invoicekit_flowtly._auth import FlowtlyLogin
from invoicekit_flowtly._hydra import HydraPages, members

__all__ = ["DEFAULT_BASE_URL", "FlowtlyAdapter"]

#: The current docs (flowtly.eu); the older app base is ``https://app.flowtly.com/api`` (the n8n node).
DEFAULT_BASE_URL = "https://api.flowtly.eu"
PAGES = HydraPages()
JSON_LD = "application/ld+json"
MERGE_PATCH = "application/merge-patch+json"

# Flowtly's property paths in a 422 ConstraintViolationList, as neutral paths.
_CLIENT_PATHS = {
    "name": "name",
    "vatNumber": "vat_number",
    "tin": "vat_number",
    "addressStreetLine": "address.street",
    "addressPostCode": "address.postal_code",
    "addressCity": "address.city",
    "addressCountry": "address.country",
    "country": "address.country",
}
_DOCUMENT_PATHS = {
    "client": "client.provider_id",
    "issueDate": "issue_date",
    "dueDate": "due_date",
    "saleDate": "delivery_date",
    "name": "number",
    "currency": "currency",
    "parent": "corrects_invoice_id",
}
_ROW_PATHS = {
    "productName": "description",
    "quantity": "quantity",
    "unit": "unit",
    "netPrice": "unit_price",
    "vatRate": "vat_rate",
    "netDiscountAmount": "discount_percent",
}


def _body(data: Any, content_type: str = JSON_LD) -> dict[str, Any]:
    return {"content": m.dumps(data), "headers": {"Content-Type": content_type}}


class FlowtlyAdapter(Adapter):
    name = "flowtly"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CLIENTS_CREATE,
            Capability.CLIENTS_GET,
            Capability.CLIENTS_LIST,
            Capability.CLIENTS_SEARCH,
            Capability.CLIENTS_UPDATE,
            Capability.CLIENTS_CREATE_BY_KEY,
            Capability.INVOICES_CREATE,
            Capability.INVOICES_GET,
            Capability.INVOICES_LIST,
            Capability.INVOICES_LIST_UNPAID,
            Capability.INVOICES_PAID_AMOUNT,
            Capability.INVOICES_DELETE,
            Capability.PAYMENTS_CREATE,
            Capability.PAYMENTS_LIST,
        }
    )
    # Not declared, for want of a documented field (docs/providers/flowtly.md): invoices.update (a row has
    # no documented id), credit notes (the values of `type` and the contents of `parent` are not public),
    # sending (the bodies of POST /invoices/{id}/send and /e-invoices/send are not public), client contacts, and
    # create_by_key for invoices and payments (no documented field to carry a key).
    reconciliation_fields: ClassVar[Mapping[str, str]] = {"clients": "externalPaymentCustomerId"}

    def __init__(self, *, username: str, password: str, base_url: str = DEFAULT_BASE_URL) -> None:
        if not isinstance(username, str) or not username.strip():
            raise ConfigurationError("flowtly needs username= (the e-mail you log in to Flowtly with)")
        if not isinstance(password, str) or not password:
            raise ConfigurationError("flowtly needs password=")
        self._username = username.strip()
        self._password = password
        # Both bases work: https://api.flowtly.eu (no prefix) and https://app.flowtly.com/api.
        self.base_url = base_url.rstrip("/")
        self._auth = FlowtlyLogin(self.base_url + "/login", self._username, self._password)

    def auth(self) -> httpx.Auth:
        return self._auth

    def secrets(self) -> tuple[str, ...]:
        token = self._auth.token
        return (self._password, self._username) + ((token,) if token else ())

    def headers(self) -> dict[str, str]:
        return {"Accept": JSON_LD}

    def __repr__(self) -> str:
        return f"<FlowtlyAdapter {self.base_url}>"

    # --- errors ------------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(data, dict):
            for key in ("detail", "hydra:description", "description", "message", "title", "hydra:title"):
                if isinstance(data.get(key), str) and data[key]:
                    return str(data[key])
        return super().error_message(response)

    def error_for(self, response: httpx.Response, body: str) -> InvoicekitError:
        if response.status_code == 422:
            issues = _violations(response, {**_CLIENT_PATHS, **_DOCUMENT_PATHS})
            if issues:
                return ValidationError(issues, provider=self.name)
        return super().error_for(response, body)

    def created_id(self, response: httpx.Response) -> str | None:
        # A row belongs to a document the flow made first: name the document, not the row. The row answer
        # documents no id nor invoice link, so the document is read from what the flow sent: its IRI.
        request = response.request
        if request.method == "POST" and request.url.path.endswith("/invoice-rows"):
            sent = json.loads(request.content or b"{}")
            return m.id_of(sent.get("invoice")) if isinstance(sent, dict) else None
        return super().created_id(response)

    def unsupported_fields(self, document: Client | _Document) -> list[FieldIssue]:
        if isinstance(document, Client):
            return m.unsupported_client_fields(document)
        return m.unsupported_document_fields(document)

    # --- helpers -----------------------------------------------------------------------------------
    def _json(self, response: httpx.Response) -> dict[str, Any]:
        data = read_json(response, self.name)
        if not isinstance(data, dict):
            raise TypeError("a Flowtly resource is a JSON object")
        return data

    def _all(self, request: ApiRequest) -> Flow[list[dict[str, Any]]]:
        """Every item of a collection, page by page (for lookups, which run inside a flow)."""
        items: list[dict[str, Any]] = []
        current: ApiRequest | None = PAGES.first(request)
        while current is not None:
            response = yield Step(current)
            assert isinstance(response, httpx.Response)
            page = members(read_json(response, self.name))
            items += page
            current = PAGES.next_request(current, response, len(page))
        return items

    def _parse_page(self, parse: Callable[[dict[str, Any]], Any]) -> Callable[[httpx.Response], Sequence[Any]]:
        def parse_page(response: httpx.Response) -> Sequence[Any]:
            return LazyPage(members(read_json(response, self.name)), parse)  # each read as the caller reaches it

        return parse_page

    # --- clients -----------------------------------------------------------------------------------
    def create_client(self, client: Client) -> Flow[Client]:
        key = client.idempotency_key or client.external_id
        if client.external_id and key != client.external_id:
            raise ValidationError.single(
                "idempotency_key",
                "Flowtly keeps a client's key in externalPaymentCustomerId, which also holds its external_id: "
                "leave the key unset, or equal to external_id",
                provider=self.name,
            )
        outcome = yield Step(
            ApiRequest("POST", "/clients", **_body(m.client_body(client))),
            idempotent=False,
            lookup=(lambda: self.find_client_by_key(key)) if key else None,
            reference=key,
        )
        if isinstance(outcome, Found):
            return (yield from self.get_client(outcome.provider_id))
        return m.client_from_json(self._json(outcome))

    def find_client_by_key(self, key: str) -> LookupFlow:
        # externalPaymentCustomerId is documented and returned; the filter on it is not, so it may be
        # looser than equality or ignored: lookup_by_key keeps exact matches only.
        items = yield from self._all(ApiRequest("GET", "/clients", params={"externalPaymentCustomerId": key}))
        if items and not any("externalPaymentCustomerId" in item for item in items):
            return Lookup.UNKNOWN  # listed clients without the field at all: no answer tells absent from unread
        return lookup_by_key(key, ((m.id_of(i.get("id")) or "", i.get("externalPaymentCustomerId")) for i in items))

    def get_client(self, client_id: str) -> Flow[Client]:
        response = yield Step(ApiRequest("GET", f"/clients/{_id(client_id)}"))
        assert isinstance(response, httpx.Response)
        return m.client_from_json(self._json(response))

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        params: dict[str, str | int] = {}
        if query.search:
            params["name"] = query.search
        if query.external_id:
            params["externalPaymentCustomerId"] = query.external_id
        if query.vat_number:
            params["vatNumber"] = query.vat_number

        def keep(client: Client) -> bool:
            wanted = (query.search or "").casefold()
            return (
                (not wanted or wanted in client.name.casefold())
                and (query.external_id is None or client.external_id == query.external_id)
                and (query.vat_number is None or client.vat_number == query.vat_number)
            )

        return Listing(ApiRequest("GET", "/clients", params=params), PAGES, self._parse_page(m.client_from_json), keep)

    def update_client(self, client_id: str, client: Client) -> Flow[Client]:
        body = m.client_body(client)
        response = yield Step(ApiRequest("PATCH", f"/clients/{_id(client_id)}", **_body(body, MERGE_PATCH)))
        assert isinstance(response, httpx.Response)
        return m.client_from_json(self._json(response))

    # --- invoices and credit notes -----------------------------------------------------------------
    def _preflight(self, doc: _Document) -> str:
        client_id = doc.client.provider_id
        if not client_id:
            raise ValidationError.single(
                "client.provider_id", "Flowtly links a document to a client by its id: create the client first"
            )
        _id(client_id)
        return client_id

    def create_invoice(self, invoice: Invoice) -> Flow[Invoice]:
        client_id = self._preflight(invoice)
        # No documented invoice field can carry a key: a lost answer cannot be told from a create that
        # never landed, so the engine raises UncertainOutcome (lookup=None) rather than create twice.
        outcome = yield Step(
            ApiRequest("POST", "/invoices", **_body(m.document_body(invoice, client_id=client_id))),
            idempotent=False,
        )
        assert isinstance(outcome, httpx.Response)
        data = self._json(outcome)
        doc_id = m.id_of(data.get("id")) or ""
        yield from self._add_rows(doc_id, invoice, start=len(m.rows_of(data)))
        data = yield from self._read(doc_id)
        return m.document_from_json(data, invoice.client)

    def _add_rows(self, doc_id: str, doc: _Document, *, start: int) -> Flow[None]:
        """POST the rows from ``start`` on. A refused row ends the flow with an error naming the document
        and the rows it holds (the engine raises it as WriteLanded: the invoice exists, do not resend)."""
        invoice_iri = m.iri("invoices", doc_id)
        for i in range(start, len(doc.rows)):
            response = yield Step(
                ApiRequest("POST", "/invoice-rows", **_body(m.row_body(doc.rows[i], invoice_iri))),
                idempotent=False,
                lookup=lambda i=i: self._find_row(doc_id, i),  # type: ignore[misc]
                reference=f"invoice {doc_id}, row {i}",
                allow=frozenset({400, 422}),
            )
            if isinstance(response, httpx.Response) and response.status_code in (400, 422):
                held = ", ".join(str(n) for n in range(i)) or "none"
                issues = _violations(response, _ROW_PATHS, prefix=f"rows.{i}.") or [
                    FieldIssue(f"rows.{i}", self.error_message(response))
                ]
                issues = [
                    FieldIssue(
                        issue.path,
                        f"{issue.reason} (Flowtly document {doc_id} exists and holds rows {held}; "
                        f"row {i} and later were not added)",
                    )
                    for issue in issues
                ]
                raise ValidationError(issues, provider=self.name)

    def _find_row(self, doc_id: str, index: int) -> LookupFlow:
        # Only this flow adds rows to an invoice it just made, and the invoice read embeds its rows (the
        # documented read groups): the row count tells whether ours landed. No row id is needed.
        data = yield from self._read(doc_id)
        count = len(m.rows_of(data))
        if count == index:
            return Lookup.ABSENT
        return Found(doc_id) if count == index + 1 else Lookup.UNKNOWN

    def _read(self, doc_id: str) -> Flow[dict[str, Any]]:
        response = yield Step(ApiRequest("GET", f"/invoices/{_id(doc_id)}"))
        assert isinstance(response, httpx.Response)
        return self._json(response)

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        """The invoice with its client read in full (the invoice holds only the client's IRI)."""
        data = yield from self._read(invoice_id)
        client_id = m.id_of(data.get("client"))
        client = (yield from self.get_client(client_id)) if client_id and client_id.isdigit() else None
        return m.document_from_json(data, client)

    def list_invoices(self, query: DocumentQuery) -> Listing[Invoice]:
        params: dict[str, str | int] = {}
        if query.client_id:
            params["client"] = m.iri("clients", _id(query.client_id))

        def keep(doc: Invoice) -> bool:
            return (query.client_id is None or doc.client.provider_id == query.client_id) and (
                not query.unpaid or (doc.outstanding or 0) > 0
            )

        parse = self._parse_page(lambda item: m.document_from_json(item, None))
        return Listing(ApiRequest("GET", "/invoices", params=params), PAGES, parse, keep)

    def delete_invoice(self, invoice_id: str) -> Flow[None]:
        yield Step(ApiRequest("DELETE", f"/invoices/{_id(invoice_id)}"))

    # --- payments ----------------------------------------------------------------------------------
    def create_payment(self, payment: Payment) -> Flow[Payment]:
        invoice_id = _id(payment.invoice_id)
        body = {
            "invoice": m.iri("invoices", invoice_id),
            "amount": payment.amount,
            "date": f"{payment.date.isoformat()}T00:00:00+00:00",
        }
        # A transaction has no documented field for a key, and two equal payments are two payments: a lost
        # answer ends in UncertainOutcome (no lookup), never in a guess by amount and date.
        response = yield Step(ApiRequest("POST", "/invoice-transactions", **_body(body)), idempotent=False)
        assert isinstance(response, httpx.Response)
        made = m.payment_from_json(self._json(response))
        return made.model_copy(update={"method": payment.method, "reference": payment.reference})

    def list_payments(self, invoice_id: str) -> Listing[Payment]:
        _id(invoice_id)
        request = ApiRequest("GET", "/invoice-transactions", params={"invoice": m.iri("invoices", invoice_id)})
        return Listing(request, PAGES, self._parse_page(m.payment_from_json), keep=lambda p: p.invoice_id == invoice_id)

    def delete_payment(self, payment_id: str) -> Flow[None]:
        """Remove an invoice transaction (``DELETE /invoice-transactions/{id}``): Flowtly-specific."""
        yield Step(ApiRequest("DELETE", f"/invoice-transactions/{_id(payment_id)}"))


def _id(value: str) -> str:
    # Ids go into paths: refuse anything but digits before a request is built.
    if not isinstance(value, str) or not value.isdigit():
        raise ValidationError.single("provider_id", f"{value!r} is not a Flowtly id (digits only)")
    return value


def _violations(response: httpx.Response, paths: dict[str, str], prefix: str = "") -> list[FieldIssue]:
    try:
        data = response.json()
    except ValueError:
        return []
    items = data.get("violations") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    issues = []
    for item in items:
        if not isinstance(item, dict):
            continue
        field = str(item.get("propertyPath") or "")
        path = prefix + paths[field] if field in paths else f"{prefix}flowtly.{field or 'request'}"
        issues.append(
            FieldIssue(path, f"{field}: {item.get('message', 'is not valid')}" if field else str(item.get("message")))
        )
    return issues
