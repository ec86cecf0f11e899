"""Clients in the Cashaca sandbox: validation, the inline client of a document, and the /clients routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from invoicekit.belgium import InvalidNumber, is_belgian_vat, validate_vat
from invoicekit.sandbox import Sandbox, enforces, utc_timestamp
from invoicekit_cashaca._sandbox_http import (
    CLIENTS,
    COMPANY_ID,
    Errors,
    Params,
    api_route,
    as_int,
    blank,
    json_response,
    not_found,
    page_of,
    read_params,
    shaped,
    stored_page,
    wrapped,
)

__all__ = ["NAME_KEY", "ResolvedClient", "client_routes", "render_client", "resolve_client", "with_name_key"]

#: A stored client's casefolded name, indexed: how a document's inline client is matched by name (never served).
NAME_KEY = "name_casefold"

# type_id (apipie docs): 0 BE private person or body without VAT number, 1 BE company, 2 company in another
# EU country, 3 customer outside the EU, 4 private person in another EU country.
# All five, as POST /sales documents (seed cashaca-api-v2-sales.txt) and the v1 invoice page lists.
TYPE_IDS = (0, 1, 2, 3, 4)
BE_COMPANY, EU_COMPANY = 1, 2
LANGUAGES = ("nl", "fr", "en")
_TEXT_FIELDS = ("name", "contact", "email", "tel", "street", "postcode", "city", "country", "reference", "website")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _validated(sandbox: Sandbox, data: Params, errors: Errors, *, partial: bool) -> Params:
    """Clean client params, adding Rails-style errors; ``partial`` is an update, where every field is optional."""
    if "btw_number" in data and "vat_number" not in data:
        # The v1 name (seed cashaca-api-v1-invoice-create.txt); assumed still accepted by v2.
        data = {**data, "vat_number": data["btw_number"]}
    fields: Params = {}
    for name in _TEXT_FIELDS:
        if name in data:
            fields[name] = None if blank(data[name]) else str(data[name]).strip()
    for name in ("remarks", "business_relation_since"):
        if name in data:
            fields[name] = data[name]

    if "type_id" in data or not partial:
        type_id = as_int(data.get("type_id"), "type_id", errors)
        if type_id is None and not errors.by_field.get("type_id"):
            errors.add("type_id", "can't be blank")
        elif type_id is not None and type_id not in TYPE_IDS:
            errors.add("type_id", "is not included in the list")
        fields["type_id"] = type_id
    if (not partial or "name" in fields) and not fields.get("name"):
        errors.add("name", "can't be blank")
    # No address is required: only the v1 invoice page marks street, postcode and city required, and the
    # production Apps Script creates v2 invoices for consumers with none.

    if "vat_number" in data:
        fields["vat_number"] = _vat_number(sandbox, data.get("vat_number"), fields.get("type_id"), errors)
    if "language" in data:
        language = None if blank(data["language"]) else str(data["language"]).strip().lower()
        if language is not None and language not in LANGUAGES and enforces(sandbox, "client.language_not_in_list"):
            errors.add("language", "is not included in the list")
        fields["language"] = language
    if fields.get("email") and not _EMAIL.match(fields["email"]) and enforces(sandbox, "client.email_invalid"):
        errors.add("email", "is invalid")
    return fields


def _vat_number(sandbox: Sandbox, value: Any, type_id: int | None, errors: Errors) -> str | None:
    if blank(value):
        return None
    try:
        # Assumed: the number is stored normalised (BE0403019261); stijn1989 sends "0670.448.261" and reads
        # back a client.
        number = validate_vat(str(value))
    except InvalidNumber as exc:
        # Refused: stijn1989's live test creates a client with BE54785255441 and expects an error.
        errors.add("vat_number", f"is not a valid VAT number ({exc})")
        return None
    if type_id == BE_COMPANY and not number.startswith("BE") and enforces(sandbox, "client.be_company_foreign_vat"):
        errors.add("vat_number", "is not a Belgian VAT number, but the client is a Belgian company (type_id 1)")
    return number


def _require_vat(sandbox: Sandbox, fields: Params, errors: Errors) -> None:
    # A company client (type_id 1 or 2) needs its VAT number: assumed (see provenance.toml).
    if not enforces(sandbox, "client.company_without_vat_number"):
        return
    if fields.get("type_id") in (BE_COMPANY, EU_COMPANY) and not fields.get("vat_number"):
        errors.add("vat_number", "can't be blank for a company (type_id 1 or 2)")


def new_client_record(fields: Params) -> Params:
    now = utc_timestamp()
    record: Params = {
        "name": None,
        "vat_number": None,
        "street": None,
        "postcode": None,
        "city": None,
        "type_id": None,
        "created_at": now,
        "updated_at": now,
        "company_id": COMPANY_ID,
        "email": None,
        "country": None,
        "contact": None,
        "tel": None,
        "reference": None,
        "website": None,
        "language": "nl",
        "active": True,
        "remarks": None,
        "business_relation_since": None,
        "client_tag_list": [],
    }
    record.update({k: v for k, v in fields.items() if v is not None or k in record})
    if record["language"] is None:
        record["language"] = "nl"
    return with_name_key(record)


def with_name_key(record: Params) -> Params:
    """``record`` with the casefolded name a document's inline client is matched by (not served)."""
    record[NAME_KEY] = str(record.get("name") or "").casefold()
    return record


def render_client(sandbox: Sandbox, record: Params) -> Params:
    shown = {"id": record["id"], **{k: v for k, v in record.items() if k != NAME_KEY}}  # Rails lists the id first
    shown["btw_number"] = record.get("vat_number")  # the v1 name, still in v2 answers (stijn Entity/Client)
    shown["all_client_tags_list"] = list(record.get("client_tag_list") or [])
    return shaped(sandbox, "client", shown)


def create_client(sandbox: Sandbox, data: Params, errors: Errors) -> Params:
    fields = _validated(sandbox, data, errors, partial=False)
    _require_vat(sandbox, fields, errors)
    errors.raise_if_any()
    record = new_client_record(fields)
    record["id"] = sandbox.store.insert(CLIENTS, record)
    return record


@dataclass(frozen=True)
class ResolvedClient:
    """The client of a new document: an existing one (``stored``) or one to create; ``snapshot`` is what
    the document shows (the stored client overlaid with the inline values)."""

    stored: Params | None
    snapshot: Params

    def save(self, sandbox: Sandbox) -> Params:
        """The stored client, created first if it is new (called once the whole document is valid)."""
        if self.stored is not None:
            return self.stored
        record = new_client_record(self.snapshot)
        record["id"] = sandbox.store.insert(CLIENTS, record)
        return record


def resolve_client(sandbox: Sandbox, data: Params, errors: Errors) -> ResolvedClient:
    """Find or prepare the client of a new document from its inline ``client`` params, adding errors.

    Assumed (nothing documents a client id or the matching): the inline client is matched by ``id``, else
    by VAT number, else by name (case-insensitive); a match is not modified, the document keeps the inline
    values as its snapshot (``client_name``, ``client_address1``, ...). Without a match a new client is
    created, but only once the whole document is valid: like a Rails transaction, a refused document leaves
    no client behind.
    """
    stored: Params | None = None
    inline: Params | None = None
    client_id = as_int(data.get("id"), "client_id", errors)
    if client_id is not None:
        stored = sandbox.store.get(CLIENTS, client_id)
        if stored is None:
            errors.add("client_id", "does not exist")
            return ResolvedClient(None, {})
    else:
        probe_errors = Errors()
        probe = _validated(sandbox, data, probe_errors, partial=True)
        vat = probe.get("vat_number")
        name = (probe.get("name") or "").casefold()
        # Through the store's indexes: a create costs the matches, not the account's clients.
        store = sandbox.store
        if vat:
            stored = next(iter(store.find(CLIENTS, "vat_number", vat, limit=1)), None)
        elif name:
            stored = next(iter(store.find(CLIENTS, NAME_KEY, name, limit=1)), None)
            if stored is None:  # a client written to the store directly has no NAME_KEY; its exact name
                exact = (probe.get("name") or "").strip()
                stored = next((c for c in store.find(CLIENTS, "name", exact) if not c.get(NAME_KEY)), None)
        if stored is not None:
            # The probe is the matched client's inline reading: _validated is pure, so it need not run twice.
            inline = probe
            for field, messages in probe_errors.by_field.items():
                for message in messages:
                    errors.add(field, message)
    if stored is None:
        fields = _validated(sandbox, data, errors, partial=False)
        _require_vat(sandbox, fields, errors)
        return ResolvedClient(None, new_client_record(fields))
    if inline is None:
        inline = _validated(sandbox, data, errors, partial=True)
    snapshot = {**stored, **{k: v for k, v in inline.items() if v is not None}}
    return ResolvedClient(stored, snapshot)


def client_routes(sandbox: Sandbox) -> list[Route]:
    store = sandbox.store

    async def index(request: Request) -> Response:
        if request.method == "POST":
            errors = Errors()
            data = wrapped(await read_params(request), "client", errors)
            errors.raise_if_any()
            with sandbox.store.transaction():
                record = create_client(sandbox, data, errors)
            return json_response(render_client(sandbox, record), 201)
        return json_response([render_client(sandbox, c) for c in stored_page(sandbox, request, CLIENTS)])

    async def show(request: Request) -> Response:
        client_id = int(request.path_params["id"])
        record = store.get(CLIENTS, client_id)
        if record is None:
            raise not_found()
        if request.method in ("PUT", "PATCH"):
            errors = Errors()
            data = wrapped(await read_params(request), "client", errors)
            errors.raise_if_any()
            # On update every field is optional and nil is allowed (apipie v2 clients/update).
            if "type_id" not in data:
                data = {**data, "type_id": record.get("type_id")}
            fields = _validated(sandbox, data, errors, partial=True)
            merged = {**record, **fields}
            _require_vat(sandbox, merged, errors)
            errors.raise_if_any()
            merged["updated_at"] = utc_timestamp()
            with_name_key(merged)
            with sandbox.store.transaction():
                store.replace(CLIENTS, client_id, merged)
            record = merged
        return json_response(render_client(sandbox, record))

    async def search(request: Request) -> Response:
        query = (request.query_params.get("q") or "").strip().casefold()
        phone = _digits(request.query_params.get("phone") or "")
        found = []
        for client in store.all(CLIENTS):
            # "Zoeken naar een klant op basis van de naam of deel" (stijn1989 Api/Client.php search()):
            # q matches part of the name, nothing else.
            if query and query not in str(client.get("name") or "").casefold():
                continue
            # Assumed: phone (sent by maartendeblock and tombroucke) matches the digits of the client's tel.
            if phone and phone not in _digits(client.get("tel") or ""):
                continue
            found.append(render_client(sandbox, client))
        return json_response(page_of(request, found))

    async def valid_be_vat_number(request: Request) -> Response:
        value = request.query_params.get("vat_number") or ""
        try:
            valid = is_belgian_vat(value)
        except InvalidNumber:
            valid = False
        return json_response({"valid": valid})

    return [
        api_route(sandbox, "/clients.json", index, ["GET", "POST"]),
        api_route(sandbox, "/clients/search.json", search, ["GET"]),
        api_route(sandbox, "/clients/valid_be_vat_number.json", valid_be_vat_number, ["GET"]),
        api_route(sandbox, "/clients/{id:int}.json", show, ["GET", "PUT", "PATCH"]),
    ]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
