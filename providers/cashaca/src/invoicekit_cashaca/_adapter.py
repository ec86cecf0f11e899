"""The Cashaca adapter: neutral operations as Cashaca API v2 requests, and its answers back.

Cashaca quirks it handles: the token goes in the query string of every call; paths end in ``.json``;
bodies are wrapped in the resource name; lists are bare arrays of at most 100; there are no deletes,
no invoice updates and no way to read payments back (an invoice's JSON says nothing about what was paid;
only ``invoices/unpaid.json`` does). It reads only what Cashaca's docs or a public client show, never a
field only our sandbox serves. It never does I/O: the engine runs its flows.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Sequence
from typing import Any, ClassVar, Literal

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
    PageNumber,
    SendResult,
    Step,
    lookup_by_key,
    read_json,
)
from invoicekit.capabilities import Capability
from invoicekit.errors import ConfigurationError, FieldIssue, InvoicekitError, MalformedResponse, ValidationError
from invoicekit.model import Client, CreditNote, Invoice, Payment
from invoicekit.model._documents import _Document
from invoicekit.vat import VatCategory
from invoicekit_cashaca import _mapping as m

__all__ = ["CashacaAdapter"]

DEFAULT_BASE_URL = "https://app.cashaca.be"
PAGE = PageNumber(size=100, size_param="per_page")
# Cashaca cannot filter a list by reference or internal_description, so a search by key reads whole lists:
# at most this many pages of 100 (10,000 records); past that the lookup is Unknown, never a guess.
MAX_SCAN_PAGES = 100
# A credit note needs a number (credit_notes create: serial_number required). Two creates may read the same
# next number; the loser's 422 "has already been taken" created nothing, so it reads the next one and tries
# again, this many times in all. Each round one of the racing creates wins, so this is also how many creates
# of one account may race for a number (the acceptance run races 200).
CREDIT_NOTE_NUMBER_ATTEMPTS = 250
_TAKEN = "has already been taken"

# Cashaca's field names in 422 errors, as neutral paths (the rest are reported under "cashaca.<field>").
_FIELD_PATHS = {
    "name": "client.name",
    "vat_number": "client.vat_number",
    "btw_number": "client.vat_number",
    "street": "client.address.street",
    "postcode": "client.address.postal_code",
    "city": "client.address.city",
    "email": "client.email",
    "type_id": "client.kind",
    "serial_number": "number",
    "date": "issue_date",
    "commercial_document_lines": "rows",
    "amount": "amount",
    "reference": "corrects_invoice_number",
}


class _QueryToken(httpx.Auth):
    """Cashaca authenticates every call, POST and PUT included, with ``?token=`` (no header auth)."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._param = str(httpx.QueryParams({"token": token})).encode()
        # The URL with the token, by the URL without it. httpx.URL is immutable, so requests may share one;
        # building it parses and checks every part of the URL again (25 us, about 2 % of a create's client
        # CPU), and most calls go to a few URLs (every create POSTs to the same one). Bounded: list pages and
        # lookups put their page and id in the URL.
        self._signed = functools.lru_cache(maxsize=256)(self._sign)

    def __repr__(self) -> str:
        return "<Cashaca token auth>"

    def _sign(self, url: str) -> httpx.URL:
        # Appended to the query the engine built (its params never carry credentials): half the cost of
        # copy_merge_params, which parses and re-encodes the whole query first.
        parsed = httpx.URL(url)
        query = parsed.query
        return parsed.copy_with(query=query + b"&" + self._param if query else self._param)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = self._signed(str(request.url))
        yield request


class CashacaAdapter(Adapter):
    name = "cashaca"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CLIENTS_CREATE,
            Capability.CLIENTS_CREATE_BY_KEY,
            Capability.CLIENTS_GET,
            Capability.CLIENTS_LIST,
            Capability.CLIENTS_SEARCH,
            Capability.CLIENTS_UPDATE,
            Capability.CLIENTS_CHECK_VAT,
            Capability.INVOICES_CREATE,
            Capability.INVOICES_CREATE_BY_KEY,
            Capability.INVOICES_GET,
            Capability.INVOICES_LIST,
            Capability.INVOICES_LIST_UNPAID,
            Capability.INVOICES_SEND_EMAIL,
            Capability.INVOICES_SEND_PEPPOL,
            Capability.INVOICES_NEXT_NUMBER,
            Capability.INVOICES_PDF,
            Capability.CREDIT_NOTES_CREATE,
            Capability.CREDIT_NOTES_CREATE_BY_KEY,
            Capability.CREDIT_NOTES_GET,
            Capability.CREDIT_NOTES_LIST,
            Capability.CREDIT_NOTES_SEND_EMAIL,
            Capability.CREDIT_NOTES_SEND_PEPPOL,
            Capability.CREDIT_NOTES_PDF,
            Capability.PAYMENTS_CREATE,
        }
    )
    # Fields Cashaca documents on create and returns: a client's `reference` ("own customer number", apipie
    # clients create/update; stijn1989 Entity/Client.php), a document's `internal_description` (invoice and
    # credit note create docs; stijn1989 Entity/Invoice.php). Payments have no readable field: no GET exists.
    reconciliation_fields: ClassVar[dict[str, str]] = {
        "clients": "reference",
        "invoices": "internal_description",
        "credit_notes": "internal_description",
    }

    def __init__(self, *, token: str, base_url: str = DEFAULT_BASE_URL, money_account_id: int | None = None) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError("cashaca needs token= (your API token, Settings > API)")
        self._token = token.strip()
        self._site = base_url.rstrip("/")
        self.base_url = self._site + "/api/v2"
        self.money_account_id = money_account_id

    def auth(self) -> httpx.Auth:
        return _QueryToken(self._token)

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    # --- errors ------------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return str(data["error"])
        return super().error_message(response)

    def error_for(self, response: httpx.Response, body: str) -> InvoicekitError:
        if response.status_code == 422:
            issues = _rails_errors(response)
            if issues:
                return ValidationError(issues, provider=self.name)
        return super().error_for(response, body)

    def unsupported_fields(self, document: Client | _Document) -> list[FieldIssue]:
        if isinstance(document, Client):
            return m.unsupported_client_fields(document)
        return m.unsupported_document_fields(document)

    # --- clients -----------------------------------------------------------------------------------
    def create_client(self, client: Client) -> Flow[Client]:
        # The key travels in `reference`, which is also the client's external_id: one field, one value.
        key = client.idempotency_key
        if key and client.external_id and client.external_id != key:
            raise ValidationError.single(
                "idempotency_key",
                "Cashaca keeps the key in the client's reference, which holds external_id: make them equal",
            )
        keyed = client.model_copy(update={"external_id": client.external_id or key})
        outcome = yield Step(
            ApiRequest("POST", "/clients.json", json={"client": m.client_body(keyed)}),
            idempotent=False,
            lookup=(lambda: self.find_client_by_key(key)) if key else None,
            reference=key,
        )
        if isinstance(outcome, Found):
            return (yield from self.get_client(outcome.provider_id))
        return m.client_from_json(read_json(outcome, self.name))

    def find_client_by_key(self, key: str) -> LookupFlow:
        # clients/search.json matches "by name or part of it" only (stijn1989), so the whole list is read.
        return (yield from self._scan("/clients.json", "reference", key))

    def _scan(self, path: str, field: str, key: str) -> LookupFlow:
        """Every record of a list whose ``field`` holds ``key``, at most MAX_SCAN_PAGES pages: one GET per
        100 records, since Cashaca cannot filter on the field."""
        request: ApiRequest | None = PAGE.first(ApiRequest("GET", path))
        candidates: list[tuple[str, str | None]] = []
        pages = 0
        while request is not None:
            if pages == MAX_SCAN_PAGES:
                return Lookup.UNKNOWN  # not read to the end: no conclusion
            response = yield Step(request)
            assert isinstance(response, httpx.Response)
            page = read_json(response, self.name)
            if not isinstance(page, list):
                raise MalformedResponse(f"{path} is not a JSON array", provider=self.name, status=response.status_code)
            pages += 1
            candidates += [(str(item["id"]), item.get(field)) for item in page if isinstance(item, dict)]
            request = PAGE.next_request(request, response, len(page))
        return lookup_by_key(key, candidates)

    def get_client(self, client_id: str) -> Flow[Client]:
        response = yield Step(ApiRequest("GET", f"/clients/{_id(client_id)}.json"))
        assert isinstance(response, httpx.Response)
        return m.client_from_json(read_json(response, self.name))

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        # Cashaca searches names only: a lookup by reference or VAT number walks the list and filters here.
        if query.search:
            request = ApiRequest("GET", "/clients/search.json", params={"q": query.search})
        else:
            request = ApiRequest("GET", "/clients.json")

        def keep(client: Client) -> bool:
            return (query.external_id is None or client.external_id == query.external_id) and (
                query.vat_number is None or client.vat_number == query.vat_number
            )

        return Listing(request, PAGE, self._page(m.client_from_json), keep=keep)

    def update_client(self, client_id: str, client: Client) -> Flow[Client]:
        body = m.client_body(client)
        body.pop("id", None)
        response = yield Step(ApiRequest("PUT", f"/clients/{_id(client_id)}.json", json={"client": body}))
        assert isinstance(response, httpx.Response)
        return m.client_from_json(read_json(response, self.name))

    def check_vat_number(self, vat_number: str) -> Flow[bool]:
        request = ApiRequest("GET", "/clients/valid_be_vat_number.json", params={"vat_number": vat_number})
        response = yield Step(request)
        assert isinstance(response, httpx.Response)
        return bool(read_json(response, self.name)["valid"])

    # --- invoices and credit notes -----------------------------------------------------------------
    def _document_body(
        self, doc: _Document, serial: str | None, kind: Literal["invoice", "credit_note"]
    ) -> dict[str, Any]:
        # No client address is required: the v2 API books consumer invoices without one (the production
        # Apps Script sends client {type_id, name, email, tel, language} only).
        term = doc.payment_term_days
        if term is None and doc.due_date is not None:
            term = (doc.due_date - doc.issue_date).days
        fields: dict[str, Any] = {
            # Left out (optional in v2, invoices create) unless the caller numbered it: Cashaca numbers it.
            "serial_number": serial,
            "internal_description": doc.idempotency_key,
            "date": doc.issue_date.isoformat(),
            "delivery_date": doc.delivery_date.isoformat() if doc.delivery_date else None,
            "payment_term": term,
            "po_number": doc.order_reference or doc.buyer_reference,
            "custom_text_bottom": doc.note,
            "discount_style_id": 2 if doc.discount_percent else 0,
            "discount_percentage": m._money(doc.discount_percent) if doc.discount_percent else None,
            "commercial_document_lines_attributes": m.document_lines(doc),
        }
        exempt = [row.exemption_reason or row.exemption_code for row in doc.rows if row.vat_category is VatCategory.E]
        if exempt and exempt[0]:
            # Assumption: the `no_vat_reason` the invoice JSON shows is accepted on create as well.
            fields["no_vat_reason"] = exempt[0]
        if isinstance(doc, CreditNote):
            fields["reference"] = doc.corrects_invoice_number
        elif doc.structured_communication:
            # Assumption: `ogm` is writable; Cashaca proposes one (proposed_invoice_ogm) when absent.
            fields["ogm"] = doc.structured_communication
        sale = {"sales_type_id": m.sales_type_id(doc), "reallocation_of_vat": 1 if m.reallocates_vat(doc) else 0}
        return {
            "client": m.client_body(doc.client),
            kind: {k: v for k, v in fields.items() if v is not None},
            "sale": sale,
        }

    def create_invoice(self, invoice: Invoice) -> Flow[Invoice]:
        created = yield from self._create_document(invoice, "invoice")
        assert isinstance(created, Invoice)
        return created

    def _create_document(
        self, doc: Invoice | CreditNote, kind: Literal["invoice", "credit_note"]
    ) -> Flow[Invoice | CreditNote]:
        key = doc.idempotency_key
        path = f"/{kind}s.json"
        # An invoice's number is the caller's or Cashaca's. A credit note must carry one: the caller's, or the
        # next one, taken again while another create wins it (only then: a caller's number is kept as given).
        numbered_here = kind == "credit_note" and doc.number is None
        attempts = CREDIT_NOTE_NUMBER_ATTEMPTS if numbered_here else 1
        for _ in range(attempts):
            serial = doc.number
            if numbered_here:
                response = yield Step(ApiRequest("GET", f"/next_{kind}_serial_number.json"))
                assert isinstance(response, httpx.Response)
                serial = str(read_json(response, self.name))  # a bare JSON string
            outcome = yield Step(
                ApiRequest("POST", path, json=self._document_body(doc, serial, kind)),
                idempotent=False,
                lookup=(lambda: self._scan(path, "internal_description", key)) if key else None,
                reference=key,
                allow=frozenset({422}) if numbered_here else frozenset(),
            )
            if isinstance(outcome, Found) or outcome.status_code != 422:
                break
            issues = _rails_errors(outcome)
            # A 422 created nothing. One whose body was lost on the way says nothing more: take the next
            # number again (a refusal of something else comes back, readable, next time).
            if issues and not any(i.path == "number" and _TAKEN in i.reason for i in issues):
                raise ValidationError(
                    issues,
                    provider=self.name,
                    status=422,
                    request_id=self.request_id(outcome),
                )
        else:
            raise ValidationError.single(
                "number",
                f"every next credit note number was taken by another create, {attempts} times: try again",
                provider=self.name,
            )
        if isinstance(outcome, Found):
            return (yield from self._get_document(kind, outcome.provider_id))
        # Just sent: whether the VAT is reverse charged is known here, not read back.
        return m.invoice_from_json(read_json(outcome, self.name), type(doc), reverse_charge=m.reallocates_vat(doc))

    def _get_document(self, kind: Literal["invoice", "credit_note"], doc_id: str) -> Flow[Invoice | CreditNote]:
        response = yield Step(ApiRequest("GET", f"/{kind}s/{_id(doc_id)}.json"))
        assert isinstance(response, httpx.Response)
        data = read_json(response, self.name)
        reverse_charge = False
        if m.may_reverse_charge(data) and data.get("sale_id") is not None:
            # Reverse charge is a property of the sale (sale[reallocation_of_vat], seed 002), not the invoice.
            sale = yield Step(ApiRequest("GET", f"/sales/{_id(str(data['sale_id']))}.json"))
            assert isinstance(sale, httpx.Response)
            reverse_charge = m.truthy(read_json(sale, self.name).get("reallocation_of_vat"))
        cls = Invoice if kind == "invoice" else CreditNote
        return m.invoice_from_json(data, cls, reverse_charge=reverse_charge)

    def _document_pdf(self, kind: Literal["invoice", "credit_note"], doc_id: str) -> Flow[bytes]:
        response = yield Step(ApiRequest("GET", f"/{kind}s/{_id(doc_id)}.json"))
        assert isinstance(response, httpx.Response)
        link = read_json(response, self.name).get("pdf_url_for_client")
        url = httpx.URL(str(link or ""))
        site = httpx.URL(self._site)
        # The token goes along with every request: follow a link on Cashaca's own site only.
        if (url.scheme, url.host, url.port) != (site.scheme, site.host, site.port) or not url.path:
            raise MalformedResponse(
                f"the {kind} has no pdf_url_for_client on {site.host}", provider=self.name, status=response.status_code
            )
        # Relative to base_url (<site>/api/v2): up two levels to the site's root.
        pdf = yield Step(ApiRequest("GET", "/../.." + url.path, headers={"Accept": "application/pdf"}))
        assert isinstance(pdf, httpx.Response)
        if not pdf.content.startswith(b"%PDF-"):
            raise MalformedResponse(
                "pdf_url_for_client did not answer a PDF", provider=self.name, status=pdf.status_code
            )
        return pdf.content

    def invoice_pdf(self, invoice_id: str) -> Flow[bytes]:
        return (yield from self._document_pdf("invoice", invoice_id))

    def credit_note_pdf(self, credit_note_id: str) -> Flow[bytes]:
        return (yield from self._document_pdf("credit_note", credit_note_id))

    def find_invoice_by_key(self, key: str) -> LookupFlow:
        return (yield from self._scan("/invoices.json", "internal_description", key))

    def find_credit_note_by_key(self, key: str) -> LookupFlow:
        return (yield from self._scan("/credit_notes.json", "internal_description", key))

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        invoice = yield from self._get_document("invoice", invoice_id)
        assert isinstance(invoice, Invoice)
        return invoice

    def list_invoices(self, query: DocumentQuery) -> Listing[Invoice]:
        path = "/invoices/unpaid.json" if query.unpaid else "/invoices.json"

        def parse(data: dict[str, Any]) -> Invoice:
            invoice = m.invoice_from_json(data, Invoice)
            assert isinstance(invoice, Invoice)
            return invoice

        return Listing(ApiRequest("GET", path), PAGE, self._page(parse), keep=_client_filter(query))

    def next_invoice_number(self) -> Flow[str]:
        response = yield Step(ApiRequest("GET", "/next_invoice_serial_number.json"))
        assert isinstance(response, httpx.Response)
        return str(read_json(response, self.name))  # a bare JSON string

    def send_invoice(self, invoice_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        return (yield from self._send("invoices", invoice_id, via, to))

    def _send(self, resource: str, doc_id: str, via: Literal["email", "peppol"], to: str | None) -> Flow[SendResult]:
        if via == "peppol":
            request = ApiRequest("POST", f"/{resource}/{_id(doc_id)}/send_to_peppol.json")
        else:
            if not to:
                raise ValidationError.single("to", "Cashaca needs the recipient's e-mail address", provider=self.name)
            request = ApiRequest("POST", f"/{resource}/{_id(doc_id)}/send_by_email.json", json={"to": to})
        # Sending twice would deliver twice, and a send leaves nothing to look up: never retried blindly.
        response = yield Step(request, idempotent=False)
        assert isinstance(response, httpx.Response)
        # The answer's fields are undocumented (tombroucke only checks for a JSON object): keep it raw.
        data = read_json(response, self.name) if response.content else None
        return SendResult(via=via, accepted=True, raw=data)

    def create_credit_note(self, credit_note: CreditNote) -> Flow[CreditNote]:
        if not (credit_note.corrects_invoice_number or credit_note.corrects_invoice_id):
            raise ValidationError.single(
                "corrects_invoice_number", "Cashaca links a credit note to the number of the invoice it corrects"
            )
        if not credit_note.corrects_invoice_number:
            # Cashaca links by number only: look the number up from the id we were given.
            corrected = yield from self.get_invoice(credit_note.corrects_invoice_id or "")
            credit_note = credit_note.model_copy(update={"corrects_invoice_number": corrected.number})
        created = yield from self._create_document(credit_note, "credit_note")
        assert isinstance(created, CreditNote)
        if credit_note.corrects_invoice_id:
            # Not stored by Cashaca (a later get has only the number), but known here: hand it back.
            created = created.model_copy(update={"corrects_invoice_id": credit_note.corrects_invoice_id})
        return created

    def get_credit_note(self, credit_note_id: str) -> Flow[CreditNote]:
        note = yield from self._get_document("credit_note", credit_note_id)
        assert isinstance(note, CreditNote)
        return note

    def list_credit_notes(self, query: DocumentQuery) -> Listing[CreditNote]:
        def parse(data: dict[str, Any]) -> CreditNote:
            note = m.invoice_from_json(data, CreditNote)
            assert isinstance(note, CreditNote)
            return note

        return Listing(ApiRequest("GET", "/credit_notes.json"), PAGE, self._page(parse), keep=_client_filter(query))

    def send_credit_note(
        self, credit_note_id: str, via: Literal["email", "peppol"], to: str | None
    ) -> Flow[SendResult]:
        return (yield from self._send("credit_notes", credit_note_id, via, to))

    # --- payments ----------------------------------------------------------------------------------
    def create_payment(self, payment: Payment) -> Flow[Payment]:
        response = yield Step(ApiRequest("GET", f"/invoices/{_id(payment.invoice_id)}.json"))
        assert isinstance(response, httpx.Response)
        invoice = read_json(response, self.name)
        sale_id = invoice.get("sale_id")
        if sale_id is None:
            raise ValidationError.single("invoice_id", "this Cashaca invoice has no sale to pay", provider=self.name)
        account = self.money_account_id
        if account is None:
            accounts_response = yield Step(ApiRequest("GET", "/money_accounts.json"))
            assert isinstance(accounts_response, httpx.Response)
            accounts = read_json(accounts_response, self.name)
            if not accounts:
                raise ConfigurationError("the Cashaca account has no money account to book payments on")
            account = int(accounts[0]["id"])
        body = {
            "financial_transaction": {
                "sale_id": sale_id,
                "date": payment.date.isoformat(),
                "storage_id": account,
                "amount": m._money(payment.amount),
                "description": payment.reference,
            }
        }
        # No lookup: Cashaca cannot read payments back and an invoice's JSON shows nothing paid, so a lost
        # answer cannot be checked. The engine ends in UncertainOutcome rather than book the payment twice.
        outcome = yield Step(
            ApiRequest("POST", "/financial_transactions.json", json=body),
            idempotent=False,
            reference=f"invoice {payment.invoice_id}, {payment.amount}",
        )
        assert isinstance(outcome, httpx.Response)
        data = read_json(outcome, self.name) if outcome.content else None
        # Assumed: the 201 answer is the financial transaction with its `id` (undocumented; the create
        # params are maartendeblock's Apis/Payment.php). It is the only handle a caller gets: no GET exists.
        made_id = data.get("id") if isinstance(data, dict) else None
        return Payment.from_provider(
            provider_id=str(made_id) if isinstance(made_id, int | str) and not isinstance(made_id, bool) else None,
            invoice_id=payment.invoice_id,
            date=payment.date,
            amount=payment.amount,
            method=payment.method,
            reference=payment.reference,
            raw=data if isinstance(data, dict) else None,
        )

    # --- helpers -----------------------------------------------------------------------------------
    def _page(self, parse: Any) -> Any:
        def parse_page(response: httpx.Response) -> Sequence[Any]:
            data = read_json(response, self.name)
            if not isinstance(data, list):
                raise TypeError("a Cashaca list is a JSON array")
            return LazyPage(data, parse)  # each invoice read as the caller reaches it

        return parse_page


def _id(value: str) -> str:
    # Ids go into the path: refuse anything but digits before a request is built.
    if not value.isdigit():
        raise ValidationError.single("provider_id", f"{value!r} is not a Cashaca id (digits only)")
    return value


def _client_filter(query: DocumentQuery) -> Any:
    if query.client_id is None:
        return None
    return lambda doc: doc.client.provider_id == query.client_id


def _rails_errors(response: httpx.Response) -> list[FieldIssue]:
    try:
        data = response.json()
    except ValueError:
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, dict):
        return []
    issues = []
    for field, messages in errors.items():
        texts = messages if isinstance(messages, list) else [messages]
        path = _FIELD_PATHS.get(field, f"cashaca.{field}")
        issues += [FieldIssue(path, f"{field} {text}") for text in texts]
    return issues
