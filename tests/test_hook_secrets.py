"""Hooks never see a credential: not in the URL (Cashaca's ?token=), not in a header (EF's X-API-Key, a
Flowtly bearer token obtained after connect()), not in a body. Headers a hook adds still go out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit import Address, Client, Invoice, InvoiceRow
from invoicekit.hooks import hookimpl
from invoicekit.registry import installed_providers
from invoicekit.sandbox import Sandbox


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.sent_trace: list[str | None] = []

    def _show(self, request: httpx.Request) -> None:
        self.seen.append(str(request.url))
        self.seen.extend(f"{k}: {v}" for k, v in request.headers.multi_items())
        self.seen.append(request.content.decode(errors="replace"))

    @hookimpl
    def invoicekit_before_request(self, provider: str, request: httpx.Request) -> None:
        self._show(request)
        request.headers["X-Trace"] = "hook-was-here"

    @hookimpl
    def invoicekit_after_response(self, provider: str, request: httpx.Request, response: httpx.Response) -> None:
        self._show(request)
        self._show(response.request)
        self.sent_trace.append(request.headers.get("x-trace"))
        self.seen.extend(f"{k}: {v}" for k, v in response.headers.multi_items())
        self.seen.append(response.text)


def _work(books: Any) -> None:
    client = books.clients.create(
        Client(
            name="Hook Test BV",
            vat_number="BE0403019261",
            address=Address(street="Kerkstraat 1", postal_code="9000", city="Gent"),
        )
    )
    invoice = books.invoices.create(
        Invoice(
            client=client,
            issue_date=date.today(),
            rows=[InvoiceRow(description="Hooked", quantity=1, unit_price="10.00", vat_rate=21)],
        )
    )
    assert invoice.provider_id is not None
    books.invoices.get(invoice.provider_id)


@pytest.mark.parametrize("provider", sorted(installed_providers()))
def test_hooks_see_no_credential(provider: str, invoicekit_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = invoicekit_sandbox(provider)
    recorder = Recorder()
    with invoicekit.connect(provider, sandbox=sandbox, plugins=[recorder]) as books:
        _work(books)
    secrets = [v for v in sandbox.credentials().values() if len(v) >= 6]
    assert recorder.seen
    assert secrets
    leaks = [text[:120] for text in recorder.seen for secret in secrets if secret in text]
    assert not leaks, f"{provider}: hooks saw a credential in {leaks}"
    bearer = [t for t in recorder.seen if t.lower().startswith("authorization:") and not t.endswith("***")]
    assert not bearer, f"{provider}: hooks saw an authorization header {bearer}"
    assert recorder.sent_trace
    assert set(recorder.sent_trace) == {"hook-was-here"}, recorder.sent_trace
