"""The sandbox's ASGI app: authentication, routing of ``/api/v1/<domain>[/<id>[/<sub>[/<id>]]]``, sending
and document downloads. The domains themselves live in ``_sandbox_clients`` and ``_sandbox_invoices``."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit import belgium
from invoicekit.sandbox import Sandbox, enforces, served, serves
from invoicekit_eenvoudigfactureren import _sandbox_clients as sc
from invoicekit_eenvoudigfactureren import _sandbox_invoices as si
from invoicekit_eenvoudigfactureren._sandbox_coda import import_coda, parse_coda
from invoicekit_eenvoudigfactureren._sandbox_common import (
    ACCOUNT,
    KEY_FIELDS,
    LAYOUT,
    TAX_RATES,
    Env,
    is_empty,
    record_id,
    shadow,
    timestamp,
)
from invoicekit_eenvoudigfactureren._sandbox_query import apply_list_query, comparable, list_window, narrows, projected
from invoicekit_eenvoudigfactureren._sandbox_wire import (
    MAX_BODY,
    ApiError,
    Call,
    SyntaxQuirk,
    read_call,
    render,
    render_error,
    render_quirk,
)
from invoicekit_eenvoudigfactureren._sandbox_xml import ITEM_NAMES

__all__ = ["build_app"]

log = logging.getLogger("invoicekit.sandbox.eenvoudigfactureren")
API_ROOT = "/api/v1"
Answer = tuple[int, Any, str]  # status, data, XML root


def _message(status: int, text: str, **extra: Any) -> Answer:
    return status, {"success": text, **extra}, "response"


def _created(domain: str, singular: str, env: Env, new_id: int) -> Answer:
    # {"success":"invoice created","invoice_id":1001,"uri":".../invoices/1001"} (EF help; efAPI.java).
    return _message(201, f"{singular} created", **{f"{singular}_id": new_id, "uri": env.uri(domain, new_id)})


_KEY_FILTER = re.compile(r"^(?P<field>[a-z_]+?)(?:=|__eq__)(?P<value>[^~,][^,]*)$")


def listed(
    env: Env, collection: str, query: Mapping[str, str], render: Callable[[Env, dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """What a list GET answers. A plain page (no search, filter or sort: the adapter's listing) is read from
    the store and only its records rendered; anything else renders what :func:`narrowed` keeps and applies
    the query to that, as EF does."""
    if not narrows(query):
        window = list_window(query)
        page = env.store.page(collection, window.offset, window.limit)
        return projected([render(env, record) for record in page], query)
    paged = _PAGED_FILTERS.get(collection)
    match = _EQUALS.match(query.get("filter", "").strip())
    if (
        paged is not None
        and match is not None
        and match["field"] == paged
        and not query.get("search", "").strip()
        and query.get("sort", "").strip() in ("", _ID_FIELDS[collection])
    ):
        # The adapter's listing (filter=type=invoice, sort=invoice_id): one page of the index on the stored
        # field, in id order, which is what the sort asks for. The filter still runs on what is rendered.
        window = list_window(query)
        page = env.store.find(collection, paged, match["value"], offset=window.offset, limit=window.limit)
        rendered = [render(env, record) for record in page]
        return apply_list_query(rendered, {**query, "skip": "0", "take": str(len(rendered))})
    return apply_list_query([render(env, record) for record in narrowed(env, collection, query)], dict(query))


# Fields a lone equality filter pages through the store's index on (their stored value is what is served, in
# the values EF uses: type is "invoice" or "creditnote"), and each domain's id field, the store's order.
_PAGED_FILTERS = {"invoices": "type"}
_ID_FIELDS = {"invoices": "invoice_id", "clients": "client_id"}
_EQUALS = re.compile(r"^(?P<field>[a-z_]+?)(?:=|__eq__)(?P<value>[a-z]+)$")


def narrowed(env: Env, collection: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The records a list GET has to render. A lone ``filter=<key field>=<value>`` (or ``__eq__``) is answered
    from the index on the field's comparable copy, so a lookup by key costs its matches rather than a render
    of every record; the filter is still applied to what is rendered, so the answer is a full scan's."""
    match = _KEY_FILTER.match(query.get("filter", "").strip())
    if match and KEY_FIELDS.get(collection) == match["field"]:
        # The exact value too: a record written to the store directly (a test, an older --db) has no copy.
        exact = env.store.find(collection, match["field"], match["value"])
        loose = env.store.find(collection, shadow(match["field"]), comparable(match["value"]))
        return sorted({int(r["id"]): r for r in [*exact, *loose]}.values(), key=lambda r: int(r["id"]))
    return list(env.store.all(collection))


# --- clients ---------------------------------------------------------------------------------------------


def _clients(env: Env, call: Call) -> Answer:
    segments = call.segments
    store = env.store
    if len(segments) == 1:
        if call.method == "GET":
            return 200, listed(env, sc.CLIENTS, call.query, sc.render_client), "clients"
        if call.method == "POST":
            if call.flag("bulk"):
                return _bulk_clients(env, call)
            record = sc.apply_client(env, {}, call.body or {}, create=True, replace=False)
            if not record.get("number"):
                record["number"] = sc.next_client_number(env)
            new_id = store.insert(sc.CLIENTS, record)
            return _created("clients", "client", env, new_id)
        raise ApiError(405, "method not allowed")
    record = sc.find_client(env, segments[1])
    client_id = int(record["id"])
    if len(segments) == 2:
        if call.method == "GET":
            return 200, _project(sc.render_client(env, record), call), "client"
        if call.method in ("POST", "PUT"):
            updated = sc.apply_client(env, record, call.body or {}, create=False, replace=call.method == "PUT")
            store.replace(sc.CLIENTS, client_id, updated)
            return _message(200, "client updated")
        if call.method == "DELETE":
            store.delete(sc.CLIENTS, client_id)
            return _message(200, "client removed")
        raise ApiError(405, "method not allowed")
    sub = segments[2]
    if sub == "contacts":
        return _contacts(env, call, record)
    if sub == "custom_values":
        return _custom_values(env, call, record)
    if sub == "details":
        # "Dit gegeven is niet langer beschikbaar bij nieuwe accounts" (seed 004): a new account has none.
        if call.method == "GET" and len(segments) == 3:
            return 200, [], "details"
        raise ApiError(404, "detail_id unknown")
    raise ApiError(404, f"{sub} unknown")


def _bulk_clients(env: Env, call: Call) -> Answer:
    # POST /clients?bulk: up to 100 clients; one with a client_id is updated, the others created.
    body = call.body if isinstance(call.body, list) else []
    if not body or len(body) > 100:
        raise ApiError(400, "bulk must hold 1 to 100 clients")
    results = []
    for index, item in enumerate(body):
        try:
            if isinstance(item, dict) and str(item.get("client_id") or "").isdigit():
                record = sc.find_client(env, int(item["client_id"]))
                updated = sc.apply_client(env, record, item, create=False, replace=False)
                env.store.replace(sc.CLIENTS, int(record["id"]), updated)
                results.append({"success": "client updated", "client_id": int(record["id"])})
            else:
                record = sc.apply_client(env, {}, item, create=True, replace=False)
                record.setdefault("number", sc.next_client_number(env))
                new_id = env.store.insert(sc.CLIENTS, record)
                results.append({"success": "client created", "client_id": new_id, "uri": env.uri("clients", new_id)})
        except ApiError as exc:
            results.append({"error": f"{index}: {exc.message}"})
    return 200, results, "responses"


def _contacts(env: Env, call: Call, client: dict[str, Any]) -> Answer:
    client_id = int(client["id"])
    contacts: list[dict[str, Any]] = list(client.get("contacts", []))
    if len(call.segments) == 3:
        if call.method == "GET":
            items = [sc.render_contact(env, client_id, c) for c in contacts]
            return 200, apply_list_query(items, call.query), "contacts"
        if call.method == "POST":
            contact = {"contact_id": env.store.next_value("contact_id"), **sc.contact_input(call.body)}
            client["contacts"] = [*contacts, contact]
            env.store.replace(sc.CLIENTS, client_id, client)
            return _created(f"clients/{client_id}/contacts", "contact", env, int(contact["contact_id"]))
        raise ApiError(405, "method not allowed")
    contact_id = record_id(call.segments[3], "contact")
    index = next((i for i, c in enumerate(contacts) if int(c["contact_id"]) == contact_id), None)
    if index is None:
        raise ApiError(404, "contact_id unknown")
    if call.method == "GET":
        return 200, sc.render_contact(env, client_id, contacts[index]), "contact"
    if call.method in ("POST", "PUT"):
        base = {"contact_id": contact_id} if call.method == "PUT" else contacts[index]
        contacts[index] = {**sc.contact_input(call.body, existing=base), "contact_id": contact_id}
        client["contacts"] = contacts
        env.store.replace(sc.CLIENTS, client_id, client)
        return _message(200, "contact updated")
    if call.method == "DELETE":
        del contacts[index]
        client["contacts"] = contacts
        env.store.replace(sc.CLIENTS, client_id, client)
        return _message(200, "contact removed")
    raise ApiError(405, "method not allowed")


def _custom_values(env: Env, call: Call, client: dict[str, Any]) -> Answer:
    client_id = int(client["id"])
    values: dict[str, str] = dict(client.get("custom_values", {}))
    if len(call.segments) == 3:
        if call.method == "GET":
            return 200, sc.render_custom_values(env, values), "custom_values"
        if call.method in ("POST", "PUT"):
            # "name: verplicht op te geven bij toevoegen of wijzigen van de waarde van dit veld" (seed 004).
            sent = sc.custom_values_input(call.body if isinstance(call.body, list) else [call.body], env)
            values = sent if call.method == "PUT" else {**values, **sent}
            client["custom_values"] = {k: v for k, v in values.items() if v != ""}
            env.store.replace(sc.CLIENTS, client_id, client)
            return _message(200, "custom_values updated")
        raise ApiError(405, "method not allowed")
    name = call.segments[3]
    if name not in env.custom_fields():
        raise ApiError(404, f"custom_value {name} unknown")
    if call.method == "GET":
        return (
            200,
            {"name": name, "description": env.custom_fields()[name], "value": values.get(name, "")},
            "custom_value",
        )
    if call.method in ("POST", "PUT"):
        body = call.body if isinstance(call.body, dict) else {}
        sent = sc.custom_values_input([{**body, "name": name}], env)
        client["custom_values"] = {k: v for k, v in {**values, **sent}.items() if v != ""}
        env.store.replace(sc.CLIENTS, client_id, client)
        return _message(200, "custom_value updated")
    if call.method == "DELETE":
        values.pop(name, None)
        client["custom_values"] = values
        env.store.replace(sc.CLIENTS, client_id, client)
        return _message(200, "custom_value removed")
    raise ApiError(405, "method not allowed")


# --- invoices --------------------------------------------------------------------------------------------


def _invoices(env: Env, call: Call) -> Answer | Response:
    segments = call.segments
    store = env.store
    if len(segments) == 1:
        if call.method == "GET":
            return 200, listed(env, si.INVOICES, call.query, si.render_invoice), "invoices"
        if call.method == "POST":
            record = si.apply_invoice(env, {}, call.body or {}, create=True, replace=False)
            new_id = store.insert(si.INVOICES, record)
            return _created("invoices", "invoice", env, new_id)
        raise ApiError(405, "method not allowed")
    record = si.find_invoice(env, segments[1])
    invoice_id = int(record["id"])
    if len(segments) == 2:
        if call.method == "GET":
            if call.response_format not in ("json", "xml"):
                return _download(env, call, record)
            return 200, _project(si.render_invoice(env, record), call), "invoice"
        if call.method == "POST" and call.flag("send_accountant"):
            return _send_accountant(env, record, call.body)
        if call.method == "POST" and (call.flag("send_peppol") or call.flag("send_mail")):
            body = call.body if isinstance(call.body, dict) else {}
            methods: dict[str, Any] = {"peppol": {}} if call.flag("send_peppol") else {"email": body}
            return _send(env, record, methods)
        if call.method in ("POST", "PUT"):
            updated = si.apply_invoice(env, record, call.body or {}, create=False, replace=call.method == "PUT")
            store.replace(si.INVOICES, invoice_id, updated)
            return _message(200, "invoice updated")
        if call.method == "DELETE":
            store.delete(si.INVOICES, invoice_id)
            return _message(200, "invoice removed")
        raise ApiError(405, "method not allowed")
    sub = segments[2]
    if sub == "send" and call.method == "POST":
        body = call.body if isinstance(call.body, dict) else {}
        requested = body.get("methods")
        if is_empty(requested) or not isinstance(requested, dict):
            raise ApiError(400, "methods is required")
        return _send(env, record, requested)
    if sub == "sendaccountant" and call.method == "POST":
        return _send_accountant(env, record, call.body)
    if sub == "sendemail" and call.method == "POST":
        return _send(env, record, {"email": call.body if isinstance(call.body, dict) else {}})
    if sub == "items":
        return _items(env, call, record)
    if sub == "payments":
        return _payments(env, call, record)
    if sub == "events" and call.method == "GET":
        items = [si.render_event(env, invoice_id, e) for e in record.get("events", [])]
        return 200, apply_list_query(items, call.query), "events"
    raise ApiError(404, f"{sub} unknown")


def _items(env: Env, call: Call, invoice: dict[str, Any]) -> Answer:
    invoice_id = int(invoice["id"])
    items: list[dict[str, Any]] = list(invoice.get("items", []))
    tax_included = invoice.get("tax_included") == "yes"
    if len(call.segments) == 3:
        if call.method == "GET":
            rendered = [si.render_item(env, invoice_id, i) for i in items]
            return 200, apply_list_query(rendered, call.query), "items"
        if call.method == "POST":
            item = {"item_id": env.store.next_value("item_id"), **si.item_input(call.body, tax_included=tax_included)}
            invoice["items"] = [*items, item]
            _retype(invoice)
            env.store.replace(si.INVOICES, invoice_id, invoice)
            return _created(f"invoices/{invoice_id}/items", "item", env, int(item["item_id"]))
        raise ApiError(405, "method not allowed")
    item_id = record_id(call.segments[3], "item")
    index = next((i for i, item in enumerate(items) if int(item["item_id"]) == item_id), None)
    if index is None:
        raise ApiError(404, "item_id unknown")
    if call.method == "GET":
        return 200, si.render_item(env, invoice_id, items[index]), "item"
    if call.method in ("POST", "PUT"):
        base = {} if call.method == "PUT" else items[index]
        items[index] = {**si.item_input(call.body, tax_included=tax_included, existing=base), "item_id": item_id}
    elif call.method == "DELETE":
        if len(items) == 1:
            raise ApiError(400, "items cannot be empty")
        del items[index]
    else:
        raise ApiError(405, "method not allowed")
    invoice["items"] = items
    _retype(invoice)
    env.store.replace(si.INVOICES, invoice_id, invoice)
    return _message(200, "item removed" if call.method == "DELETE" else "item updated")


def _retype(invoice: dict[str, Any]) -> None:
    invoice["type"] = "creditnote" if si.totals(invoice)["total_with_tax"] < 0 else "invoice"


def _payments(env: Env, call: Call, invoice: dict[str, Any]) -> Answer:
    invoice_id = int(invoice["id"])
    payments: list[dict[str, Any]] = list(invoice.get("payments", []))
    if len(call.segments) == 3:
        if call.method == "GET":
            rendered = [si.render_payment(env, invoice_id, p) for p in payments]
            return 200, apply_list_query(rendered, call.query), "payments"
        if call.method == "POST":
            payment = {"payment_id": env.store.next_value("payment_id"), **si.payment_input(env, call.body, invoice)}
            invoice["payments"] = [*payments, payment]
            env.store.replace(si.INVOICES, invoice_id, invoice)
            return _created(f"invoices/{invoice_id}/payments", "payment", env, int(payment["payment_id"]))
        raise ApiError(405, "method not allowed")
    payment_id = record_id(call.segments[3], "payment")
    index = next((i for i, p in enumerate(payments) if int(p["payment_id"]) == payment_id), None)
    if index is None:
        raise ApiError(404, "payment_id unknown")
    if call.method == "GET":
        return 200, si.render_payment(env, invoice_id, payments[index]), "payment"
    if call.method == "DELETE":
        del payments[index]
        invoice["payments"] = payments
        env.store.replace(si.INVOICES, invoice_id, invoice)
        return _message(200, "payment removed")
    raise ApiError(405, "method not allowed")


def _recipients(env: Env, client: dict[str, Any], spec: str) -> list[str]:
    """EF's recipient words (an e-mail address, a contact_id, myself, main_contact, first_contact,
    all_contacts, space-separated) resolved to addresses."""
    contacts = [c for c in client.get("contacts", []) if c.get("email_address")]
    found: list[str] = []
    for word in spec.split():
        if "@" in word:
            found.append(word)
        elif word == "myself":
            found.append(str(ACCOUNT["email_address"]))
        elif word == "main_contact":
            main = client.get("email_address") or (contacts[0]["email_address"] if contacts else "")
            found += [main] if main else []
        elif word == "first_contact":
            found += [contacts[0]["email_address"]] if contacts else []
        elif word == "all_contacts":
            found += [c["email_address"] for c in contacts]
        elif word.isdigit():
            found += [c["email_address"] for c in contacts if int(c["contact_id"]) == int(word)]
        else:
            raise ApiError(400, "recipient invalid")
    return found


def _log_event(env: Env, invoice: dict[str, Any], kind: str, content: str, recipients: list[str]) -> None:
    # An invoice's events carry type, date, content and recipients (hvr4 efInvoicesEventsBean). Only
    # "email sent" is seen in a real answer; the other type names are the sandbox's own.
    invoice.setdefault("events", []).append(
        {
            "event_id": env.store.next_value("event_id"),
            "date": timestamp(),
            "type": kind,
            "content": content,
            "recipients": recipients,
        }
    )


def _tag(invoice: dict[str, Any], tag: str) -> None:
    if tag not in invoice.setdefault("tags", []):
        invoice["tags"].append(tag)


# The mail text of the 2017 JSON's "email sent" event (hvierendeels/efAPI json/invoice_good.txt).
_DEFAULT_MAIL = "Beste,\n\nIn bijlage vindt u uw factuur terug.\n\nMet vriendelijke groeten."


def _send(env: Env, invoice: dict[str, Any], methods: dict[str, Any]) -> Answer:
    unknown = set(methods) - {"peppol", "email"}
    if unknown:
        raise ApiError(400, "methods invalid")
    client = env.store.get("clients", int(invoice["client_id"])) or {}
    results: dict[str, str] = {}
    if "peppol" in methods:
        tax_code = str(client.get("tax_code") or "").strip()
        # A Peppol send needs the client's VAT number, its Peppol address (assumed, see provenance.toml).
        if not tax_code and env.enforces("send.peppol.tax_code_required"):
            raise ApiError(400, "client tax_code is required")
        participant = ""
        if tax_code:
            try:
                vat = belgium.validate_vat(tax_code)
            except ValueError:
                vat = ""
            if not vat and env.enforces("send.peppol.tax_code_invalid"):
                raise ApiError(400, "client tax_code invalid")
            participant = f"0208:{vat[2:]}" if vat.startswith("BE") else f"9925:{vat}" if vat else ""
        _log_event(env, invoice, "peppol sent", f"Verzonden via Peppol {participant}".strip(), [])
        if env.serves_behaviour("invoice.tags.after_send"):
            _tag(invoice, "peppol")
        results["peppol"] = "sent"
    if "email" in methods:
        options = methods["email"] if isinstance(methods["email"], dict) else {}
        recipients = options.get("recipients")
        words = recipients if isinstance(recipients, list) else [recipients] if recipients else []
        spec = " ".join(str(r) for r in words) or str(options.get("recipient") or "")
        if not spec:
            # "Je moet bij een aanvraag tenminste 1 ontvanger meegeven" (EF help, sending by e-mail).
            raise ApiError(400, "recipient is required")
        addresses = _recipients(env, client, spec)
        if not addresses:
            raise ApiError(400, "recipient invalid")
        # The 2017 JSON of an invoice (hvierendeels/efAPI json/invoice_good.txt) shows an "email sent" event
        # whose content is the mail's text and whose recipients are {name, email_address}.
        message = str(options.get("message") or _DEFAULT_MAIL)
        _log_event(env, invoice, "email sent", message, addresses)
        if env.serves_behaviour("invoice.tags.after_send"):
            _tag(invoice, "email")
        results["email"] = "sent"
    env.store.replace(si.INVOICES, int(invoice["id"]), invoice)
    # The answer to a send is a success message, like the others (assumed: no source shows it).
    return _message(200, "invoice sent", methods=results)


def _send_accountant(env: Env, invoice: dict[str, Any], body: Any) -> Answer:
    """``POST /invoices/{id}/sendaccountant`` (download.rb mark_sent_accountant, form ``mark_as_sent=1``):
    marks the invoice as sent to the accountant, which sets its ``accountant`` tag, the one the tool's
    ``tag: not:accountant`` filter skips next time (eenvoudigfactureren-tools README)."""
    options = body if isinstance(body, dict) else {}
    mark_only = str(options.get("mark_as_sent", "")).strip().lower() in ("1", "yes", "true")
    content = "Gemarkeerd als verzonden naar boekhouder" if mark_only else "Verzonden naar boekhouder"
    _log_event(env, invoice, "accountant sent", content, [])
    _tag(invoice, "accountant")
    env.store.replace(si.INVOICES, int(invoice["id"]), invoice)
    return _message(200, "invoice sent to accountant")


_DOWNLOADS = {
    "pdf": ("application/pdf", "pdf"),
    "peppolbis3": ("application/xml", "xml"),
    "peppol": ("application/xml", "xml"),
    "ublbe": ("application/xml", "xml"),
    "efff": ("application/xml", "xml"),
    "ubl": ("application/xml", "xml"),
}


def _download(env: Env, call: Call, record: dict[str, Any]) -> Response:
    fmt = call.response_format
    if fmt not in _DOWNLOADS or not env.serves_endpoint(f"GET /api/v1/invoices/{{id}}?format={fmt}"):
        raise ApiError(400, f"format {fmt} unknown")
    media_type, extension = _DOWNLOADS[fmt]
    if fmt == "pdf":
        from invoicekit_eenvoudigfactureren._sandbox_pdf import invoice_pdf

        content = invoice_pdf(env, record)
    else:
        from invoicekit_eenvoudigfactureren._sandbox_ubl import invoice_ubl

        content = invoice_ubl(env, record)
    kind = "creditnota" if record.get("type") == "creditnote" else "factuur"
    # download.rb reads the file name from Content-Disposition (filename="..."); the name itself is assumed.
    filename = f"{kind}-{record.get('number') or record['id']}.{extension}"
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


# --- the rest --------------------------------------------------------------------------------------------


def _project(data: dict[str, Any], call: Call) -> dict[str, Any]:
    wanted = [name.strip() for name in call.query.get("fields", "").split(",") if name.strip()]
    return {name: data[name] for name in wanted if name in data} if wanted else data


def _accounts(env: Env, call: Call) -> Answer:
    if call.segments[1:] != ["current"] or call.method != "GET":
        raise ApiError(404, "account_id unknown")
    return 200, _project({**ACCOUNT, "last_login": timestamp()}, call), "account"


def _settings(env: Env, call: Call) -> Answer:
    if call.method != "GET":
        raise ApiError(405, "method not allowed")
    taxes = {f"tax{i}": {"rate": int(rate)} for i, rate in enumerate(TAX_RATES, start=1)}
    fields = [{"name": k, "description": v} for k, v in env.custom_fields().items()]
    return 200, _project({"taxes": taxes, "custom_fields": fields}, call), "settings"


def _layouts(env: Env, call: Call) -> Answer:
    # The WooCommerce plugin lists the account's layouts to pick one (general-settings.php: layout_id, name);
    # the sandbox account has one, with the id of seed 004's example.
    if call.method != "GET" or len(call.segments) != 1:
        raise ApiError(404, "layout_id unknown")
    return 200, apply_list_query([dict(LAYOUT)], call.query), "layouts"


_DOMAINS: dict[str, Callable[[Env, Call], Answer | Response]] = {
    "layouts": _layouts,
    "clients": _clients,
    "invoices": _invoices,
    "accounts": _accounts,
    "settings": _settings,
}


def _shape(sandbox: Sandbox, root: str, data: Any) -> Any:
    """Every answer passes through provenance (the kit's ``served``): an unlisted field is a sandbox bug,
    an assumed one is left out in strict mode. A list's items are the resource its XML items are named after."""
    return served(sandbox, ITEM_NAMES[root] if isinstance(data, list) else root, data)


def _endpoint_name(call: Call) -> str:
    """The endpoint as provenance.toml names it: ``GET /api/v1/invoices/{id}/payments``, flags after ``?``."""
    parts = []
    for index, segment in enumerate(call.segments):
        custom_value = index == 3 and call.segments[2] == "custom_values"
        parts.append("{name}" if custom_value else "{id}" if segment.isdigit() else segment)
    name = f"{call.method} {API_ROOT}/" + "/".join(parts)
    for flag in ("bulk", "send_peppol", "send_mail", "send_accountant"):
        if call.flag(flag):
            name += f"?{flag}"
    return name


def api_segments(path: str) -> list[str] | None:
    """The path below /api/v1 as segments, or None when it is not an API path.

    Empty segments are dropped: the vendor tool asks for ``//api/v1/invoices`` (download.rb joins a base that
    ends in "/" with a path that starts with one). A repeated ``api/v1`` is dropped too: the WooCommerce
    plugin has asked for ``/api/v1/api/v1/settings?fields=taxes`` since 2020 (generation.php tax_rates,
    client.php get_url) and names that path in its own log skip-list, so the real API answers it.
    """
    segments = [segment for segment in path.split("/") if segment]
    if segments[:2] != ["api", "v1"]:
        return None
    while segments[:2] == ["api", "v1"]:
        segments = segments[2:]
    return segments


def _authenticated(sandbox: Sandbox, request: Request) -> bool:
    if sandbox.accepts(request.headers.get("x-api-key")):
        return True
    # Basic authentication with a user's e-mail address and password (EF help, "Basic authentication"), used by
    # the 2017 Java client and the WooCommerce plugin's older settings. The sandbox has no users: it takes its
    # API key as the password (assumed).
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not serves(sandbox, "behaviour", "auth.basic"):
        return False
    try:
        _, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return sandbox.accepts(password)


def build_app(sandbox: Sandbox, today: Callable[[], date] = date.today) -> Starlette:
    """The EF API app for ``sandbox`` (the ``app_factory`` of :class:`invoicekit.sandbox.Sandbox`)."""
    provenance = sandbox.provenance
    assert provenance is not None

    async def endpoint(request: Request) -> Response:
        fmt: Any = "json" if "application/json" in request.headers.get("accept", "").lower() else "xml"
        if request.query_params.get("format") in ("json", "xml"):
            fmt = request.query_params["format"]
        if [part for part in request.url.path.split("/") if part] in (["coda", "parse"], ["coda", "import"]):
            return await coda(request, fmt)
        segments = api_segments(request.url.path)
        if segments is None:
            # Assumption: outside /api/v1 the site answers a plain 404 page, not the API's error shape.
            return Response("Not Found", status_code=404, media_type="text/plain")
        if not _authenticated(sandbox, request):
            # A missing or wrong credential is a 401 (hvr4: "Bad credentials give 401"); the challenge header
            # lets a client that does not send Basic up front retry with it (assumed).
            response = render_error(401, "authentication failed", fmt)
            response.headers["www-authenticate"] = 'Basic realm="EenvoudigFactureren"'
            return response
        account = request.headers.get("x-accountid")
        # Assumption: an X-AccountId the key has no access to is a 403, EF's "access denied" status.
        if account and account != ACCOUNT["account_id"] and enforces(sandbox, "account.other"):
            return render_error(403, "access denied", fmt)
        base = f"{request.url.scheme}://{request.url.netloc}{API_ROOT}"
        try:
            call = await read_call(request, base, segments)
        except SyntaxQuirk as quirk:
            return render_quirk(quirk, quirk.body_format)
        except ApiError as exc:
            return render_error(exc.status, exc.message, fmt)
        env = Env(sandbox, base, today)
        handler = _DOMAINS.get(call.segments[0]) if call.segments else None
        try:
            if handler is None or not env.serves_endpoint(_endpoint_name(call)):
                raise ApiError(404, "domain unknown")
            with sandbox.store.transaction():
                answer = handler(env, call)
        except ApiError as exc:
            return render_error(exc.status, exc.message, call.wants)
        if isinstance(answer, Response):
            return answer
        status, data, root = answer
        shaped = _shape(sandbox, root, data)
        return render(shaped, root, call.wants, status, provenance)

    async def coda(request: Request, fmt: Any) -> Response:
        # importcoda.rb: parse without a key (find_account), import with the account's key (import_file).
        action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if request.method != "POST":
            return render_error(405, "method not allowed", fmt)
        if action == "import" and not _authenticated(sandbox, request):
            return render_error(401, "authentication failed", fmt)
        body = await request.body()
        if len(body) > MAX_BODY:
            return render_error(400, "request too large", fmt)
        try:
            with sandbox.store.transaction():
                env = Env(sandbox, "", today)
                if action == "parse":
                    data: Any = parse_coda(body)
                    root = "coda_statements"
                else:
                    data, root = import_coda(env, body), "coda_import"
        except ApiError as exc:
            return render_error(exc.status, exc.message, fmt)
        return render(_shape(sandbox, root, data), root, fmt, 200, provenance)

    methods = ["GET", "POST", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
