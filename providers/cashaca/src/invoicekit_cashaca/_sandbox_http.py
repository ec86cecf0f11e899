"""HTTP plumbing of the Cashaca sandbox: Rails-style errors, request parsing, paging and JSON rendering.

Cashaca is a Rails app (its docs are apipie pages), so the fake answers the way Rails would: field errors
gathered per field, request params parsed from JSON or from form-encoded ``client[name]=...`` pairs, and
every value rendered as plain JSON (ids as ints, dates ``YYYY-MM-DD``, timestamps ISO 8601).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from invoicekit.sandbox import (
    ApiError,
    BodyError,
    FieldError,
    FieldErrors,
    Sandbox,
    Window,
    cents,
    coerce_bool,
    coerce_date,
    coerce_decimal,
    coerce_int,
    page_window,
    read_form,
    read_json,
    served,
    serves,
)

__all__ = [
    "CLIENTS",
    "COMPANY",
    "COMPANY_ID",
    "CREDIT_NOTES",
    "DELIVERIES",
    "FINANCIAL_TRANSACTIONS",
    "INVOICES",
    "MAX_PAGE",
    "MONEY_ACCOUNTS",
    "PROJECTS",
    "QUOTATIONS",
    "SALES",
    "ApiError",
    "Errors",
    "Handler",
    "Params",
    "api_route",
    "as_bool",
    "as_date",
    "as_decimal",
    "as_int",
    "blank",
    "endpoint",
    "json_response",
    "lines_param",
    "money",
    "not_found",
    "page_of",
    "read_params",
    "shaped",
    "squeeze_paths",
    "stored_page",
    "window_of",
    "wrapped",
]

MAX_PAGE = 100

# Store collections.
CLIENTS = "clients"
INVOICES = "invoices"
QUOTATIONS = "quotations"
PROJECTS = "projects"
CREDIT_NOTES = "credit_notes"
SALES = "sales"
FINANCIAL_TRANSACTIONS = "financial_transactions"
MONEY_ACCOUNTS = "money_accounts"
DELIVERIES = "deliveries"
COMPANY = "company"
#: The id of the sandbox's single Cashaca account (``company_id`` on every record).
COMPANY_ID = 1

Params = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


def not_found() -> ApiError:
    # An unknown id is an error (stijn1989's testUnexistedClient); the 404 body is assumed (provenance.toml).
    return ApiError(404, {"error": "not found"})


class Errors(FieldErrors):
    """Field errors gathered over a whole request, answered the Rails way."""

    def raise_if_any(self) -> None:
        if self.by_field:
            # Assumed (errors.rails_422): validation failures answer 422 {"errors": {"field": ["message"]}}.
            raise ApiError(422, {"errors": self.by_field})


def json_response(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def shaped(sandbox: Sandbox, resource: str, record: Params) -> Params:
    """``record`` as served: every field listed in provenance.toml, the assumed ones dropped in strict mode."""
    shown: Params = served(sandbox, resource, record)
    return shown


def endpoint(sandbox: Sandbox, handler: Handler) -> Handler:
    """Wrap a handler with Cashaca's token check and the error answers."""

    async def wrapper(request: Request) -> Response:
        # Every call, POST and PUT included, authenticates with ?token= (seed 000 lists it on every path).
        # Assumed: a missing or wrong token answers 401 {"error": ...}.
        if not sandbox.accepts(request.query_params.get("token")):
            return json_response({"error": "Invalid or missing API token"}, 401)
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.body, exc.status)

    return wrapper


def api_route(sandbox: Sandbox, path: str, handler: Handler, methods: list[str]) -> Route:
    """A route under ``/api/v2`` whose every method is listed in provenance.toml as an endpoint; an assumed
    one answers like an unknown route in strict mode."""
    full = "/api/v2" + path
    listed = full.replace("{id:int}", "{id}")
    served = {method for method in methods if serves(sandbox, "endpoint", f"{method} {listed}")}
    wrapped_handler = endpoint(sandbox, handler)

    async def gate(request: Request) -> Response:
        if request.method not in served:
            return json_response({"error": "not found"}, 404)
        return await wrapped_handler(request)

    return Route(full, gate, methods=methods)


# --- request parsing -------------------------------------------------------------------------------------

_FORM_MARK = "\0form"
#: A body larger than this is refused (413) before it is parsed.
MAX_BODY = 1_000_000


async def read_params(request: Request) -> Params:
    """The request body as params: JSON (what clients send), or form-encoded as Rails also accepts.

    Assumed (body.form_encoded): the API parses bodies the way any Rails app does, so the
    ``client[name]=...`` params of the apipie pages work as a form body as well as wrapped JSON.
    """
    try:
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params = await read_form(request, max_bytes=MAX_BODY, nested=True)
            # Rails wraps JSON bodies only; a form body keeps its keys as they are.
            return {**params, _FORM_MARK: True} if params else params
        data = await read_json(request, max_bytes=MAX_BODY)
    except BodyError as exc:
        # Assumed (body.unparseable): Rails answers a body it cannot read with 400 (413 when too large).
        raise ApiError(413 if exc.too_large else 400, {"error": str(exc)}) from None
    if data is None:
        return {}
    if isinstance(data, list):
        return {"_json": data}  # Rails puts a JSON array body under _json (tombroucke posts "[]")
    if not isinstance(data, dict):
        raise ApiError(400, {"error": "the request body must be a JSON object"})
    return data


def wrapped(
    params: Params, name: str, errors: Errors, *, required: bool = True, beside: tuple[str, ...] = ()
) -> Params:
    """The part of the body wrapped in a resource name: ``{"client": {...}}``.

    Rails' wrap_parameters (on for JSON by default) wraps an unwrapped JSON body in the controller's name,
    so ``{"name": ...}`` posted to clients.json reads as ``{"client": {"name": ...}}``; stijn1989/Zenfactuur
    posts client bodies that way. ``beside`` names the other top-level blocks a request carries
    (``client`` and ``sale`` next to ``invoice``), which are not wrapped.
    """
    value = params.get(name)
    if value is None:
        loose = {key: item for key, item in params.items() if key not in beside and key != name}
        if loose and not params.get(_FORM_MARK):
            return loose
        if required:
            errors.add(name, "is missing")
        return {}
    if not isinstance(value, dict):
        errors.add(name, "must be a Hash")
        return {}
    return value


def lines_param(value: Any, field: str, errors: Errors) -> list[Params]:
    """Document lines as a JSON array or a Rails index hash ``{"0": {...}, "1": {...}}``; both are accepted."""
    if value is None:
        return []
    if isinstance(value, dict):
        try:
            items = [value[key] for key in sorted(value, key=int)]
        except ValueError:
            errors.add(field, "must be an Array or a Hash indexed by numbers")
            return []
    elif isinstance(value, list):
        items = value
    else:
        errors.add(field, "must be an Array of nested elements")
        return []
    if not all(isinstance(item, dict) for item in items):
        errors.add(field, "must be an Array of nested elements")
        return []
    return items


# --- value coercion (Rails casts strings) ---------------------------------------------------------------


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Rails casts the strings of a request; the kit's coercers do the casting, these note a refusal in ``errors``.


def as_int(value: Any, field: str, errors: Errors) -> int | None:
    return errors.take(coerce_int, value, field)


def as_decimal(value: Any, field: str, errors: Errors) -> Decimal | None:
    return errors.take(coerce_decimal, value, field)


def as_date(value: Any, field: str, errors: Errors) -> date | None:
    # Day first as well: the docs' time_slots example writes 31/03/2022.
    return errors.take(coerce_date, value, field, day_first=True)


def as_bool(value: Any, field: str, errors: Errors) -> bool | None:
    return errors.take(coerce_bool, value, field)


# --- rendering -------------------------------------------------------------------------------------------


def money(value: Decimal | str) -> str:
    """An amount as Cashaca shows it: a string with two decimals ("1133.17"); prices and quantities with
    more precision keep it ("0.125"). Strings, as maartendeblock's docblocks send and the Apps Script reads."""
    number = Decimal(value)
    if number == cents(number):
        return f"{cents(number):f}"
    return f"{number.normalize():f}"


def window_of(request: Request) -> Window:
    """The page a list asks for: ``page`` (1-based) and ``per_page`` or the docs' ``per_age``, at most 100.

    Bare JSON arrays (tombroucke reads data()[0]) of at most 100 (seed 000) with no count or links,
    in a stable order (by id, assumed); a client pages until a page comes back short. Pass it to
    ``store.page(collection, w.offset, w.limit)``, so a page costs its records, not the collection.
    """
    params = request.query_params
    size = params.get("per_page") if params.get("per_page") is not None else params.get("per_age")
    try:
        return page_window(params.get("page") or None, size or None, default=MAX_PAGE, cap=MAX_PAGE)
    except FieldError as exc:
        raise ApiError(422, {"errors": {exc.field: [exc.message]}}) from None


def page_of(request: Request, items: list[Any]) -> list[Any]:
    """One page (:func:`window_of`) of a list filtered in memory (a search)."""
    return window_of(request).of(items)


def stored_page(sandbox: Sandbox, request: Request, collection: str) -> list[Params]:
    """One page (:func:`window_of`) of a whole collection, read from the store."""
    window = window_of(request)
    return sandbox.store.page(collection, window.offset, window.limit)


def squeeze_paths(app: ASGIApp) -> ASGIApp:
    """Route ``/api/v2//clients/1.json`` and ``/api/v2/api_tokens`` like Rails does.

    Rails squeezes repeated slashes before routing, and its routes take the format as an optional
    ``(.:format)`` suffix with JSON the API's only format; stijn1989/Zenfactuur requests both forms
    (``v2//clients/<id>.json``, ``api_tokens``) in its live tests.
    """

    async def squeezed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = re.sub(r"/{2,}", "/", scope["path"])
            last = path.rsplit("/", 1)[-1]
            if path.startswith("/api/") and last and "." not in last:
                path += ".json"
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)

    return squeezed
