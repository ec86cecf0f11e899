"""A local, stateful fake of the EenvoudigFactureren API v1 (``invoicekit sandbox serve eenvoudigfactureren``).

What it does, from the public documentation (seed 004) and the project's provider research:

* ``X-API-Key`` authenticates every call (401 otherwise); ``X-AccountId`` may name the account (403 for
  another one). :meth:`Sandbox.credentials` gives ``{"api_key": ...}``.
* XML by default; JSON for ``?format=json``, ``Accept: application/json`` or a JSON body.
* ``/api/v1/<domain>[/<id>[/<sub>[/<id>]]]``: POST creates (201 ``{"success":"client created","client_id":..,
  "uri":..}``) or, on ``/<domain>/<id>``, updates the fields it names; PUT replaces; DELETE removes.
* Errors are ``{"error": "<field> is required"}`` and EF's other messages; a body that does not parse gets
  HTTP 200 with ``{"code": 400, "error": "Syntax error"}``, as the real API does.
* Lists take ``search``, ``filter`` (``name=~Rest`` and ``name__eq__X``), ``fields``, ``sort`` and
  ``skip``/``take`` (50 by default, at most 100).
* Domains: ``clients`` (with ``contacts`` and ``custom_values``), ``invoices`` (credit notes are invoices with
  a negative total; ``items``, ``payments``, ``events``, ``/send``, ``?send_peppol``, ``?format=peppolbis3``),
  ``accounts/current`` and ``settings``.

Custom client fields must be defined on the account, as in EF's Settings > Advanced:
``create_sandbox(custom_fields={"tier": "Klantniveau"})`` adds to the default (``myreference``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from invoicekit.sandbox import FaultRule, Provenance, Sandbox, StateStore
from invoicekit_eenvoudigfactureren._sandbox_app import build_app
from invoicekit_eenvoudigfactureren._sandbox_common import DEFAULT_CUSTOM_FIELDS, KEY_FIELDS, shadow

__all__ = ["create_sandbox"]

NAME = "eenvoudigfactureren"
CURL = 'curl -s -H "X-API-Key: {api_key}" "{base_url}/api/v1/clients?format=json"'


def create_sandbox(
    *,
    store: StateStore | None = None,
    seed: int | None = None,
    faults: Iterable[FaultRule] = (),
    custom_fields: Mapping[str, str] | None = None,
    today: Callable[[], date] | None = None,
    strict: bool = False,
) -> Sandbox:
    """A fresh EF sandbox. ``custom_fields`` ({name: description}) are defined on its account;
    ``today`` fixes the date that due dates, overdue status and defaults are computed against. With
    ``strict`` it serves only what provenance.toml shows documented or observed."""

    def app(sandbox: Sandbox) -> Any:
        return build_app(sandbox, today or date.today)

    sandbox = Sandbox(
        NAME,
        app,
        store=store,
        seed=seed,
        faults=faults,
        credential_name="api_key",
        # Like Cashaca's: base_url is the host, what connect(base_url=...) takes; the adapter adds /api/v1.
        curl_template=CURL,
        provenance=Provenance.load("invoicekit_eenvoudigfactureren"),
        strict=strict,
    )
    # The lookups by reconciliation key filter on these (see _sandbox_app.narrowed): one search costs the
    # records that carry the key, not every record rendered.
    for collection, field in KEY_FIELDS.items():
        sandbox.store.index(collection, field)
        sandbox.store.index(collection, shadow(field))
    # Numbers are checked for uniqueness and a client's invoices counted on every create and read.
    # The adapter lists documents by type (_sandbox_app.listed).
    for collection, field in (
        ("invoices", "number"),
        ("invoices", "client_id"),
        ("clients", "number"),
        ("invoices", "type"),
    ):
        sandbox.store.index(collection, field)
    defined = {str(r["name"]) for r in sandbox.store.all("custom_field_definitions")}
    for name, description in {**DEFAULT_CUSTOM_FIELDS, **(custom_fields or {})}.items():
        if name not in defined:
            sandbox.store.insert("custom_field_definitions", {"name": name, "description": description})
    return sandbox
