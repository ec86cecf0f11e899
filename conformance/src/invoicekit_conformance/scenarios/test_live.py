"""The live probe: says whether this run reached a real account, and which variables would make it."""

from __future__ import annotations

import pytest

from invoicekit import Capability as C
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target


@pytest.mark.invoicekit_live_probe
@scenario(covers=[], behaviour="live account reachable with the given credentials")
def test_live_account(target: Target) -> None:
    """With the provider's credential variables set, every scenario that does not need the sandbox also
    runs against the live account; this one checks the credentials open it at all."""
    reads = [C.INVOICES_NEXT_NUMBER, C.CLIENTS_LIST, C.INVOICES_LIST]
    if target.supports(C.INVOICES_NEXT_NUMBER):
        assert target.books.invoices.next_number()
    elif target.supports(C.CLIENTS_LIST):
        next(iter(target.books.clients.list()), None)
    elif target.supports(C.INVOICES_LIST):
        next(iter(target.books.invoices.list()), None)
    else:
        pytest.skip(f"{target.provider} declares none of {', '.join(c.value for c in reads)}")
