"""Secrets: across the whole run, no credential appears in a log record (every logger at DEBUG), an
exception message, a traceback or a repr.

This scenario runs last. It first provokes what tends to leak (a failed login, a not-found, retries after a
rate limit, a successful create and list), then searches everything the run produced. Run alone, it checks
its own traffic; run with the suite, everything.
"""

from __future__ import annotations

import contextlib

import pytest

from invoicekit import Capability as C
from invoicekit import InvoicekitError
from invoicekit.sandbox import FaultRule
from invoicekit_conformance._samples import billing_client, carried
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target


@pytest.mark.invoicekit_last
@scenario(covers=[], behaviour="credentials never appear in logs, errors or reprs")
def test_credentials_never_leak(target: Target, conformance_watch: object) -> None:
    from invoicekit_conformance._secrets import SecretWatch

    assert isinstance(conformance_watch, SecretWatch)
    books = target.books
    names = list(target.sandbox.credentials() if target.sandbox is not None else target.profile.live_credentials)
    bad = target.connect(credentials={name: f"leaky-{name}-secret-value-42" for name in names})
    for connection in (books, bad):
        for call in (
            lambda b=connection: list(b.invoices.list()),
            lambda b=connection: b.clients.get(target.profile.unknown_id),
            lambda b=connection: b.invoices.get(target.profile.unknown_id),
        ):
            with contextlib.suppress(InvoicekitError):
                call()
    if target.sandbox is not None:
        target.sandbox.faults.add(FaultRule.server_error(1.0, times=2))
    if target.supports(C.CLIENTS_CREATE):
        with contextlib.suppress(InvoicekitError):
            books.clients.create(carried(books.adapter, billing_client(target.tag())))
    if target.sandbox is not None:
        target.sandbox.faults.clear()
    conformance_watch.saw_repr("the target's adapter auth", books.adapter.auth())

    leaks = conformance_watch.leaks()
    assert conformance_watch.secrets, "the run registered no credentials to look for"
    assert not leaks, f"credentials leaked in {len(leaks)} place(s):\n  - " + "\n  - ".join(
        f"{leak.where}: ...{leak.excerpt}..." for leak in leaks[:20]
    )
