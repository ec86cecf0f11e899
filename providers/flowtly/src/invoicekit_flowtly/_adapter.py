"""The Flowtly adapter: neutral operations as Flowtly (API Platform, JSON-LD) requests, and back.

Flowtly specifics it handles: a JWT from ``POST /login``, renewed once on a 401 (:mod:`._auth`); Hydra
collections with or without the ``hydra:`` prefix (:mod:`._hydra`); relations as IRIs; PATCH only as
``application/merge-patch+json``; an invoice made in two steps (the invoice, then each row through
``POST /invoice-rows`` with the invoice's IRI); payments as invoice transactions. It never does I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx

from invoicekit.adapter import (
    Adapter,
    ApiRequest,
    ClientQuery,
    DocumentQuery,
    Flow,
    Found,
    Listing,
    Lookup,
    LookupFlow,
    SendResult,
    Step,
    read_json,
)
from invoicekit.capabilities import Capability
from invoicekit.errors import ConfigurationError, FieldIssue, InvoicekitError, ValidationError
from invoicekit.model import Client, CreditNote, Invoice, Payment
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
            Capability.CLIENTS_CONTACTS,
            Capability.INVOICES_CREATE,
            Capability.INVOICES_GET,
            Capability.INVOICES_LIST,
            Capability.INVOICES_LIST_UNPAID,
            Capability.INVOICES_PAID_AMOUNT,
            Capability.INVOICES_UPDATE,
            Capability.INVOICES_DELETE,
            Capability.INVOICES_SEND_EMAIL,
            Capability.INVOICES_SEND_PEPPOL,
            Capability.CREDIT_NOTES_CREATE,
            Capability.CREDIT_NOTES_GET,
            Capability.CREDIT_NOTES_LIST,
            Capability.CREDIT_NOTES_DELETE,
            Capability.CREDIT_NOTES_SEND_EMAIL,
            Capability.CREDIT_NOTES_SEND_PEPPOL,
            Capability.PAYMENTS_CREATE,
            Capability.PAYMENTS_LIST,
        }
    )

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
        # A row belongs to a document the flow made first: name the document, not the row.
        data = read_json(response, self.name)
        if isinstance(data, dict) and "productName" in data and m.id_of(data.get("invoice")):
            return m.id_of(data.get("invoice"))
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
            return [parse(item) for item in members(read_json(response, self.name))]

        return parse_page

    # --- clients -----------------------------------------------------------------------------------
    def create_client(self, client: Client) -> Flow[Client]:
        ref = client.external_id
        outcome = yield Step(
            ApiRequest("POST", "/clients", **_body(m.client_body(client))),
            idempotent=False,
            lookup=(lambda: self._find_client(ref)) if ref else None,
            reference=ref,
        )
        if isinstance(outcome, Found):
            return (yield from self.get_client(outcome.provider_id))
        return m.client_from_json(self._json(outcome))

    def _find_client(self, external_id: str) -> LookupFlow:
        # The filter may be looser than equality (or ignored): only an exact match counts.
        items = yield from self._all(ApiRequest("GET", "/clients", params={"externalPaymentCustomerId": external_id}))
        if items and not any("externalPaymentCustomerId" in item for item in items):
            return Lookup.UNKNOWN  # the answers do not carry the field: nobody can tell
        return _one([m.id_of(i.get("id")) for i in items if i.get("externalPaymentCustomerId") == external_id])

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
        created = yield from self._create_document(invoice)
        assert isinstance(created, Invoice)
        return created

    def create_credit_note(self, credit_note: CreditNote) -> Flow[CreditNote]:
        if not credit_note.corrects_invoice_id:
            raise ValidationError.single(
                "corrects_invoice_id", "Flowtly links a correction to the id of the invoice it corrects (parent)"
            )
        _id(credit_note.corrects_invoice_id)
        created = yield from self._create_document(credit_note)
        assert isinstance(created, CreditNote)
        return created

    def _create_document(self, doc: Invoice | CreditNote) -> Flow[Invoice | CreditNote]:
        client_id = self._preflight(doc)
        key = "ik-" + uuid.uuid4().hex
        outcome = yield Step(
            ApiRequest("POST", "/invoices", **_body(m.document_body(doc, key=key, client_id=client_id))),
            idempotent=False,
            lookup=lambda: self._find_document(key),
            reference=key,
        )
        if isinstance(outcome, Found):
            doc_id = outcome.provider_id
            current = yield from self._read(doc_id)
            present = len(m.rows_of(current))
        else:
            data = self._json(outcome)
            doc_id = m.id_of(data.get("id")) or ""
            present = len(m.rows_of(data))
        yield from self._add_rows(doc_id, doc, start=present)
        data = yield from self._read(doc_id)
        return m.document_from_json(data, doc.client)

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
        # Only this flow adds rows to a document it just made: the row count tells whether ours landed.
        data = yield from self._read(doc_id)
        rows = m.rows_of(data)
        if len(rows) == index:
            return Lookup.ABSENT
        if len(rows) == index + 1:
            return Found(m.id_of(rows[index].get("id")) or "")
        return Lookup.UNKNOWN

    def _find_document(self, key: str) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", "/invoices", params={"externalId": key}))
        if items and not any("externalId" in item for item in items):
            return Lookup.UNKNOWN  # the answers do not carry the key: nobody can tell
        return _one([m.id_of(i.get("id")) for i in items if i.get("externalId") == key])

    def _read(self, doc_id: str) -> Flow[dict[str, Any]]:
        response = yield Step(ApiRequest("GET", f"/invoices/{_id(doc_id)}"))
        assert isinstance(response, httpx.Response)
        return self._json(response)

    def _read_document(self, doc_id: str) -> Flow[Invoice | CreditNote]:
        """The document with its client read in full (the document holds only the client's IRI)."""
        data = yield from self._read(doc_id)
        client_id = m.id_of(data.get("client"))
        client = (yield from self.get_client(client_id)) if client_id and client_id.isdigit() else None
        return m.document_from_json(data, client)

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        doc = yield from self._read_document(invoice_id)
        if not isinstance(doc, Invoice):
            raise _not_found(self.name, "invoice", invoice_id)
        return doc

    def get_credit_note(self, credit_note_id: str) -> Flow[CreditNote]:
        doc = yield from self._read_document(credit_note_id)
        if not isinstance(doc, CreditNote):
            raise _not_found(self.name, "credit note", credit_note_id)
        return doc

    def _documents(self, query: DocumentQuery, kind: type[Invoice] | type[CreditNote]) -> Listing[Any]:
        params: dict[str, str | int] = {}
        if query.client_id:
            params["client"] = m.iri("clients", _id(query.client_id))

        def keep(doc: Invoice | CreditNote) -> bool:
            return (
                isinstance(doc, kind)
                and (query.client_id is None or doc.client.provider_id == query.client_id)
                and (not query.unpaid or doc.outstanding > 0)
            )

        parse = self._parse_page(lambda item: m.document_from_json(item, None))
        return Listing(ApiRequest("GET", "/invoices", params=params), PAGES, parse, keep)

    def list_invoices(self, query: DocumentQuery) -> Listing[Invoice]:
        listing: Listing[Invoice] = self._documents(query, Invoice)
        return listing

    def list_credit_notes(self, query: DocumentQuery) -> Listing[CreditNote]:
        listing: Listing[CreditNote] = self._documents(query, CreditNote)
        return listing

    def update_invoice(self, invoice_id: str, invoice: Invoice) -> Flow[Invoice]:
        client_id = self._preflight(invoice)
        _id(invoice_id)
        current = yield from self._read(invoice_id)
        rows = m.rows_of(current)
        if len(invoice.rows) < len(rows):
            raise ValidationError.single(
                "rows", f"Flowtly cannot remove invoice rows (no DELETE /invoice-rows); the invoice has {len(rows)}"
            )
        body = m.document_body(invoice, key=None, client_id=client_id)
        body.pop("type", None)
        body["comment"] = invoice.note  # null clears it (merge patch)
        yield Step(ApiRequest("PATCH", f"/invoices/{invoice_id}", **_body(body, MERGE_PATCH)))
        for row, existing in zip(invoice.rows, rows, strict=False):
            row_id = _id(m.id_of(existing.get("id")) or "")
            yield Step(ApiRequest("PATCH", f"/invoice-rows/{row_id}", **_body(m.row_body(row, None), MERGE_PATCH)))
        yield from self._add_rows(invoice_id, invoice, start=len(rows))
        data = yield from self._read(invoice_id)
        updated = m.document_from_json(data, invoice.client)
        assert isinstance(updated, Invoice)
        return updated

    def delete_invoice(self, invoice_id: str) -> Flow[None]:
        yield Step(ApiRequest("DELETE", f"/invoices/{_id(invoice_id)}"))

    def delete_credit_note(self, credit_note_id: str) -> Flow[None]:
        yield Step(ApiRequest("DELETE", f"/invoices/{_id(credit_note_id)}"))

    def send_invoice(self, invoice_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        return (yield from self._send(invoice_id, via, to))

    def send_credit_note(
        self, credit_note_id: str, via: Literal["email", "peppol"], to: str | None
    ) -> Flow[SendResult]:
        return (yield from self._send(credit_note_id, via, to))

    def _send(self, doc_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        _id(doc_id)
        if via == "email":
            if not to:
                raise ValidationError.single("to", "Flowtly sends to the e-mail address given", provider=self.name)
            request = ApiRequest("POST", f"/invoices/{doc_id}/send", **_body({"email": to}))
        else:
            # Peppol needs the buyer's participant id: a client without a VAT number has none. Checked on
            # documented fields before anything is sent.
            data = yield from self._read(doc_id)
            client_id = m.id_of(data.get("client"))
            client = yield from self.get_client(client_id or "")
            if not client.vat_number:
                raise ValidationError.single(
                    "client.vat_number",
                    f"client {client.name!r} has no VAT number, so no Peppol participant id: send by e-mail",
                    provider=self.name,
                )
            request = ApiRequest("POST", "/e-invoices/send", **_body({"invoice": m.iri("invoices", doc_id)}))
        # Sending twice would deliver twice, and a send leaves nothing to look up: never retried blindly.
        response = yield Step(request, idempotent=False)
        assert isinstance(response, httpx.Response)
        answer = read_json(response, self.name) if response.content else None
        message = answer.get("status") if isinstance(answer, dict) else None
        return SendResult(via=via, accepted=True, message=str(message) if message else None, raw=answer)

    # --- payments ----------------------------------------------------------------------------------
    def _transactions(self, invoice_id: str) -> Flow[list[dict[str, Any]]]:
        invoice_iri = m.iri("invoices", invoice_id)
        items = yield from self._all(ApiRequest("GET", "/invoice-transactions", params={"invoice": invoice_iri}))
        return [item for item in items if m.id_of(item.get("invoice")) == invoice_id]

    def create_payment(self, payment: Payment) -> Flow[Payment]:
        invoice_id = _id(payment.invoice_id)
        before = yield from self._transactions(invoice_id)
        known = {m.id_of(t.get("id")) for t in before}
        body = {
            "invoice": m.iri("invoices", invoice_id),
            "amount": payment.amount,
            "date": f"{payment.date.isoformat()}T00:00:00+00:00",
        }
        outcome = yield Step(
            ApiRequest("POST", "/invoice-transactions", **_body(body)),
            idempotent=False,
            lookup=lambda: self._find_payment(invoice_id, known, payment.amount, payment.date),
            reference=f"invoice {invoice_id}, {payment.amount}",
        )
        if isinstance(outcome, Found):
            response = yield Step(ApiRequest("GET", f"/invoice-transactions/{_id(outcome.provider_id)}"))
            assert isinstance(response, httpx.Response)
            data = self._json(response)
        else:
            data = self._json(outcome)
        made = m.payment_from_json(data)
        return made.model_copy(update={"method": payment.method, "reference": payment.reference})

    def _find_payment(self, invoice_id: str, known: set[str | None], amount: Decimal, day: date) -> LookupFlow:
        # Transactions carry no reference of ours: a new one of this amount and date on this invoice is
        # ours; two (someone else paid the same at once) cannot be told apart.
        now = yield from self._transactions(invoice_id)
        new = [
            m.id_of(t.get("id"))
            for t in now
            if m.id_of(t.get("id")) not in known
            and m._dec(t.get("amount")) == amount
            and str(t.get("date", ""))[:10] == day.isoformat()
        ]
        return _one(new)

    def list_payments(self, invoice_id: str) -> Listing[Payment]:
        _id(invoice_id)
        request = ApiRequest("GET", "/invoice-transactions", params={"invoice": m.iri("invoices", invoice_id)})
        return Listing(request, PAGES, self._parse_page(m.payment_from_json), keep=lambda p: p.invoice_id == invoice_id)

    def delete_payment(self, payment_id: str) -> Flow[None]:
        """Remove an invoice transaction (``DELETE /invoice-transactions/{id}``): Flowtly-specific."""
        yield Step(ApiRequest("DELETE", f"/invoice-transactions/{_id(payment_id)}"))


def _one(ids: list[str | None]) -> Found | Lookup:
    found = {i for i in ids if i}
    if len(found) == 1:
        return Found(found.pop())
    return Lookup.ABSENT if not found else Lookup.UNKNOWN


def _id(value: str) -> str:
    # Ids go into paths: refuse anything but digits before a request is built.
    if not isinstance(value, str) or not value.isdigit():
        raise ValidationError.single("provider_id", f"{value!r} is not a Flowtly id (digits only)")
    return value


def _not_found(provider: str, what: str, doc_id: str) -> InvoicekitError:
    from invoicekit.errors import NotFound

    return NotFound(f"Flowtly document {doc_id} is not a {what}", provider=provider, status=404)


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
