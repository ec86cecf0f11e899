"""The Flowtly sandbox's routes and wire shape (API Platform 3/4 conventions, Hydra collections).

Everything served is listed in provenance.toml with its origin; answers go through ``served``/``served_json``
(assumed fields are dropped in strict mode), assumed refusals through ``enforces`` and assumed filters
through ``serves("param", ...)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit.sandbox import (
    ApiError,
    BodyError,
    FieldError,
    coerce_date,
    coerce_decimal,
    coerce_str,
    enforces,
    page_window,
    read_json,
    served,
    served_json,
    serves,
)
from invoicekit_flowtly import _sandbox_totals as totals

if TYPE_CHECKING:
    from invoicekit_flowtly.sandbox import FlowtlySandbox

__all__ = ["flowtly_app"]

MAX_BODY = 1_000_000
PAGE_SIZE = 30
PAGE_CAP = 30  # API Platform's client-side page size is off by default: 30 per page, always
_ZERO_RATED = {"0", "zw", "oo", "0 WDT", "0 EXP", "np"}
Handler = Callable[[Request], Awaitable[Response]]


# --- JWT (HS256), made with the standard library: the sandbox signs and checks its own tokens -----------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: str, payload: dict[str, Any]) -> str:
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _verify(secret: str, token: str) -> dict[str, Any] | None:
    try:
        head, body, mac = token.split(".")
        expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), mac):
            return None
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    return payload


def flowtly_app(sandbox: FlowtlySandbox) -> Starlette:
    store = sandbox.store
    for kept, field in (
        ("clients", "externalPaymentCustomerId"),
        ("invoices", "client_id"),
        ("invoices", "externalId"),
        ("invoices", "name"),
        ("invoices", "parent_id"),
        ("invoice_rows", "invoice_id"),
        ("invoice_transactions", "invoice_id"),
    ):
        store.index(kept, field)

    # --- auth ---------------------------------------------------------------------------------------
    def check_token(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError(401, {"code": 401, "message": "JWT Token not found"})
        payload = _verify(sandbox.jwt_secret(), header[7:].strip())
        if payload is None:
            raise ApiError(401, {"code": 401, "message": "Invalid JWT Token"})
        if float(payload.get("exp", 0)) < time.time():
            raise ApiError(401, {"code": 401, "message": "Expired JWT Token"})

    async def login(request: Request) -> Response:
        body = await read_json(request, max_bytes=10_000)
        username = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not (
            isinstance(username, str)
            and isinstance(password, str)
            and hmac.compare_digest(username.encode(), sandbox.username.encode())
            and sandbox.accepts(password)
        ):
            raise ApiError(401, {"code": 401, "message": "Invalid credentials."})
        now = time.time()
        token = _sign(
            sandbox.jwt_secret(),
            {"iat": int(now), "exp": now + sandbox.token_ttl, "username": username, "jti": secrets.token_hex(8)},
        )
        return served_json(sandbox, "login", {"token": token})

    def authed(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            check_token(request)
            return await handler(request)

        return wrapped

    # --- bodies -------------------------------------------------------------------------------------
    async def body_of(request: Request, *, patch: bool = False) -> dict[str, Any]:
        kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if patch and kind != "application/merge-patch+json":
            raise ApiError(
                415,
                {
                    "title": "An error occurred",
                    "detail": f'The content-type "{kind}" is not supported. Supported MIME types are '
                    '"application/merge-patch+json".',
                    "status": 415,
                },
            )
        try:
            data = await read_json(request, max_bytes=MAX_BODY)
        except BodyError as exc:
            raise ApiError(413 if exc.too_large else 400, {"title": "An error occurred", "detail": str(exc)}) from None
        if not isinstance(data, dict):
            raise ApiError(400, {"title": "An error occurred", "detail": "Syntax error: expected a JSON object"})
        return data

    def violation(path: str, message: str) -> ApiError:
        return ApiError(
            422,
            {
                "@type": "ConstraintViolationList",
                "title": "An error occurred",
                "detail": f"{path}: {message}",
                "status": 422,
                "violations": [{"propertyPath": path, "message": message}],
            },
        )

    def not_found() -> ApiError:
        return ApiError(
            404, {"@type": "hydra:Error", "title": "An error occurred", "detail": "Not Found", "status": 404}
        )

    def record_id(request: Request) -> int:
        return int(request.path_params["id"])

    def iri_id(value: Any, resource: str, field: str) -> int:
        text = coerce_str(value, field)
        if not text:
            raise violation(field, "This value should not be blank.")
        tail = text.rstrip("/").split("/")
        if len(tail) < 2 or tail[-2] != resource or not tail[-1].isdigit():
            raise ApiError(400, {"title": "An error occurred", "detail": f'Invalid IRI "{text}".', "status": 400})
        return int(tail[-1])

    # --- collections ----------------------------------------------------------------------------------
    def collection(
        request: Request, resource: str, path: str, items: list[dict[str, Any]], total: int, page: int
    ) -> Response:
        shaped = served(sandbox, resource, items)
        if "ld+json" not in request.headers.get("accept", "") and "json" in request.headers.get("accept", ""):
            return served_json(sandbox, resource, [_strip_ld(item) for item in shaped])
        last = max(1, -(-total // PAGE_SIZE))
        prefix = "hydra:" if sandbox.hydra_prefix else ""
        view: dict[str, Any] = {
            "@id": f"{path}?page={page}",
            "@type": f"{prefix}PartialCollectionView",
            f"{prefix}first": f"{path}?page=1",
            f"{prefix}last": f"{path}?page={last}",
        }
        if page < last:
            view[f"{prefix}next"] = f"{path}?page={page + 1}"
        if page > 1:
            view[f"{prefix}previous"] = f"{path}?page={page - 1}"
        envelope: dict[str, Any] = {
            "@context": f"/contexts/{resource}",
            "@id": path,
            "@type": f"{prefix}Collection",
            f"{prefix}totalItems": total,
            f"{prefix}view": view,
        }
        out = served(sandbox, "collection", envelope)
        if serves(sandbox, "field", f"collection.{prefix}member"):
            out[f"{prefix}member"] = shaped
        return _json(out)

    def window(request: Request) -> tuple[int, int, int]:
        try:
            w = page_window(request.query_params.get("page"), None, default=PAGE_SIZE, cap=PAGE_CAP)
        except FieldError:
            raise ApiError(400, {"title": "An error occurred", "detail": "Page should not be less than 1"}) from None
        return w.offset, w.limit, w.offset // w.limit + 1

    def filtered(request: Request, name: str) -> str | None:
        value = request.query_params.get(name)
        listed = f"GET {request.url.path.removeprefix('/api')}?{name}"
        return value if value and serves(sandbox, "param", listed) else None

    # --- clients ------------------------------------------------------------------------------------
    def client_out(record: dict[str, Any]) -> dict[str, Any]:
        out = {"@id": f"/clients/{record['id']}", "@type": "Client", **record}
        out["clientContacts"] = [
            {"@id": f"/client-contacts/{record['id']}-{i}", "@type": "ClientContact", "id": f"{record['id']}-{i}", **c}
            for i, c in enumerate(record.get("clientContacts") or [], start=1)
        ]
        return out

    def client_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in (
            "name",
            "country",
            "currency",
            "tinType",
            "tinCountry",
            "tin",
            "vatNumber",
            "documentsLanguage",
            "addressPhoneNumber",
            "addressStreetLine",
            "addressBuildingNumber",
            "addressLocaleNumber",
            "addressPostCode",
            "addressCity",
            "addressCountry",
            "externalPaymentCustomerId",
            "invoiceComment",
        ):
            if name in body:
                fields[name] = coerce_str(body[name], name, max_len=255)
        if "dueDays" in body:
            fields["dueDays"] = int(coerce_decimal(body["dueDays"], "dueDays") or 0)
        if "clientContacts" in body:
            contacts = body["clientContacts"]
            if not isinstance(contacts, list):
                raise violation("clientContacts", "This value should be of type array.")
            fields["clientContacts"] = [
                {
                    k: coerce_str(c.get(k), f"clientContacts.{k}", max_len=255)
                    for k in ("name", "email", "phoneNumber", "role")
                }
                for c in contacts
                if isinstance(c, dict)
            ]
        if not partial:
            if not fields.get("name"):
                raise violation("name", "This value should not be blank.")
            fields.setdefault("country", "BE")
            fields.setdefault("currency", "EUR")
            fields.setdefault("status", "active")
            fields.setdefault("dueDays", 14)
            fields.setdefault("tinType", "none")
            fields.setdefault("documentsLanguage", "en")
            fields.setdefault("clientContacts", [])
        elif "name" in fields and not fields["name"]:
            raise violation("name", "This value should not be blank.")
        return fields

    async def clients(request: Request) -> Response:
        if request.method == "POST":
            fields = client_fields(await body_of(request), partial=False)
            with store.transaction():
                new = store.insert("clients", fields)
                record = store.get("clients", new)
            assert record is not None
            return served_json(sandbox, "client", client_out(record), 201)
        offset, limit, page = window(request)
        name = filtered(request, "name")
        ext = filtered(request, "externalPaymentCustomerId")
        vat = filtered(request, "vatNumber")
        if ext is not None:
            items = store.find("clients", "externalPaymentCustomerId", ext)
        elif name is not None or vat is not None:
            items = store.all("clients")
        else:
            return collection(
                request,
                "client",
                "/clients",
                [client_out(r) for r in store.page("clients", offset, limit)],
                store.count("clients"),
                page,
            )
        items = [
            r
            for r in items
            if (name is None or name.casefold() in str(r.get("name", "")).casefold())
            and (vat is None or r.get("vatNumber") == vat)
        ]
        return collection(
            request, "client", "/clients", [client_out(r) for r in items[offset : offset + limit]], len(items), page
        )

    async def client_item(request: Request) -> Response:
        record = store.get("clients", record_id(request))
        if record is None:
            raise not_found()
        if request.method == "PATCH":
            fields = client_fields(await body_of(request, patch=True), partial=True)
            with store.transaction():
                current = store.get("clients", record_id(request)) or record
                current.update(fields)
                store.replace("clients", int(current["id"]), current)
            record = current
        return served_json(sandbox, "client", client_out(record))

    # --- invoices -----------------------------------------------------------------------------------
    def row_out(row: dict[str, Any]) -> dict[str, Any]:
        out = {"@id": f"/invoice-rows/{row['id']}", "@type": "InvoiceRow", **row}
        out["invoice"] = f"/invoices/{out.pop('invoice_id')}"
        out["quantity"] = _number(out["quantity"])
        out.setdefault("parentInvoiceRow", None)
        out.setdefault("invoiceChildrenRows", [])
        return out

    def transaction_out(item: dict[str, Any]) -> dict[str, Any]:
        out = {"@id": f"/invoice-transactions/{item['id']}", "@type": "InvoiceTransaction", **item}
        out["invoice"] = f"/invoices/{out.pop('invoice_id')}"
        out["amount"] = _number(out["amount"]) if out.get("amount") is not None else None
        return out

    def invoice_out(record: dict[str, Any]) -> dict[str, Any]:
        rows = store.find("invoice_rows", "invoice_id", int(record["id"]))
        paid = store.find("invoice_transactions", "invoice_id", int(record["id"]))
        sums = totals.totals(rows)
        out: dict[str, Any] = {"@id": f"/invoices/{record['id']}", "@type": "Invoice"}
        for key, value in record.items():
            if key in ("client_id", "parent_id"):
                continue
            out[key] = value
        out["client"] = f"/clients/{record['client_id']}"
        parent_id = record.get("parent_id")
        if parent_id is not None:
            parent = store.get("invoices", int(parent_id))
            out["parent"] = {
                "@id": f"/invoices/{parent_id}",
                "@type": "Invoice",
                "id": parent_id,
                "name": parent.get("name") if parent else None,
            }
        else:
            out["parent"] = None
        out["childrenInvoices"] = (
            [f"/invoices/{child['id']}" for child in store.find("invoices", "parent_id", int(record["id"]))]
            if record.get("type") == "invoice"
            else []
        )
        out["amountNet"] = _number(sums.net)
        out["amount"] = _number(sums.gross)
        out["invoiceRows"] = [row_out(r) for r in rows]
        out["invoiceTransactions"] = [transaction_out(t) for t in paid]
        return out

    def next_name(kind: str, issue: date) -> str:
        prefix = "COR" if kind == "correction" else "INV"
        number = store.next_value(f"invoice_name:{kind}:{issue.year}")
        return f"{prefix}/{issue.year}/{number:04d}"

    def invoice_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in ("name", "currency", "comment", "orderNumber", "externalId", "tinType", "tinCountry", "tin"):
            if name in body:
                fields[name] = coerce_str(body[name], name, max_len=255)
        for name in ("issueDate", "saleDate", "dueDate"):
            if name in body:
                value = coerce_date(body[name], name)
                fields[name] = value.isoformat() if value else None
        if "type" in body and not partial:
            kind = coerce_str(body["type"], "type")
            if kind not in ("invoice", "correction") and enforces(sandbox, "invoice.type_known"):
                raise violation("type", "The value you selected is not a valid choice.")
            fields["type"] = kind or "invoice"
        if "client" in body:
            client_id = iri_id(body["client"], "clients", "client")
            if store.get("clients", client_id) is None:
                raise ApiError(400, {"title": "An error occurred", "detail": f'Item not found for "{body["client"]}".'})
            fields["client_id"] = client_id
        if "parent" in body and not partial and body["parent"] is not None:
            parent_id = iri_id(body["parent"], "invoices", "parent")
            if store.get("invoices", parent_id) is None:
                raise ApiError(400, {"title": "An error occurred", "detail": f'Item not found for "{body["parent"]}".'})
            fields["parent_id"] = parent_id
        if not partial:
            if "client_id" not in fields:
                raise violation("client", "This value should not be null.")
            if not fields.get("issueDate"):
                raise violation("issueDate", "This value should not be null.")
            fields.setdefault("type", "invoice")
            if (
                fields["type"] == "correction"
                and "parent_id" not in fields
                and enforces(sandbox, "invoice.correction_needs_parent")
            ):
                raise violation("parent", "A correction needs the invoice it corrects.")
            fields.setdefault("saleDate", fields["issueDate"])
            fields.setdefault("dueDate", fields["issueDate"])
            fields.setdefault("currency", "EUR")
            fields.setdefault("status", "created")
            fields.setdefault("generatedPdfExternalId", None)
            fields.setdefault("conversionRate", None)
        return fields

    async def invoices(request: Request) -> Response:
        if request.method == "POST":
            fields = invoice_fields(await body_of(request), partial=False)
            with store.transaction():
                if not fields.get("name"):
                    fields["name"] = next_name(fields["type"], date.fromisoformat(fields["issueDate"]))
                elif store_has_name(fields["name"]) and enforces(sandbox, "invoice.name_unique"):
                    raise violation("name", "This value is already used.")
                fields["createdAt"] = fields["updatedAt"] = _now()
                new = store.insert("invoices", fields)
                record = store.get("invoices", new)
            assert record is not None
            return served_json(sandbox, "invoice", invoice_out(record), 201)
        offset, limit, page = window(request)
        client = filtered(request, "client")
        key = filtered(request, "externalId")
        if key is not None:
            items = store.find("invoices", "externalId", key)
        elif client is not None:
            items = store.find("invoices", "client_id", iri_id(client, "clients", "client"))
        else:
            return collection(
                request,
                "invoice",
                "/invoices",
                [invoice_out(r) for r in store.page("invoices", offset, limit)],
                store.count("invoices"),
                page,
            )
        if client is not None and key is not None:
            items = [r for r in items if r.get("client_id") == iri_id(client, "clients", "client")]
        return collection(
            request, "invoice", "/invoices", [invoice_out(r) for r in items[offset : offset + limit]], len(items), page
        )

    def store_has_name(name: str) -> bool:
        return bool(store.find("invoices", "name", name, limit=1))

    async def invoice_item(request: Request) -> Response:
        record = store.get("invoices", record_id(request))
        if record is None:
            raise not_found()
        if request.method == "DELETE":
            with store.transaction():
                for row in store.find("invoice_rows", "invoice_id", int(record["id"])):
                    store.delete("invoice_rows", int(row["id"]))
                for item in store.find("invoice_transactions", "invoice_id", int(record["id"])):
                    store.delete("invoice_transactions", int(item["id"]))
                store.delete("invoices", int(record["id"]))
            return Response(status_code=204)
        if request.method == "PATCH":
            fields = invoice_fields(await body_of(request, patch=True), partial=True)
            with store.transaction():
                current = store.get("invoices", int(record["id"])) or record
                current.update(fields)
                if current.get("status") == "created":
                    current["status"] = "edited"
                current["updatedAt"] = _now()
                store.replace("invoices", int(current["id"]), current)
            record = current
        return served_json(sandbox, "invoice", invoice_out(record))

    def mark_sent(record: dict[str, Any]) -> None:
        with store.transaction():
            current = store.get("invoices", int(record["id"])) or record
            current["status"] = "sent"
            current["updatedAt"] = _now()
            store.replace("invoices", int(current["id"]), current)

    async def send_invoice(request: Request) -> Response:
        record = store.get("invoices", record_id(request))
        if record is None:
            raise not_found()
        body = await body_of(request)
        email = coerce_str(body.get("email"), "email")
        if (not email or "@" not in email) and enforces(sandbox, "invoice.send.email_required"):
            raise violation("email", "This value is not a valid email address.")
        mark_sent(record)
        sandbox.outbox.append({"via": "email", "invoice": record["id"], "to": email})
        return served_json(sandbox, "invoice", invoice_out(store.get("invoices", int(record["id"])) or record))

    async def send_e_invoice(request: Request) -> Response:
        body = await body_of(request)
        invoice_id = iri_id(body.get("invoice"), "invoices", "invoice")
        record = store.get("invoices", invoice_id)
        if record is None:
            raise ApiError(
                400, {"title": "An error occurred", "detail": f'Item not found for "{body.get("invoice")}".'}
            )
        client = store.get("clients", int(record["client_id"])) or {}
        if not (client.get("vatNumber") or client.get("tin")) and enforces(sandbox, "e_invoice.client_without_tin"):
            raise violation("client", "The client has no tax identification number: it cannot receive e-invoices.")
        mark_sent(record)
        sandbox.outbox.append({"via": "peppol", "invoice": record["id"]})
        return served_json(sandbox, "invoice", invoice_out(store.get("invoices", invoice_id) or record), 201)

    def of_invoice(
        request: Request, resource: str, path: str, kept: str, out: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        """A list of rows or transactions, all or (``?invoice=``) those of one invoice."""
        offset, limit, page = window(request)
        invoice = filtered(request, "invoice")
        if invoice is None:
            items, total = store.page(kept, offset, limit), store.count(kept)
        else:
            found = store.find(kept, "invoice_id", iri_id(invoice, "invoices", "invoice"))
            items, total = found[offset : offset + limit], len(found)
        return collection(request, resource, path, [out(r) for r in items], total, page)

    # --- rows ---------------------------------------------------------------------------------------
    def row_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if "productName" in body or not partial:
            name = coerce_str(body.get("productName"), "productName", max_len=255)
            if not name:
                raise violation("productName", "This value should not be blank.")
            fields["productName"] = name
        if "quantity" in body or not partial:
            quantity = coerce_decimal(body.get("quantity"), "quantity", comma=False)
            if quantity is None:
                raise violation("quantity", "This value should not be null.")
            if quantity <= 0 and enforces(sandbox, "invoice_row.quantity_positive"):
                raise violation("quantity", "This value should be positive.")
            fields["quantity"] = str(quantity)
        if "netPrice" in body or not partial:
            price = coerce_decimal(body.get("netPrice"), "netPrice", comma=False)
            if price is None:
                raise violation("netPrice", "This value should not be blank.")
            fields["netPrice"] = str(price)
        if "vatRate" in body or not partial:
            rate = coerce_str(body.get("vatRate"), "vatRate")
            if rate is None:
                raise violation("vatRate", "This value should not be blank.")
            number = totals.numeric_rate(rate)
            if rate not in _ZERO_RATED and (number is None or not 0 <= number <= 100):
                raise violation("vatRate", "The value you selected is not a valid choice.")
            fields["vatRate"] = rate
        if "netDiscountAmount" in body:
            discount = coerce_decimal(body["netDiscountAmount"], "netDiscountAmount", comma=False)
            fields["netDiscountAmount"] = str(discount) if discount is not None else None
        for name in ("unit", "classificationNumber", "vatExemptionReason"):
            if name in body:
                fields[name] = coerce_str(body[name], name, max_len=255)
        if not partial:
            fields.setdefault("unit", None)
            fields.setdefault("netDiscountAmount", None)
            fields.setdefault("classificationNumber", None)
            fields.setdefault("project", None)
        return fields

    async def rows(request: Request) -> Response:
        if request.method == "POST":
            body = await body_of(request)
            invoice_id = iri_id(body.get("invoice"), "invoices", "invoice")
            if store.get("invoices", invoice_id) is None:
                raise ApiError(
                    400, {"title": "An error occurred", "detail": f'Item not found for "{body.get("invoice")}".'}
                )
            fields = row_fields(body, partial=False)
            with store.transaction():
                new = store.insert("invoice_rows", {**fields, "invoice_id": invoice_id})
                record = store.get("invoice_rows", new)
            assert record is not None
            return served_json(sandbox, "invoice_row", row_out(record), 201)
        return of_invoice(request, "invoice_row", "/invoice-rows", "invoice_rows", row_out)

    async def row_item(request: Request) -> Response:
        record = store.get("invoice_rows", record_id(request))
        if record is None:
            raise not_found()
        if request.method == "PATCH":
            fields = row_fields(await body_of(request, patch=True), partial=True)
            with store.transaction():
                current = store.get("invoice_rows", int(record["id"])) or record
                current.update(fields)
                store.replace("invoice_rows", int(current["id"]), current)
            record = current
        return served_json(sandbox, "invoice_row", row_out(record))

    # --- transactions -------------------------------------------------------------------------------
    async def transactions(request: Request) -> Response:
        if request.method == "POST":
            body = await body_of(request)
            invoice_id = iri_id(body.get("invoice"), "invoices", "invoice")
            if store.get("invoices", invoice_id) is None:
                raise ApiError(
                    400, {"title": "An error occurred", "detail": f'Item not found for "{body.get("invoice")}".'}
                )
            amount = coerce_decimal(body.get("amount"), "amount", comma=False)
            moment = coerce_str(body.get("date"), "date")
            if not moment:
                raise violation("date", "This value should not be null.")
            try:
                datetime.fromisoformat(moment.replace("Z", "+00:00"))
            except ValueError:
                raise violation("date", "This value is not a valid datetime.") from None
            stamp = _now()
            fields = {
                "invoice_id": invoice_id,
                "transaction": None,
                "amount": str(amount) if amount is not None else None,
                "date": moment,
                "createdAt": stamp,
                "updatedAt": stamp,
            }
            with store.transaction():
                new = store.insert("invoice_transactions", fields)
                record = store.get("invoice_transactions", new)
            assert record is not None
            return served_json(sandbox, "invoice_transaction", transaction_out(record), 201)
        return of_invoice(
            request, "invoice_transaction", "/invoice-transactions", "invoice_transactions", transaction_out
        )

    async def transaction_item(request: Request) -> Response:
        record = store.get("invoice_transactions", record_id(request))
        if record is None:
            raise not_found()
        if request.method == "DELETE":
            store.delete("invoice_transactions", int(record["id"]))
            return Response(status_code=204)
        return served_json(sandbox, "invoice_transaction", transaction_out(record))

    # --- payment methods (the account's own cards) ----------------------------------------------------
    def method_out(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "@id": f"/payment-methods/{record['externalId']}",
            "@type": "PaymentMethod",
            **record,
            "id": record["externalId"],
        }

    async def payment_methods(request: Request) -> Response:
        offset, limit, page = window(request)
        items = [method_out(r) for r in store.page("payment_methods", offset, limit)]
        return collection(request, "payment_method", "/payment-methods", items, store.count("payment_methods"), page)

    def find_method(request: Request) -> dict[str, Any]:
        wanted = request.path_params["pm"]
        for record in store.all("payment_methods"):
            if record["externalId"] == wanted:
                return record
        raise not_found()

    async def payment_method_item(request: Request) -> Response:
        record = find_method(request)
        if request.method == "DELETE":
            # Soft delete (seed: "Check if the entity has been soft deleted").
            record.update(deleted=True, deletedAt=_now())
            store.replace("payment_methods", int(record["id"]), record)
            return Response(status_code=204)
        return served_json(sandbox, "payment_method", method_out(record))

    # --- the tenant's organization (what the n8n node lists) --------------------------------------------
    async def organizations(request: Request) -> Response:
        _, _, page = window(request)
        items = [{"@id": "/organizations/1", "@type": "Organization", "id": 1, "name": sandbox.organization}]
        return collection(request, "organization", "/organizations", items if page == 1 else [], 1, page)

    # --- errors -------------------------------------------------------------------------------------
    async def api_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, FieldError):
            exc = violation(exc.field, exc.message)
        assert isinstance(exc, ApiError)
        resource = "violation_list" if exc.status == 422 else "auth_error" if exc.status == 401 else "error"
        body = served(sandbox, resource, exc.body)
        kind = "application/json" if exc.status == 401 else "application/problem+json"
        return _json(body, exc.status, kind)

    routes: list[Route] = []
    table: list[tuple[str, Handler, list[str], bool]] = [
        ("/login", login, ["POST"], False),
        ("/clients", clients, ["GET", "POST"], True),
        ("/clients/search", clients, ["GET"], True),
        ("/clients/{id:int}", client_item, ["GET", "PATCH"], True),
        ("/invoices", invoices, ["GET", "POST"], True),
        ("/invoices/{id:int}", invoice_item, ["GET", "PATCH", "DELETE"], True),
        ("/invoices/{id:int}/send", send_invoice, ["POST"], True),
        ("/e-invoices/send", send_e_invoice, ["POST"], True),
        ("/invoice-rows", rows, ["GET", "POST"], True),
        ("/invoice-rows/{id:int}", row_item, ["GET", "PATCH"], True),
        ("/invoice-transactions", transactions, ["GET", "POST"], True),
        ("/invoice-transactions/{id:int}", transaction_item, ["GET", "DELETE"], True),
        ("/organizations", organizations, ["GET"], True),
        ("/payment-methods", payment_methods, ["GET"], True),
        ("/payment-methods/{pm}", payment_method_item, ["GET", "DELETE"], True),
    ]
    for path, handler, methods, needs_token in table:
        endpoint = authed(handler) if needs_token else handler
        for prefix in ("", "/api"):  # https://api.flowtly.eu/... and https://app.flowtly.com/api/...
            routes.append(Route(prefix + path, endpoint, methods=methods))
    return Starlette(routes=routes, exception_handlers={ApiError: api_error, FieldError: api_error})


def _number(value: Any) -> Any:
    """A JSON number for a money or quantity string (documented as ``number``), exact in its text."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _strip_ld(item: Any) -> Any:
    if isinstance(item, dict):
        return {k: _strip_ld(v) for k, v in item.items() if not k.startswith("@")}
    if isinstance(item, list):
        return [_strip_ld(v) for v in item]
    return item


def _json(content: Any, status: int = 200, media_type: str = "application/ld+json") -> Response:
    return Response(
        json.dumps(content, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8" if "charset" not in media_type else media_type,
    )
