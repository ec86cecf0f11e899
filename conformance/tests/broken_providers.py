"""Cashaca adapters broken on purpose, to prove the conformance suite catches what it claims to catch.

Registered as providers through a real entry point (see conftest.py) and run against the Cashaca sandbox
and the Cashaca conformance profile, exactly as a third-party adapter would be.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from invoicekit_cashaca import CashacaAdapter
from invoicekit_cashaca import _mapping as m
from invoicekit_cashaca import plugin as cashaca

from invoicekit.adapter import ApiRequest, Flow, Step, read_json
from invoicekit.capabilities import Capability
from invoicekit.model import Client
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
