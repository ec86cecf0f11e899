"""Cashaca and Flowtly adapters broken on purpose, to prove the conformance suite catches what it claims to
catch.

Registered as providers through a real entry point (see conftest.py) and run against their provider's sandbox
and conformance profile, exactly as a third-party adapter would be.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from invoicekit_cashaca import CashacaAdapter
from invoicekit_cashaca import _mapping as m
from invoicekit_cashaca import plugin as cashaca
from invoicekit_flowtly import _mapping as fm
from invoicekit_flowtly import plugin as flowtly
from invoicekit_flowtly._adapter import FlowtlyAdapter, _body

from invoicekit.adapter import ApiRequest, Flow, Step, read_json
from invoicekit.capabilities import Capability
from invoicekit.model import Client, Invoice
from invoicekit.model._documents import _Document
from invoicekit.plugin import ProviderPlugin


class DropsLastRow(CashacaAdapter):
    """A mapping bug: the last row of every invoice never reaches the provider."""

    name = "cashaca_drops_last_row"

    def _document_body(self, doc: _Document, serial: str, kind: Literal["invoice", "credit_note"]) -> dict[str, Any]:
        body = super()._document_body(doc, serial, kind)
        body[kind]["commercial_document_lines_attributes"] = body[kind]["commercial_document_lines_attributes"][:-1]
        return body


class BlindRetry(CashacaAdapter):
    """A retry bug: client creates are marked idempotent, so the engine resends them after a lost answer."""

    name = "cashaca_blind_retry"
    # It sends no key, so it must not claim to carry one: the fault scenario then shows the blind retry itself.
    capabilities = CashacaAdapter.capabilities - {Capability.CLIENTS_CREATE_BY_KEY}

    def create_client(self, client: Client) -> Flow[Client]:
        response = yield Step(ApiRequest("POST", "/clients.json", json={"client": m.client_body(client)}))
        assert isinstance(response, httpx.Response)
        return m.client_from_json(read_json(response, self.name))


class LeakyRepr(CashacaAdapter):
    """A leak: the adapter's repr shows its token (reprs end up in logs and bug reports)."""

    name = "cashaca_leaky_repr"

    def __repr__(self) -> str:
        return f"<LeakyRepr token={self._token}>"


class FlowtlyBlindInvoiceRetry(FlowtlyAdapter):
    """A retry bug on a kind without a key: the invoice POST is marked idempotent, so after a lost answer the
    engine sends it again instead of raising UncertainOutcome. The fault scenario, which accepts an invoice
    that landed after an UncertainOutcome, must still see the second one."""

    name = "flowtly_blind_invoice_retry"

    def create_invoice(self, invoice: Invoice) -> Flow[Invoice]:
        client_id = self._preflight(invoice)
        body = fm.document_body(invoice, client_id=client_id)
        response = yield Step(ApiRequest("POST", "/invoices", **_body(body)))  # idempotent: the bug
        assert isinstance(response, httpx.Response)
        doc_id = fm.id_of(read_json(response, self.name).get("id")) or ""
        yield from self._add_rows(doc_id, invoice, start=0)
        data = yield from self._read(doc_id)
        return fm.document_from_json(data, invoice.client)


def _plugin(adapter: type[CashacaAdapter]) -> ProviderPlugin:
    return ProviderPlugin(
        name=adapter.name,
        title=f"Broken Cashaca ({adapter.name})",
        create_adapter=adapter,
        create_sandbox=cashaca.create_sandbox,
        extra={"conformance": "invoicekit_cashaca.conformance:profile"},
    )


drops_last_row = _plugin(DropsLastRow)
blind_retry = _plugin(BlindRetry)
leaky_repr = _plugin(LeakyRepr)
flowtly_blind_invoice_retry = ProviderPlugin(
    name=FlowtlyBlindInvoiceRetry.name,
    title="Broken Flowtly (flowtly_blind_invoice_retry)",
    create_adapter=FlowtlyBlindInvoiceRetry,
    create_sandbox=flowtly.create_sandbox,
    credentials=flowtly.credentials,
    extra={"conformance": "invoicekit_flowtly.conformance:profile"},
)
