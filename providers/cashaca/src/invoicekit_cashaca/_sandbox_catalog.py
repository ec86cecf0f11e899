"""The Cashaca sandbox's other resources from seed 000: sales, projects, recurrent schedules, and the account's
lookup lists (units, skus, sales categories, OSS country names and VAT rates)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit.sandbox import Sandbox, cents, enforces, utc_timestamp
from invoicekit_cashaca._sandbox_clients import resolve_client
from invoicekit_cashaca._sandbox_documents import book_sale, sale_params
from invoicekit_cashaca._sandbox_http import (
    CLIENTS,
    COMPANY_ID,
    PROJECTS,
    SALES,
    ApiError,
    Errors,
    Handler,
    Params,
    api_route,
    as_date,
    as_decimal,
    blank,
    json_response,
    money,
    not_found,
    page_of,
    read_params,
    shaped,
    stored_page,
    wrapped,
)
from invoicekit_cashaca._sandbox_numbers import EU_VAT_RATES

__all__ = ["RECURRENT_SCHEDULES", "SALES_CATEGORIES", "SKUS", "UNITS", "catalog_routes"]

UNITS = "units"
SKUS = "skus"
SALES_CATEGORIES = "sales_categories"
RECURRENT_SCHEDULES = "recurrent_schedules"

# Assumed answer of country_names.json: a bare array of the EU member states' Dutch names, for OSS sales.
COUNTRY_NAMES = (
    "België", "Bulgarije", "Cyprus", "Denemarken", "Duitsland", "Estland", "Finland", "Frankrijk", "Griekenland",
    "Hongarije", "Ierland", "Italië", "Kroatië", "Letland", "Litouwen", "Luxemburg", "Malta", "Nederland",
    "Oostenrijk", "Polen", "Portugal", "Roemenië", "Slovenië", "Slowakije", "Spanje", "Tsjechië", "Zweden",
)  # fmt: skip

_AMOUNT_RATES = (0, 6, 12, 21)  # sale[amount_at_0] .. sale[amount_at_21] (seed cashaca-api-v2-sales.txt)


def _listing(sandbox: Sandbox, collection: str, resource: str) -> tuple[Handler, Handler]:
    async def index(request: Request) -> Response:
        items = stored_page(sandbox, request, collection)
        return json_response([shaped(sandbox, resource, item) for item in items])

    async def show(request: Request) -> Response:
        record = sandbox.store.get(collection, int(request.path_params["id"]))
        if record is None:
            raise not_found()
        return json_response(shaped(sandbox, resource, record))

    return index, show


def _search(sandbox: Sandbox, collection: str, resource: str, text: Callable[[Params], str]) -> Handler:
    async def search(request: Request) -> Response:
        # Assumed: q matches part of the record's name (or description), as the client search does.
        query = (request.query_params.get("q") or "").strip().casefold()
        found = [r for r in sandbox.store.all(collection) if not query or query in text(r).casefold()]
        return json_response([shaped(sandbox, resource, r) for r in page_of(request, found)])

    return search


def catalog_routes(sandbox: Sandbox, today: Callable[[], date]) -> list[Route]:
    store = sandbox.store

    async def sales(request: Request) -> Response:
        if request.method != "POST":
            return json_response([shaped(sandbox, "sale", s) for s in stored_page(sandbox, request, SALES)])
        params = await read_params(request)
        errors = Errors()
        client_data = wrapped(params, "client", errors)
        sale_data = wrapped(params, "sale", errors, beside=("client",))
        errors.raise_if_any()
        with sandbox.store.transaction():
            resolved = resolve_client(sandbox, client_data, errors)
            issued = as_date(sale_data.get("date"), "date", errors)
            if issued is None and "date" not in errors.by_field:
                errors.add("date", "can't be blank")
            sale = sale_params(sale_data, {}, resolved.snapshot.get("type_id"), errors)
            amounts: dict[Decimal, Decimal] = {}
            for rate in _AMOUNT_RATES:
                amount = as_decimal(sale_data.get(f"amount_at_{rate}"), f"amount_at_{rate}", errors)
                if amount:
                    amounts[Decimal(rate)] = amount
            errors.raise_if_any()
            assert issued is not None
            client = resolved.save(sandbox)
            # Assumed: the sale's VAT is its amount at each rate times the rate, rounded per rate.
            vat = sum((cents(amount * rate / 100) for rate, amount in amounts.items()), Decimal(0))
            sale_id = book_sale(sandbox, int(client["id"]), issued, amounts, vat, sale)
        record = store.get(SALES, sale_id)
        assert record is not None
        return json_response(shaped(sandbox, "sale", record), 201)

    def client_name(sale: Params) -> str:
        client = store.get(CLIENTS, int(sale["client_id"])) or {}
        return f"{client.get('name') or ''} {sale.get('description') or ''}"

    async def projects(request: Request) -> Response:
        if request.method != "POST":
            return json_response([shaped(sandbox, "project", p) for p in stored_page(sandbox, request, PROJECTS)])
        record = _project_fields(sandbox, await read_params(request))
        now = utc_timestamp()
        with sandbox.store.transaction():
            record.update(company_id=COMPANY_ID, created_at=now, updated_at=now)
            record["id"] = store.insert(PROJECTS, record)
        return json_response(shaped(sandbox, "project", {"id": record["id"], **record}), 201)

    async def project(request: Request) -> Response:
        project_id = int(request.path_params["id"])
        record = store.get(PROJECTS, project_id)
        if record is None:
            raise not_found()
        if request.method == "PUT":
            changes = _project_fields(sandbox, await read_params(request), partial=True)
            record = {**record, **changes, "updated_at": utc_timestamp()}
            with sandbox.store.transaction():
                store.replace(PROJECTS, project_id, record)
        return json_response(shaped(sandbox, "project", record))

    async def country_names(request: Request) -> Response:
        return json_response(list(COUNTRY_NAMES))

    async def vat_rates(request: Request) -> Response:
        country = (request.query_params.get("country") or "BE").strip().upper()
        rates = EU_VAT_RATES.get("EL" if country == "GR" else country)
        if rates is None:
            if not enforces(sandbox, "vat_rates.country_not_eu"):
                return json_response([])
            raise ApiError(422, {"errors": {"country": ["is not an EU member state"]}})
        return json_response([money(Decimal(rate)) for rate in rates])

    routes = [
        api_route(sandbox, "/sales.json", sales, ["GET", "POST"]),
        api_route(sandbox, "/sales/search.json", _search(sandbox, SALES, "sale", client_name), ["GET"]),
        api_route(sandbox, "/sales/{id:int}.json", _listing(sandbox, SALES, "sale")[1], ["GET"]),
        api_route(sandbox, "/projects.json", projects, ["GET", "POST"]),
        api_route(
            sandbox, "/projects/search.json", _search(sandbox, PROJECTS, "project", lambda p: str(p["name"])), ["GET"]
        ),
        api_route(sandbox, "/projects/{id:int}.json", project, ["GET", "PUT"]),
        api_route(sandbox, "/country_names.json", country_names, ["GET"]),
        api_route(sandbox, "/vat_rates.json", vat_rates, ["GET"]),
    ]
    for collection, resource in (
        (UNITS, "unit"),
        (SKUS, "sku"),
        (SALES_CATEGORIES, "sales_category"),
        (RECURRENT_SCHEDULES, "recurrent_schedule"),
    ):
        index, show = _listing(sandbox, collection, resource)
        routes.append(api_route(sandbox, f"/{collection}.json", index, ["GET"]))
        routes.append(api_route(sandbox, f"/{collection}/{{id:int}}.json", show, ["GET"]))
    return routes


def _project_fields(sandbox: Sandbox, params: Params, *, partial: bool = False) -> Params:
    errors = Errors()
    data = wrapped(params, "project", errors)
    errors.raise_if_any()
    fields: Params = {}
    # `name` is the one field of maartendeblock's docblock (Apis/Project.php: ['project' => ['name' => ..]]).
    if "name" in data or not partial:
        if blank(data.get("name")) and enforces(sandbox, "project.name_blank"):
            errors.add("name", "can't be blank")
        fields["name"] = str(data.get("name") or "").strip()
    for name in ("description", "client_id"):
        if name in data:
            fields[name] = data[name]
    errors.raise_if_any()
    return fields
