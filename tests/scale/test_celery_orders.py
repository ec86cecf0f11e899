"""Documents from order events on Celery workers: redelivered after a SIGKILL, still made and sent once.

Eight shop accounts (Cashaca sandboxes served over loopback, each limited to LIMIT requests per second), three
orders each, queued account by account so that both workers work on one account at the same time. The
worker running the first order is SIGKILLed while it holds the order's lock; its message comes back after
the shortened visibility timeout and another worker finishes it. Checked from the sandboxes' state and
request logs: one invoice per order key, one client per customer, every invoice delivered, no account over
its limit in any one-second window, and no credential in any worker's log.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import redis

import invoicekit
from invoicekit.model import Address, Client, Invoice, InvoiceRow
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox
from tests.scale._cluster import pid_holding, worker_env, workers
from tests.scale._measure import peak_rate
from tests.scale._served import serve_all
from tests.scale._services import Redis
from tests.scale.celery_app import make_app

ACCOUNTS = 8
ORDERS = 3  # per account
# Two are enough to work on one account at once and to lose one; the four of issue 15 are in test_celery_migrations.
WORKERS = 2
LIMIT = 20  # requests per second per account, at the sandbox and in the shared limit


def _order(account: int, order: int) -> Invoice:
    return Invoice(
        issue_date=date(2026, 11, 30),
        payment_term_days=30,
        order_reference=f"order-{account}-{order}",
        client=Client(
            name=f"Shop customer {account}",
            email=f"customer{account}@example.be",
            external_id=f"cust-{account}",
            address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        ),
        rows=[InvoiceRow(description="Order", quantity=Decimal(order + 1), unit_price=Decimal("19.95"), vat_rate=21)],
    )


def test_order_events_on_two_workers_one_killed_make_and_send_each_document_once(
    redis_service: Redis, tmp_path: Path
) -> None:
    redis_db = f"redis://127.0.0.1:{redis_service.port}"
    sandboxes: list[Sandbox] = []
    for _ in range(ACCOUNTS):
        box = create_sandbox("cashaca")
        box.faults.add(FaultRule.rate_limited(LIMIT, burst=LIMIT))
        sandboxes.append(box)
    with serve_all(sandboxes) as urls:
        accounts = {
            "cashaca": {
                f"shop{i}": {**box.credentials(), "base_url": url}
                for i, (box, url) in enumerate(zip(sandboxes, urls, strict=True))
            }
        }
        secrets = [box.credentials()["token"] for box in sandboxes]
        env = worker_env(redis_db, 1, accounts, {"cashaca": LIMIT}, tmp_path)
        app, tasks = make_app(env)
        run = uuid.uuid4().hex[:8]
        started = time.monotonic()
        with workers({**os.environ, **env}, WORKERS, tmp_path) as group:
            results = {
                (i, n): tasks.create_and_send.delay(
                    "cashaca",
                    f"shop{i}",
                    _order(i, n).model_dump(mode="json"),
                    f"order-{run}-{i}-{n}",
                    to=f"customer{i}@example.be",
                )
                # One account's orders one after the other: several workers work on one account at once.
                for i in range(ACCOUNTS)
                for n in range(ORDERS)
            }
            lock, pid = pid_holding(redis.Redis.from_url(f"{redis_db}/3"), "invoicekit:order:*", timeout=60)
            group.kill(pid)
            outcomes = {order: result.get(timeout=90) for order, result in results.items()}
            elapsed = time.monotonic() - started
            logs = group.log_text()
        app.close()
    peaks = []
    for i, box in enumerate(sandboxes):
        with invoicekit.connect("cashaca", sandbox=box) as books:
            invoices = list(books.invoices.list())
        keys = sorted(inv.idempotency_key or "" for inv in invoices)
        assert keys == sorted(f"order-{run}-{i}-{n}" for n in range(ORDERS)), f"account {i}"
        assert len(box.store.all("clients")) == 1
        assert {outcomes[(i, n)]["provider_id"] for n in range(ORDERS)} == {inv.provider_id for inv in invoices}
        deliveries = box.store.all("deliveries")
        assert len(deliveries) >= ORDERS
        peaks.append(peak_rate(box.request_log.recent()))
    sent = sum(len(box.request_log) for box in sandboxes)
    print(
        f"\n{len(results)} orders, {WORKERS} workers (one SIGKILLed holding {lock}): {elapsed:.1f} s, {sent} requests,"
    )
    print(f"peak {max(peaks)} requests in any 1 s window of one account (limit {LIMIT})")
    assert max(peaks) <= LIMIT
    assert not any(secret in logs for secret in secrets)
