"""Paging: 250 invoices list back as exactly 250 distinct documents, in a stable order, across pages."""

from __future__ import annotations

from collections import Counter

from invoicekit import Capability as C
from invoicekit_conformance._samples import billing_client, carried, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target

COUNT = 250
SECOND_CLIENT_EVERY = 5  # every 5th invoice goes to a second client, for the client filter


@scenario(
    covers=[C.INVOICES_LIST],
    requires=[C.INVOICES_CREATE],
    sandbox_only="creates 250 invoices, and checks the exact count only a fresh account can give",
)
def test_invoice_paging(target: Target) -> None:
    tag = target.tag()
    first, second = (
        carried(target.books.adapter, billing_client(tag, name="Paging A")),
        carried(target.books.adapter, billing_client(tag + "b", name="Paging B")),
    )
    if target.supports(C.CLIENTS_CREATE):
        first, second = target.books.clients.create(first), target.books.clients.create(second)
    made: list[str] = []
    for_second: list[str] = []
    for i in range(COUNT):
        client = second if i % SECOND_CLIENT_EVERY == 0 else first
        created = target.books.invoices.create(simple_invoice(client, f"Paging {tag} {i:03d}", amount=f"{i + 1}.00"))
        assert created.provider_id is not None
        made.append(created.provider_id)
        if client is second:
            for_second.append(created.provider_id)
    assert len(set(made)) == COUNT, f"{COUNT} creates returned only {len(set(made))} distinct ids"

    before = len(target.meter.requests)
    listed = [inv.provider_id for inv in target.books.invoices.list()]
    pages = len(target.meter.requests) - before
    counts = Counter(listed)
    twice = sorted(str(i) for i, n in counts.items() if n > 1)
    missing = sorted(set(made) - set(counts), key=made.index)
    extra = sorted(str(i) for i in set(counts) - set(made))
    problems = []
    if len(listed) != COUNT:
        problems.append(f"listed {len(listed)} invoices, {COUNT} were created")
    if twice:
        problems.append(f"{len(twice)} invoice(s) listed more than once (ids {', '.join(twice[:10])})")
    if missing:
        problems.append(
            f"{len(missing)} created invoice(s) never listed (ids {', '.join(map(str, missing[:10]))}; "
            f"creation order positions {', '.join(str(made.index(m)) for m in missing[:10])})"
        )
    if extra:
        problems.append(f"{len(extra)} listed invoice(s) were never created (ids {', '.join(extra[:10])})")
    assert not problems, f"invoices.list over {pages} request(s):\n  - " + "\n  - ".join(problems)
    target.report("paging", {"invoices": COUNT, "list_requests": pages})

    again = [inv.provider_id for inv in target.books.invoices.list()]
    if again != listed:
        first_change = next(i for i, (a, b) in enumerate(zip(listed, again, strict=False)) if a != b)
        raise AssertionError(
            f"listing twice gave a different order: position {first_change} held {listed[first_change]}, "
            f"then {again[first_change]}"
        )

    assert second.provider_id is not None
    filtered = [inv.provider_id for inv in target.books.invoices.list(client_id=second.provider_id)]
    assert sorted(filtered, key=str) == sorted(for_second, key=str), (
        f"invoices.list(client_id=...) gave {len(filtered)} invoices; {len(for_second)} were made out to that "
        f"client ({len(set(filtered) - set(for_second))} of another client, "
        f"{len(set(for_second) - set(filtered))} missing)"
    )
