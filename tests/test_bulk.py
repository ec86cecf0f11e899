"""invoicekit.Bulk / AsyncBulk against a real Cashaca sandbox served over loopback, with injected latency and 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import invoicekit
from invoicekit import Address, AsyncBulk, Bulk, BulkProgress, Client, Invoice, InvoiceRow, ValidationError
from invoicekit.bulk import _Limit
from invoicekit.hooks import hookimpl
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox, running

CREATE = "/api/v2/invoices.json"


def _invoice(n: int) -> Invoice:
    return Invoice(
        number=f"2026_{n:04d}",
        issue_date=date(2026, 3, 1),
        payment_term_days=30,
        client=Client(
            name="IT Services BV",
            vat_number="BE0428759497",
            address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        ),
        rows=[InvoiceRow(description="Consultancy", quantity=Decimal(2), unit_price=Decimal("95.00"), vat_rate=21)],
    )


class InFlight:
    """An ASGI wrapper around the sandbox app that counts the requests it is answering at the same time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, InFlight, str]]:
    sandbox = create_sandbox("cashaca", seed=3)
    counter = InFlight(sandbox.app)
    sandbox.app = counter  # what running() serves
    with running(sandbox) as url:
        yield sandbox, counter, url
    sandbox.close()


def _connect(sandbox: Sandbox, url: str) -> invoicekit.Books:
    return invoicekit.connect("cashaca", base_url=url, **sandbox.credentials())


def _creates(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.request_log if entry == ("POST", CREATE) and entry.status == 201)


def test_every_input_gets_one_result_and_refusals_are_results(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, counter, url = served
    sandbox.faults.add(FaultRule.slow(0.02, method="POST"))
    # Numbers 1..20, and 5 repeats the sandbox refuses (422 "has already been taken") as ValidationError.
    documents = [_invoice(n) for n in range(1, 21)] + [_invoice(n) for n in (3, 6, 9, 12, 15)]
    seen: list[BulkProgress] = []
    with _connect(sandbox, url) as books:
        bulk = Bulk(books, concurrency=4, on_progress=seen.append)
        results = list(bulk.create(documents))

    assert sorted(r.index for r in results) == list(range(len(documents)))
    assert all(r.input is documents[r.index] for r in results)
    failed = [r for r in results if not r.ok]
    assert len(failed) == 5
    assert all(isinstance(r.error, ValidationError) and r.document is None for r in failed)
    # Exactly one of each pair of equal numbers was stored, and every success is what the sandbox holds.
    assert _creates(sandbox) == 20
    assert sorted(r.document.number for r in results if r.document is not None) == [
        f"2026_{n:04d}" for n in range(1, 21)
    ]
    final = bulk.progress
    assert final is not None
    assert (final.total, final.done, final.succeeded, final.failed, final.in_flight) == (25, 25, 20, 5, 0)
    # One report per delivered result; a report counts what has finished so far (maybe not yet delivered).
    done = [p.done for p in seen]
    assert len(done) == 25
    assert done == sorted(done)
    assert done[-1] == 25
    assert all(p.done >= i + 1 for i, p in enumerate(seen))
    assert 0 < counter.most <= 4


def test_concurrency_never_exceeds_the_bound_but_reaches_it(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, counter, url = served
    sandbox.faults.add(FaultRule.slow(0.05, method="POST"))
    with _connect(sandbox, url) as books:
        start = time.monotonic()
        results = list(Bulk(books, concurrency=5).create([_invoice(n) for n in range(1, 31)]))
        elapsed = time.monotonic() - start
    assert all(r.ok for r in results)
    assert len(results) == 30
    assert counter.most == 5
    # 30 creates of >= 50 ms each, 5 at a time, cannot take less than 6 x 50 ms.
    assert elapsed >= 0.3


def test_429s_shrink_the_limit_and_the_batch_still_completes(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, counter, url = served
    sandbox.faults.add(FaultRule.slow(0.02, method="POST"))
    limiter = sandbox.faults.add(FaultRule.rate_limited(8, burst=4, method="POST", path=CREATE))
    seen: list[BulkProgress] = []
    with _connect(sandbox, url) as books:
        results = list(Bulk(books, concurrency=8, on_progress=seen.append).create([_invoice(n) for n in range(1, 25)]))

    assert all(r.ok for r in results)
    assert len(results) == 24
    assert _creates(sandbox) == 24
    refused = sum(1 for entry in sandbox.request_log if entry.status == 429)
    assert refused == limiter.fired > 0
    assert seen[-1].rate_limited == refused  # every 429 the sandbox sent was observed by the helper
    assert min(p.limit for p in seen) <= 4  # halved at least once
    assert counter.most <= 8


def test_no_new_work_starts_during_a_retry_after(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, _, url = served
    sandbox.faults.add(FaultRule.rate_limited(4, burst=2, method="POST", path=CREATE))
    started: list[float] = []
    refusals: list[float] = []

    class Refusals:
        @hookimpl
        def invoicekit_after_response(self, provider: str, request: Any, response: Any) -> None:
            if response.status_code == 429:
                refusals.append(time.monotonic())

    documents = [_invoice(n) for n in range(1, 9)]
    with invoicekit.connect("cashaca", base_url=url, plugins=[Refusals()], **sandbox.credentials()) as books:

        def create(document: Invoice) -> Invoice:
            started.append(time.monotonic())
            return books.invoices.create(document)

        results = list(Bulk(books, concurrency=4).map(create, documents))

    assert all(r.ok for r in results)
    assert refusals
    first = refusals[0]  # Retry-After is 1 s (whole seconds, rounded up)
    # (A start decided just before the 429 arrived may begin a moment after it: allow 0.1 s for that.)
    assert not [t for t in started if first + 0.1 < t < first + 0.9]
    assert [t for t in started if t >= first + 0.9]  # and work did resume


def test_the_limit_is_aimd() -> None:
    now = [0.0]
    limit = _Limit(16, 2, clock=lambda: now[0])
    limit.on_rate_limited(2.0)
    assert limit.value == 8
    assert limit.wait_before_start() == 2.0
    limit.on_rate_limited(2.0)  # same episode: no second cut
    assert limit.value == 8
    for _ in range(20):
        limit.on_success()  # still inside the episode: no growth yet
    assert limit.value == 8
    now[0] = 2.5
    assert limit.wait_before_start() == 0.0
    for _ in range(8):
        limit.on_success()
    assert limit.value == 9  # one slot back per `limit` successes
    for _ in range(9 + 10 + 11 + 12 + 13 + 14 + 15 + 16):
        limit.on_success()
    assert limit.value == 16  # never above the bound
    for step in range(5):
        now[0] = 10.0 + step
        limit.on_rate_limited(None)
    assert limit.value == 2  # never below the floor


def test_a_bug_stops_the_batch_after_the_rest_finished(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, _, url = served
    delivered: list[int] = []

    def create(document: Invoice) -> Invoice:
        if document.number == "2026_0003":
            raise RuntimeError("a bug in the caller's operation")
        time.sleep(0.05)
        return books.invoices.create(document)

    def consume() -> None:
        for result in Bulk(books, concurrency=3).map(create, [_invoice(n) for n in range(1, 10)]):
            delivered.append(result.index)

    with _connect(sandbox, url) as books, pytest.raises(RuntimeError, match="a bug"):
        consume()
    # Nothing started after the bug, and what was under way still came back.
    assert 2 not in delivered
    assert {0, 1} <= set(delivered)
    assert len(delivered) < 8
    assert _creates(sandbox) == len(delivered)


def test_leaving_early_starts_nothing_more(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, _, url = served
    sandbox.faults.add(FaultRule.slow(0.05, method="POST"))
    with _connect(sandbox, url) as books:
        for result in Bulk(books, concurrency=3).create([_invoice(n) for n in range(1, 21)]):
            assert result.ok
            break
        # The two still under way when the loop ended have finished; nothing else was sent.
        assert _creates(sandbox) == 3


@pytest.mark.anyio
async def test_async_twin_bounds_and_adapts(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, counter, url = served
    sandbox.faults.add(FaultRule.slow(0.03, method="POST"))
    sandbox.faults.add(FaultRule.rate_limited(10, burst=5, method="POST", path=CREATE))
    documents = [_invoice(n) for n in range(1, 21)] + [_invoice(4)]
    seen: list[BulkProgress] = []
    async with invoicekit.connect_async("cashaca", base_url=url, **sandbox.credentials()) as books:
        bulk = AsyncBulk(books, concurrency=6, on_progress=seen.append)
        async with aclosing(bulk.create(documents)) as results:
            collected = [r async for r in results]

    assert sorted(r.index for r in collected) == list(range(21))
    assert [r.index for r in collected if not r.ok] == [20]
    assert _creates(sandbox) == 20
    assert 1 < counter.most <= 6
    assert seen[-1].rate_limited > 0
    assert min(p.limit for p in seen) <= 3


@pytest.mark.anyio
async def test_async_leaving_early_waits_for_what_is_under_way(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, _, url = served
    sandbox.faults.add(FaultRule.slow(0.05, method="POST"))
    async with invoicekit.connect_async("cashaca", base_url=url, **sandbox.credentials()) as books:
        async with aclosing(AsyncBulk(books, concurrency=3).create([_invoice(n) for n in range(1, 21)])) as results:
            async for result in results:
                assert result.ok
                break
        assert _creates(sandbox) == 3


def test_send_many_by_email_with_a_recipient_per_document(served: tuple[Sandbox, InFlight, str]) -> None:
    sandbox, _, url = served
    with _connect(sandbox, url) as books:
        bulk = Bulk(books, concurrency=3)
        created = [r.document for r in bulk.create([_invoice(n) for n in range(1, 5)])]
        assert all(doc is not None for doc in created)
        sent = list(bulk.send([doc for doc in created if doc], to=lambda doc: f"boekhouding+{doc.number}@example.be"))
    assert all(r.ok and r.document is not None and r.document.accepted for r in sent)
    deliveries = sandbox.store.all("deliveries")
    assert sorted(d["to"] for d in deliveries) == [f"boekhouding+2026_{n:04d}@example.be" for n in range(1, 5)]
    assert {d["channel"] for d in deliveries} == {"email"}


def test_bounds_are_checked() -> None:
    with invoicekit.connect("cashaca", token="unused") as books:
        with pytest.raises(ValueError, match="concurrency"):
            Bulk(books, concurrency=0)
        with pytest.raises(ValueError, match="min_concurrency"):
            Bulk(books, concurrency=4, min_concurrency=5)
