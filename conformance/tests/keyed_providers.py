"""EenvoudigFactureren adapters that declare key support, to prove the exactly-once scenarios both ways.

``KeyedEF`` carries the reconciliation key in fields EF documents and returns (``external_invoice_id`` and
``external_client_id``, at most 50 characters, seed 004 and the reference's invoice section; a payment's
``description``) and finds a create by that key alone: the scenarios pass. ``LookupByNumber`` is the bug
issue 10 describes: after a lost answer it takes the invoice with the newest number, so under concurrency
it hands a caller another caller's invoice, and the scenarios must fail saying so.

Registered as providers through a real entry point (see conftest.py), against EF's own sandbox and profile.
The bundled EF adapter stays as it is: the provider helpers move this into it.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import httpx
from invoicekit_eenvoudigfactureren import _mapping as m
from invoicekit_eenvoudigfactureren import plugin as ef
from invoicekit_eenvoudigfactureren._adapter import _PAYMENT, EenvoudigFacturerenAdapter, _compact, _id

from invoicekit.adapter import ApiRequest, Flow, Found, LookupFlow, Step, lookup_by_key
from invoicekit.capabilities import Capability as C
from invoicekit.errors import ValidationError
from invoicekit.model import Client, CreditNote, Invoice, Payment
from invoicekit.plugin import ProviderPlugin


class KeyedEF(EenvoudigFacturerenAdapter):
    name = "ef_keyed"
    capabilities: ClassVar[frozenset[C]] = EenvoudigFacturerenAdapter.capabilities | {
        C.CLIENTS_CREATE_BY_KEY,
        C.INVOICES_CREATE_BY_KEY,
        C.CREDIT_NOTES_CREATE_BY_KEY,
        C.PAYMENTS_CREATE_BY_KEY,
    }
    reconciliation_fields: ClassVar[dict[str, str]] = {
        "clients": "external_client_id",
        "invoices": "external_invoice_id",
        "credit_notes": "external_invoice_id",
        "payments": "description",
    }

    # --- clients: the key is the external client id ---------------------------------------------------
    def create_client(self, client: Client) -> Flow[Client]:
        if client.external_id and client.idempotency_key and client.external_id != client.idempotency_key:
            raise ValidationError.single(
                "idempotency_key", "EF keeps the key in external_client_id, which holds external_id: make them equal"
            )
        keyed = client.model_copy(update={"external_id": client.external_id or client.idempotency_key})
        made = yield from super().create_client(keyed)
        return made.model_copy(update={"idempotency_key": made.external_id})

    def get_client(self, client_id: str) -> Flow[Client]:
        got = yield from super().get_client(client_id)
        return got.model_copy(update={"idempotency_key": got.external_id})

    def find_client_by_key(self, key: str) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", "/clients", params={"filter": f"external_client_id={key}"}))
        return lookup_by_key(key, ((str(i["client_id"]), i.get("external_client_id")) for i in items))

    # --- invoices and credit notes: external_invoice_id --------------------------------------------------
    def _create_document(self, doc: Any, cls: Any) -> Flow[Any]:
        # The bundled adapter posts a fresh uuid in external_invoice_id: drive its flow, posting ours instead.
        key = doc.idempotency_key or "ik-" + uuid.uuid4().hex
        flow = super()._create_document(doc, cls)
        try:
            step = next(flow)
            while True:
                step = flow.send((yield self._with_key(step, key)))
        except StopIteration as stop:
            made = stop.value
        return made.model_copy(update={"idempotency_key": (made.raw or {}).get("external_invoice_id") or None})

    def _with_key(self, step: Step, key: str) -> Step:
        request = step.request
        if request.method != "POST" or request.path != "/invoices" or request.content is None:
            return step
        body = request.content.decode()
        start = body.index("<external_invoice_id>") + len("<external_invoice_id>")
        end = body.index("</external_invoice_id>", start)
        content = (body[:start] + key + body[end:]).encode()
        return Step(
            ApiRequest(request.method, request.path, request.params, None, content, request.headers),
            idempotent=False,
            lookup=lambda: self.find_invoice_by_key(key),
            reference=key,
        )

    def get_invoice(self, invoice_id: str) -> Flow[Invoice]:
        got = yield from super().get_invoice(invoice_id)
        return got.model_copy(update={"idempotency_key": (got.raw or {}).get("external_invoice_id") or None})

    def get_credit_note(self, credit_note_id: str) -> Flow[CreditNote]:
        got = yield from super().get_credit_note(credit_note_id)
        return got.model_copy(update={"idempotency_key": (got.raw or {}).get("external_invoice_id") or None})

    def find_invoice_by_key(self, key: str) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", "/invoices", params={"filter": f"external_invoice_id={key}"}))
        return lookup_by_key(key, ((str(i["invoice_id"]), i.get("external_invoice_id")) for i in items))

    find_credit_note_by_key = find_invoice_by_key

    # --- payments: the key is the description -------------------------------------------------------------
    def create_payment(self, payment: Payment) -> Flow[Payment]:
        key = payment.idempotency_key or "ik-" + uuid.uuid4().hex
        invoice_id = _id(payment.invoice_id, "invoice_id")
        path = f"/invoices/{invoice_id}/payments"
        body = {**m.payment_to_ef(payment), "description": key}
        outcome = yield Step(
            self._post(path, self._xml("payment", _compact(body), _PAYMENT)),
            idempotent=False,
            lookup=lambda: self.find_payment_by_key(invoice_id, key),
            reference=key,
        )
        payment_id = outcome.provider_id if isinstance(outcome, Found) else self._created_id(outcome, "payment_id")
        response = yield Step(ApiRequest("GET", f"{path}/{payment_id}"))
        assert isinstance(response, httpx.Response)
        made = m.payment_from_ef(self._object(response), invoice_id)
        return made.model_copy(update={"idempotency_key": (made.raw or {}).get("description") or None})

    def find_payment_by_key(self, invoice_id: str, key: str) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", f"/invoices/{_id(invoice_id, 'invoice_id')}/payments"))
        return lookup_by_key(key, ((str(i["payment_id"]), i.get("description")) for i in items))


class LookupByNumber(KeyedEF):
    """The bug of issue 10: a lost create is "found" as the invoice with the newest number."""

    name = "ef_lookup_by_number"

    def find_invoice_by_key(self, key: str) -> LookupFlow:
        items = yield from self._all(ApiRequest("GET", "/invoices", params={"sort": "-number"}))
        newest = max(items, key=lambda i: str(i.get("number") or ""), default=None)
        return Found(str(newest["invoice_id"])) if newest else lookup_by_key(key, ())

    find_credit_note_by_key = find_invoice_by_key


def _plugin(adapter: type[KeyedEF]) -> ProviderPlugin:
    return ProviderPlugin(
        name=adapter.name,
        title=f"EF with keys ({adapter.name})",
        create_adapter=adapter,
        create_sandbox=ef.create_sandbox,
        credentials=ef.credentials,
        extra={"conformance": "invoicekit_eenvoudigfactureren.conformance:profile"},
    )


keyed = _plugin(KeyedEF)
lookup_by_number = _plugin(LookupByNumber)
