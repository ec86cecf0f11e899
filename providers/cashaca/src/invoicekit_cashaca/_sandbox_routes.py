"""The Cashaca sandbox's routes for invoices, credit notes, quotations, payments and the numbering endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit.belgium import InvalidNumber, format_ogm, ogm_from_reference, peppol_participant_id
from invoicekit.sandbox import Sandbox, enforces, utc_timestamp
from invoicekit_cashaca._sandbox_documents import (
    INVOICE,
    QUOTATION,
    STATUS_SENT,
    DocumentKind,
    create_document,
    paid_on_sale,
    render_document,
    total_of,
)
from invoicekit_cashaca._sandbox_http import (
    CLIENTS,
    COMPANY_ID,
    DELIVERIES,
    FINANCIAL_TRANSACTIONS,
    INVOICES,
    MAX_PAGE,
    MONEY_ACCOUNTS,
    QUOTATIONS,
    SALES,
    ApiError,
    Errors,
    Handler,
    Params,
    api_route,
    as_date,
    as_decimal,
    as_int,
    blank,
    json_response,
    money,
    not_found,
    read_params,
    shaped,
    stored_page,
    window_of,
    wrapped,
)
from invoicekit_cashaca._sandbox_serials import next_serial_number

__all__ = ["document_routes", "other_routes"]

Today = Callable[[], date]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def document_routes(sandbox: Sandbox, kind: DocumentKind, today: Today) -> list[Route]:
    store = sandbox.store
    prefix = f"/{kind.collection}"

    def render_all(request: Request, records: list[Params]) -> list[Params]:
        # Each document's own client, by id: a page costs its records, not the clients of the account.
        clients = {client_id: store.get(CLIENTS, client_id) for client_id in {int(r["client_id"]) for r in records}}
        return [
            render_document(
                sandbox, record, client=clients.get(int(record["client_id"])), base_url=_base(request), kind=kind
            )
            for record in records
        ]

    def load(request: Request) -> Params:
        record = store.get(kind.collection, int(request.path_params["id"]))
        if record is None:
            raise not_found()
        return record

    async def index(request: Request) -> Response:
        if request.method == "POST":
            params = await read_params(request)
            with sandbox.store.transaction():
                record = create_document(sandbox, kind, params, today())
            return json_response(render_all(request, [record])[0], 201)
        return json_response(render_all(request, stored_page(sandbox, request, kind.collection)))

    async def unpaid(request: Request) -> Response:
        # Assumed: an invoice is unpaid while the payments on its sale add up to less than its total incl. VAT.
        # A filter: the invoices are read in id order, a chunk at a time, until the page is full.
        window = window_of(request)
        wanted = window.offset + window.limit
        open_ones: list[Params] = []
        offset = 0
        while len(open_ones) < wanted:
            chunk = store.page(kind.collection, offset, MAX_PAGE)
            if not chunk:
                break
            offset += len(chunk)
            open_ones += [r for r in chunk if paid_on_sale(sandbox, int(r["sale_id"])) < total_of(r)]
        return json_response(render_all(request, window.of(open_ones)))

    async def show(request: Request) -> Response:
        return json_response(render_all(request, [load(request)])[0])

    def mark_sent(record: Params, delivery: Params) -> None:
        now = utc_timestamp()
        with sandbox.store.transaction():
            store.insert(
                DELIVERIES,
                {"document_type": kind.wrapper, "document_id": record["id"], "created_at": now, **delivery},
            )
            record.update(last_send=now, status_id=STATUS_SENT, updated_at=now)
            store.replace(kind.collection, int(record["id"]), record)

    async def send_by_email(request: Request) -> Response:
        record = load(request)
        params = await read_params(request)
        errors = Errors()
        to = params.get("to")
        # `to` is the one field tombroucke's SendByEmailRequest always sends (constructor argument).
        if blank(to):
            errors.add("to", "can't be blank")
        elif enforces(sandbox, "send_by_email.to_invalid"):
            for address in re.split(r"[,;]", str(to)):
                if not _EMAIL.match(address.strip()):
                    errors.add("to", f"is invalid ({address.strip()})")
        errors.raise_if_any()
        fields = ("to", "cc", "bcc", "subject", "content", "attach_pdf", "attach_xml", "send_reminder")
        mark_sent(record, {"channel": "email", **{f: params.get(f) for f in fields}})
        # tombroucke's tests expect a JSON object (toBeArray) with 200; its fields are not documented.
        return json_response(
            shaped(sandbox, "send_result", {"message": f"{kind.label} {record['serial_number']} was sent to {to}"})
        )

    async def send_to_peppol(request: Request) -> Response:
        record = load(request)
        client = store.get(CLIENTS, int(record["client_id"])) or {}
        vat = record.get("client_vat_number") or client.get("vat_number")
        errors = Errors()
        participant = None
        # tombroucke's README: sending needs a client with a Peppol participant id, which a client without
        # a VAT number cannot have. Any valid VAT number is accepted (maartendeblock maps 31 countries'
        # numbers to participant ids); a Belgian one is also given its 0208 id.
        if blank(vat):
            errors.add("vat_number", "can't be blank: the client needs a VAT number to receive Peppol")
        else:
            try:
                participant = peppol_participant_id(str(vat))
            except InvalidNumber:
                participant = None
        errors.raise_if_any()
        mark_sent(record, {"channel": "peppol", "receiver": participant})
        body = {"message": f"{kind.label} {record['serial_number']} was sent over Peppol"}
        return json_response(shaped(sandbox, "send_result", body))

    routes = [
        api_route(sandbox, f"{prefix}.json", index, ["GET", "POST"]),
        api_route(sandbox, f"{prefix}/{{id:int}}.json", show, ["GET"]),
        api_route(sandbox, f"{prefix}/{{id:int}}/send_by_email.json", send_by_email, ["POST"]),
    ]
    if kind is not QUOTATION:
        routes.append(api_route(sandbox, f"{prefix}/{{id:int}}/send_to_peppol.json", send_to_peppol, ["POST"]))
    if kind is INVOICE:
        routes.insert(1, api_route(sandbox, f"{prefix}/unpaid.json", unpaid, ["GET"]))
    return routes


def other_routes(sandbox: Sandbox, today: Today, username: str) -> list[Route]:
    store = sandbox.store

    async def api_tokens(request: Request) -> Response:
        return json_response(shaped(sandbox, "api_token", {"username": username}))

    async def financial_transactions(request: Request) -> Response:
        errors = Errors()
        data = wrapped(await read_params(request), "financial_transaction", errors)
        errors.raise_if_any()
        sale_id = as_int(data.get("sale_id"), "sale_id", errors)
        storage_id = as_int(data.get("storage_id"), "storage_id", errors)
        amount = as_decimal(data.get("amount"), "amount", errors)
        paid_on = as_date(data.get("date"), "date", errors)
        # The four fields of maartendeblock's docblock (Apis/Payment.php); that they are required is assumed.
        if enforces(sandbox, "financial_transaction.fields_missing"):
            for field, value in (
                ("sale_id", sale_id),
                ("storage_id", storage_id),
                ("amount", amount),
                ("date", paid_on),
            ):
                if value is None and field not in errors.by_field:
                    errors.add(field, "can't be blank")
            if sale_id is not None and store.get(SALES, sale_id) is None:
                errors.add("sale_id", "does not exist")
            if storage_id is not None and store.get(MONEY_ACCOUNTS, storage_id) is None:
                errors.add("storage_id", "does not exist")
        if amount is not None and amount <= 0 and enforces(sandbox, "financial_transaction.amount_not_positive"):
            errors.add("amount", "must be greater than 0")
        imported = as_int(data.get("imported_payment_id"), "imported_payment_id", errors)
        errors.raise_if_any()
        now = utc_timestamp()
        record: Params = {
            "sale_id": sale_id,
            "date": paid_on.isoformat() if paid_on else None,
            "storage_id": storage_id,
            "amount": money(amount) if amount is not None else None,
            "description": None if blank(data.get("description")) else str(data["description"]),
            "imported_payment_id": imported,
            "company_id": COMPANY_ID,
            "created_at": now,
            "updated_at": now,
        }
        with sandbox.store.transaction():
            record["id"] = store.insert(FINANCIAL_TRANSACTIONS, record)
        return json_response(shaped(sandbox, "financial_transaction", {"id": record["id"], **record}), 201)

    async def money_accounts(request: Request) -> Response:
        accounts = stored_page(sandbox, request, MONEY_ACCOUNTS)
        return json_response([shaped(sandbox, "money_account", account) for account in accounts])

    def next_number(collection: str) -> Handler:
        async def handler(request: Request) -> Response:
            # A bare JSON string, e.g. "2025_0108": stijn1989 casts it to a string, maartendeblock's
            # InvoiceNumber::getNextInvoiceSerialNumber() returns it as one.
            return json_response(next_serial_number(store, collection, today()))

        return handler

    def proposed_ogm(collection: str) -> Handler:
        async def handler(request: Request) -> Response:
            serial = request.query_params.get("serial_number") or next_serial_number(store, collection, today())
            try:
                proposal = format_ogm(ogm_from_reference(serial))
            except InvalidNumber as exc:
                raise ApiError(422, {"errors": {"serial_number": [str(exc)]}}) from None
            # An object, not a bare string: maartendeblock's getProposalForStructuredCommunication() is typed
            # `: array` (a JSON string would be a PHP TypeError there), while it types the next serial number
            # `: string`. The key name is assumed (provenance.toml: proposed_ogm.ogm).
            return json_response(shaped(sandbox, "proposed_ogm", {"ogm": proposal, "serial_number": serial}))

        return handler

    return [
        api_route(sandbox, "/api_tokens.json", api_tokens, ["GET"]),
        api_route(sandbox, "/financial_transactions.json", financial_transactions, ["POST"]),
        api_route(sandbox, "/money_accounts.json", money_accounts, ["GET"]),
        api_route(sandbox, "/next_invoice_serial_number.json", next_number(INVOICES), ["GET"]),
        api_route(sandbox, "/next_credit_note_serial_number.json", next_number("credit_notes"), ["GET"]),
        api_route(sandbox, "/next_quotation_serial_number.json", next_number(QUOTATIONS), ["GET"]),
        api_route(sandbox, "/proposed_invoice_ogm.json", proposed_ogm(INVOICES), ["GET"]),
        api_route(sandbox, "/proposed_quotation_ogm.json", proposed_ogm(QUOTATIONS), ["GET"]),
    ]
