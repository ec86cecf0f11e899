"""The Cashaca sandbox's routes for documents, payments, sales and the small lookup endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit.belgium import InvalidNumber, format_ogm, ogm_from_reference, peppol_participant_id
from invoicekit.sandbox import Sandbox, utc_timestamp
from invoicekit_cashaca._sandbox_documents import (
    CREDIT_NOTE,
    INVOICE,
    STATUS_SENT,
    DocumentKind,
    create_document,
    paid_by_sale,
    render_document,
    total_of,
)
from invoicekit_cashaca._sandbox_http import (
    CLIENTS,
    COMPANY_ID,
    DELIVERIES,
    FINANCIAL_TRANSACTIONS,
    INVOICES,
    MONEY_ACCOUNTS,
    SALES,
    ApiError,
    Errors,
    Handler,
    Params,
    as_date,
    as_decimal,
    as_int,
    blank,
    endpoint,
    json_response,
    money,
    not_found,
    page_of,
    read_params,
    wrapped,
)
from invoicekit_cashaca._sandbox_numbers import next_serial_number

__all__ = ["document_routes", "other_routes"]

Today = Callable[[], date]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Standard and reduced VAT rates per EU country (2025), for vat_rates.json.
# Assumption (reference §1 vat_rates.json): the answer is a bare array of percentages as strings, highest first.
EU_VAT_RATES: dict[str, tuple[str, ...]] = {
    "AT": ("20", "13", "10"), "BE": ("21", "12", "6", "0"), "BG": ("20", "9"), "CY": ("19", "9", "5", "3"),
    "CZ": ("21", "12"), "DE": ("19", "7"), "DK": ("25",), "EE": ("24", "13", "9"), "EL": ("24", "13", "6"),
    "ES": ("21", "10", "4"), "FI": ("25.5", "14", "10"), "FR": ("20", "10", "5.5", "2.1"), "HR": ("25", "13", "5"),
    "HU": ("27", "18", "5"), "IE": ("23", "13.5", "9", "4.8"), "IT": ("22", "10", "5", "4"), "LT": ("21", "12", "5"),
    "LU": ("17", "14", "8", "3"), "LV": ("21", "12", "5"), "MT": ("18", "7", "5"), "NL": ("21", "9"),
    "PL": ("23", "8", "5"), "PT": ("23", "13", "6"), "RO": ("21", "11"), "SE": ("25", "12", "6"),
    "SI": ("22", "9.5", "5"), "SK": ("23", "19", "5"),
}  # fmt: skip


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def document_routes(sandbox: Sandbox, kind: DocumentKind, today: Today) -> list[Route]:
    store = sandbox.store
    prefix = f"/api/v2/{kind.collection}"

    def render_all(request: Request, records: list[Params], paid: dict[int, Decimal]) -> list[Params]:
        clients = {int(c["id"]): c for c in store.all(CLIENTS)}
        return [
            render_document(
                record,
                client=clients.get(int(record["client_id"])),
                paid=paid.get(int(record["sale_id"]), Decimal(0)),
                base_url=_base(request),
                kind=kind,
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
            with sandbox.lock:
                record = create_document(sandbox, kind, params, today())
            return json_response(render_all(request, [record], paid_by_sale(sandbox))[0], 201)
        return json_response(render_all(request, page_of(request, store.all(kind.collection)), paid_by_sale(sandbox)))

    async def unpaid(request: Request) -> Response:
        # Assumption (reference #5): an invoice is unpaid while the payments on its sale add up to less than
        # its total including VAT.
        paid = paid_by_sale(sandbox)
        open_ones = [r for r in store.all(kind.collection) if paid.get(int(r["sale_id"]), Decimal(0)) < total_of(r)]
        return json_response(render_all(request, page_of(request, open_ones), paid))

    async def show(request: Request) -> Response:
        return json_response(render_all(request, [load(request)], paid_by_sale(sandbox))[0])

    def mark_sent(record: Params, delivery: Params) -> None:
        now = utc_timestamp()
        with sandbox.lock:
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
        if blank(to):
            errors.add("to", "can't be blank")
        else:
            for address in re.split(r"[,;]", str(to)):
                if not _EMAIL.match(address.strip()):
                    errors.add("to", f"is invalid ({address.strip()})")
        errors.raise_if_any()
        fields = ("to", "cc", "bcc", "subject", "content", "attach_pdf", "attach_xml", "send_reminder")
        mark_sent(record, {"channel": "email", **{f: params.get(f) for f in fields}})
        # Assumption (reference §1 Sending): the 200 answer is a JSON object; its shape is undocumented.
        return json_response({"message": f"{kind.label} {record['serial_number']} was sent to {to}"})

    async def send_to_peppol(request: Request) -> Response:
        record = load(request)
        client = store.get(CLIENTS, int(record["client_id"])) or {}
        vat = record.get("client_vat_number") or client.get("vat_number")
        errors = Errors()
        participant = None
        # Assumption (reference §1 Sending): Peppol needs a receiver, and a Belgian one is found by its
        # enterprise number (scheme 0208); a client without a valid Belgian VAT number gets a 422.
        if blank(vat):
            errors.add("vat_number", "can't be blank: the client needs a Belgian VAT number to receive Peppol")
        else:
            try:
                participant = peppol_participant_id(str(vat))
            except InvalidNumber as exc:
                errors.add("vat_number", f"{vat} cannot receive Peppol documents: {exc}")
        errors.raise_if_any()
        mark_sent(record, {"channel": "peppol", "receiver": participant})
        # Assumption (reference §1 Sending): send_to_peppol answers 200 with a JSON object of unknown shape.
        return json_response(
            {"message": f"{kind.label} {record['serial_number']} was sent over Peppol", "receiver": participant}
        )

    routes = [
        Route(f"{prefix}.json", endpoint(sandbox, index), methods=["GET", "POST"]),
        Route(f"{prefix}/{{id:int}}.json", endpoint(sandbox, show), methods=["GET"]),
        Route(f"{prefix}/{{id:int}}/send_by_email.json", endpoint(sandbox, send_by_email), methods=["POST"]),
        Route(f"{prefix}/{{id:int}}/send_to_peppol.json", endpoint(sandbox, send_to_peppol), methods=["POST"]),
    ]
    if kind is INVOICE:
        routes.insert(1, Route(f"{prefix}/unpaid.json", endpoint(sandbox, unpaid), methods=["GET"]))
    return routes


def _render_transaction(record: Params) -> Params:
    return {**record, "amount": money(Decimal(str(record["amount"])))}


def other_routes(sandbox: Sandbox, today: Today, username: str) -> list[Route]:
    store = sandbox.store

    async def api_tokens(request: Request) -> Response:
        return json_response({"username": username})

    async def financial_transactions(request: Request) -> Response:
        errors = Errors()
        data = wrapped(await read_params(request), "financial_transaction", errors)
        errors.raise_if_any()
        sale_id = as_int(data.get("sale_id"), "sale_id", errors)
        storage_id = as_int(data.get("storage_id"), "storage_id", errors)
        amount = as_decimal(data.get("amount"), "amount", errors)
        paid_on = as_date(data.get("date"), "date", errors)
        for field, value in (("sale_id", sale_id), ("storage_id", storage_id), ("amount", amount), ("date", paid_on)):
            if value is None and field not in errors.by_field:
                errors.add(field, "can't be blank")
        if sale_id is not None and store.get(SALES, sale_id) is None:
            errors.add("sale_id", "does not exist")
        if storage_id is not None and store.get(MONEY_ACCOUNTS, storage_id) is None:
            errors.add("storage_id", "does not exist")
        if amount is not None and amount <= 0:
            errors.add("amount", "must be greater than 0")
        imported = as_int(data.get("imported_payment_id"), "imported_payment_id", errors)
        errors.raise_if_any()
        assert paid_on is not None
        assert amount is not None
        now = utc_timestamp()
        record: Params = {
            "sale_id": sale_id,
            "date": paid_on.isoformat(),
            "storage_id": storage_id,
            "amount": f"{amount:f}",
            "description": None if blank(data.get("description")) else str(data["description"]),
            "imported_payment_id": imported,
            "company_id": COMPANY_ID,
            "created_at": now,
            "updated_at": now,
        }
        with sandbox.lock:
            record["id"] = store.insert(FINANCIAL_TRANSACTIONS, record)
        # Assumption (reference §1 Payments): the answer is undocumented; like every create it is 201 with the
        # new object (fields as for transfers/create).
        return json_response(_render_transaction(record), 201)

    async def money_accounts(request: Request) -> Response:
        return json_response(page_of(request, store.all(MONEY_ACCOUNTS)))

    async def sales(request: Request) -> Response:
        return json_response(page_of(request, store.all(SALES)))

    async def sale(request: Request) -> Response:
        record = store.get(SALES, int(request.path_params["id"]))
        if record is None:
            raise not_found()
        return json_response(record)

    def next_number(kind: DocumentKind) -> Handler:
        async def handler(request: Request) -> Response:
            # A bare JSON string, e.g. "2025_0108" (the PHP clients read it as a string).
            return json_response(next_serial_number(store.all(kind.collection), today()))

        return handler

    async def proposed_invoice_ogm(request: Request) -> Response:
        serial = request.query_params.get("serial_number") or next_serial_number(store.all(INVOICES), today())
        try:
            proposal = format_ogm(ogm_from_reference(serial))
        except InvalidNumber as exc:
            raise ApiError(422, {"errors": {"serial_number": [str(exc)]}}) from None
        # Assumption (reference §1 proposed_invoice_ogm.json): a bare JSON string, like the next numbers.
        return json_response(proposal)

    async def vat_rates(request: Request) -> Response:
        country = (request.query_params.get("country") or "BE").strip().upper()
        rates = EU_VAT_RATES.get("EL" if country == "GR" else country)
        if rates is None:
            raise ApiError(422, {"errors": {"country": ["is not an EU member state"]}})
        return json_response([money(Decimal(rate)) for rate in rates])

    return [
        Route("/api/v2/api_tokens.json", endpoint(sandbox, api_tokens), methods=["GET"]),
        Route("/api/v2/financial_transactions.json", endpoint(sandbox, financial_transactions), methods=["POST"]),
        Route("/api/v2/money_accounts.json", endpoint(sandbox, money_accounts), methods=["GET"]),
        Route("/api/v2/sales.json", endpoint(sandbox, sales), methods=["GET"]),
        Route("/api/v2/sales/{id:int}.json", endpoint(sandbox, sale), methods=["GET"]),
        Route("/api/v2/next_invoice_serial_number.json", endpoint(sandbox, next_number(INVOICE)), methods=["GET"]),
        Route(
            "/api/v2/next_credit_note_serial_number.json",
            endpoint(sandbox, next_number(CREDIT_NOTE)),
            methods=["GET"],
        ),
        Route("/api/v2/proposed_invoice_ogm.json", endpoint(sandbox, proposed_invoice_ogm), methods=["GET"]),
        Route("/api/v2/vat_rates.json", endpoint(sandbox, vat_rates), methods=["GET"]),
    ]
