"""Stateful local fakes of provider APIs ("sandboxes"), like moto or stripe-mock, and their machinery.

A provider builds an ASGI app that behaves like its real API; :class:`Sandbox` wraps it with state
(:class:`MemoryStore` or :class:`SqliteStore`), credentials, seeded fault injection (:class:`FaultRule`)
and a request log. Reach it in-process through :meth:`Sandbox.transport` (no socket), or over loopback
with :func:`running` (tests) and :func:`serve` (``invoicekit sandbox serve NAME``).

::

    from invoicekit.sandbox import FaultRule, create_sandbox

    sandbox = create_sandbox("cashaca", seed=7)
    sandbox.faults.add(FaultRule.rate_limited(10, burst=5))
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        http.get("/api/v2/clients.json", params=sandbox.credentials())

In tests, the ``invoicekit_sandbox`` pytest fixture (:mod:`invoicekit.testing`) builds them and cleans up.

Writing a sandbox: the provider writes its routes and its wire shape; the kit gives the rest. Coercers
(``coerce_str/int/decimal/bool/date``) raise :class:`FieldError` naming the field; :class:`ApiError` stops a
handler with a status and a body; ``page_window``/``skip_take_window`` turn paging parameters into a capped
:class:`Window` for ``store.page``; ``read_json``/``read_form`` read a size-capped body; :class:`Nested`
keeps records under a parent; ``served_json`` shapes an answer by the provenance data (assumed fields
dropped in strict mode) and ``enforces``/``serves`` say whether a listed refusal or endpoint is on (assumed
ones are off in strict mode); ``cents`` rounds half up to the cent, apart from the model's totals engine
(which a sandbox exists to check); ``store.transaction()`` makes a read-modify-write atomic across processes;
:func:`render_pdf` draws a document::

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from invoicekit.sandbox import (ApiError, FieldError, Nested, Provenance, Sandbox, coerce_decimal,
                                    coerce_str, page_window, read_json, served_json)

    def acme_app(sandbox: Sandbox) -> Starlette:
        store, payments = sandbox.store, Nested(sandbox.store, "payments", "invoice_id")

        async def invoices(request: Request) -> Response:
            if request.method == "GET":
                q = request.query_params
                window = page_window(q.get("page"), q.get("per_page"), default=25, cap=100)
                return served_json(sandbox, "invoice", store.page("invoices", window.offset, window.limit))
            body = await read_json(request, max_bytes=1_000_000) or {}
            total = coerce_decimal(body.get("total"), "total", places=2)
            if total is None:
                raise FieldError("total", "is required")
            with store.transaction():  # the number and the insert, atomic across server processes
                number = f"2026-{store.next_value('invoice_number'):04d}"
                new = store.insert("invoices", {"number": number, "total": str(total),
                                                "client": coerce_str(body.get("client"), "client")})
            return served_json(sandbox, "invoice", store.get("invoices", new), 201)

        async def pay(request: Request) -> Response:
            invoice_id = int(request.path_params["id"])
            if store.get("invoices", invoice_id) is None:
                raise ApiError(404, {"error": "not found"})
            amount = coerce_decimal((await read_json(request, max_bytes=10_000) or {}).get("amount"), "amount")
            return JSONResponse(payments.add(invoice_id, {"amount": str(amount)}), status_code=201)

        async def refused(request: Request, exc: Exception) -> Response:
            if isinstance(exc, FieldError):
                return JSONResponse({"errors": {exc.field: [exc.message]}}, status_code=422)
            assert isinstance(exc, ApiError)
            return JSONResponse(exc.body, status_code=exc.status)

        return Starlette(
            routes=[Route("/invoices", invoices, methods=["GET", "POST"]),
                    Route("/invoices/{id:int}/payments", pay, methods=["POST"])],
            exception_handlers={FieldError: refused, ApiError: refused},
        )

    def create_sandbox(*, store=None, seed=None, strict=False) -> Sandbox:
        return Sandbox("acme", acme_app, store=store, seed=seed, strict=strict,
                       provenance=Provenance.load("invoicekit_acme"))

docs/plugin-authors.md ("Writing a sandbox") says how to adopt each piece.
"""

from invoicekit._extras import require_extra

# Before anything imports starlette: a core-only install gets an error naming the extra, not a ModuleNotFoundError.
require_extra("sandbox", "the sandbox")

from invoicekit.sandbox._core import LoggedRequest, RequestLog, Sandbox, utc_timestamp
from invoicekit.sandbox._faults import FaultDecision, FaultKind, FaultRule, Faults
from invoicekit.sandbox._kit import (
    ApiError,
    BodyError,
    FieldError,
    FieldErrors,
    Nested,
    Window,
    cents,
    coerce_bool,
    coerce_date,
    coerce_decimal,
    coerce_int,
    coerce_str,
    enforces,
    page_window,
    read_form,
    read_json,
    served,
    served_json,
    serves,
    skip_take_window,
)
from invoicekit.sandbox._pdf import PdfDocument, PdfLine, render_pdf
from invoicekit.sandbox._plugins import create_sandbox
from invoicekit.sandbox._provenance import Origin, Provenance, ProvenanceError, UnlistedField
from invoicekit.sandbox._server import running, serve
from invoicekit.sandbox._store import MemoryStore, SqliteStore, StateStore
from invoicekit.sandbox._transport import SandboxTransport

__all__ = [
    "ApiError",
    "BodyError",
    "FaultDecision",
    "FaultKind",
    "FaultRule",
    "Faults",
    "FieldError",
    "FieldErrors",
    "LoggedRequest",
    "MemoryStore",
    "Nested",
    "Origin",
    "PdfDocument",
    "PdfLine",
    "Provenance",
    "ProvenanceError",
    "RequestLog",
    "Sandbox",
    "SandboxTransport",
    "SqliteStore",
    "StateStore",
    "UnlistedField",
    "Window",
    "cents",
    "coerce_bool",
    "coerce_date",
    "coerce_decimal",
    "coerce_int",
    "coerce_str",
    "create_sandbox",
    "enforces",
    "page_window",
    "read_form",
    "read_json",
    "render_pdf",
    "running",
    "serve",
    "served",
    "served_json",
    "serves",
    "skip_take_window",
    "utc_timestamp",
]
