"""The Celery tasks one at a time (eager mode, a real redis-server, a served sandbox): what a redelivery meets."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from celery.exceptions import Retry

from invoicekit.contrib.celery import Tasks, environment_credentials, install
from invoicekit.errors import ConfigurationError, ValidationError
from invoicekit.model import Address, Client, Invoice, InvoiceRow
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox, running
from tests.scale._services import Redis


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_sandbox("cashaca")
    with sandbox, running(sandbox) as url:
        yield sandbox, url


def _tasks(redis_service: Redis, resolve: Any, **options: Any) -> Tasks:
    redis.Redis(port=redis_service.port, db=7).flushdb()
    app = Celery("eager", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    url = f"{redis_service.url[:-2]}/7"
    return install(app, credentials=resolve, redis_url=url, rate_limits={"cashaca": 50}, **options)


def _order() -> dict[str, Any]:
    invoice = Invoice(
        issue_date=date(2026, 11, 30),
        client=Client(
            name="Bakkerij Peeters",
            email="info@peeters.example",
            external_id="cust-7",
            address=Address(street="Kerkstraat 1", postal_code="9000", city="Gent"),
        ),
        rows=[InvoiceRow(description="Taart", quantity=Decimal(2), unit_price=Decimal("18.50"), vat_rate=6)],
    )
    return invoice.model_dump(mode="json")


def test_the_same_order_event_twice_makes_one_invoice_and_sends_it_once(
    redis_service: Redis, served: tuple[Sandbox, str]
) -> None:
    sandbox, url = served
    tasks = _tasks(redis_service, lambda provider, account: {**sandbox.credentials(), "base_url": url})
    first = tasks.create_and_send.apply(args=("cashaca", "shop", _order(), "order-1001")).get()
    again = tasks.create_and_send.apply(args=("cashaca", "shop", _order(), "order-1001")).get()
    assert again["provider_id"] == first["provider_id"]
    assert len(sandbox.store.all("invoices")) == 1
    assert len(sandbox.store.all("clients")) == 1
    assert len(sandbox.store.all("deliveries")) == 1
    other = tasks.create_and_send.apply(args=("cashaca", "shop", _order(), "order-1002"), kwargs={"via": None}).get()
    assert other["provider_id"] != first["provider_id"]
    assert other["sent"] is False
    assert len(sandbox.store.all("invoices")) == 2
    assert len(sandbox.store.all("clients")) == 1  # the customer, by its external id
    assert len(sandbox.store.all("deliveries")) == 1


def test_an_invalid_order_is_refused_naming_the_field_before_any_request(
    redis_service: Redis, served: tuple[Sandbox, str]
) -> None:
    sandbox, url = served
    tasks = _tasks(redis_service, lambda provider, account: {**sandbox.credentials(), "base_url": url})
    order = _order()
    order["rows"] = []
    with pytest.raises(ValidationError, match="rows"):
        tasks.create_and_send.apply(args=("cashaca", "shop", order, "order-1003")).get()
    assert len(sandbox.request_log) == 0


def test_credentials_come_from_the_accounts_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEKIT_CASHACA_TOKEN", "default-token")
    monkeypatch.setenv("INVOICEKIT_SHOP_42_CASHACA_TOKEN", "shop-token")
    monkeypatch.setenv("INVOICEKIT_SHOP_42_CASHACA_BASE_URL", "https://shop42.example")
    assert environment_credentials("cashaca", "default") == {"token": "default-token"}
    assert environment_credentials("cashaca", "shop-42") == {
        "token": "shop-token",
        "base_url": "https://shop42.example",
    }


def test_an_account_whose_credentials_are_incomplete_never_borrows_the_default_accounts(
    redis_service: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INVOICEKIT_CASHACA_TOKEN", "default-token")
    tasks = _tasks(redis_service, lambda provider, account: {"base_url": "http://127.0.0.1:9"})
    with pytest.raises(ConfigurationError, match="token=") as refused:
        tasks.create_and_send.apply(args=("cashaca", "shop", _order(), "order-1004")).get()
    assert "default-token" not in str(refused.value)
    json.dumps(_order())  # the task's arguments are plain JSON: nothing secret in them


def test_a_task_whose_lock_is_taken_over_logs_it_and_sends_nothing_more(
    redis_service: Redis, served: tuple[Sandbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The order's lock lapses while the first request is under way and another worker takes it: the renewal
    finds out, the next request is refused before it leaves, and the task retries instead of working on."""
    sandbox, url = served
    resolve = lambda provider, account: {**sandbox.credentials(), "base_url": url}  # noqa: E731
    tasks = _tasks(redis_service, resolve, lock_seconds=0.3)
    name = "invoicekit:order:cashaca:shop:order-2001"
    store = redis.Redis(port=redis_service.port, db=7)

    def take_over() -> None:  # once the first request is under way, the lock is another worker's
        deadline = time.monotonic() + 30
        while not sandbox.request_log and time.monotonic() < deadline:
            time.sleep(0.005)
        store.set(name, "other-worker", px=30_000)

    sandbox.faults.add(FaultRule.slow(0.5, method="GET", times=1))  # the client's search by key, the first request
    thief = threading.Thread(target=take_over)
    thief.start()
    with caplog.at_level(logging.WARNING, logger="invoicekit"), pytest.raises(Retry):
        # A later retry finds the lock held, or the other worker's result: nothing done unguarded.
        tasks.create_and_send.apply(args=("cashaca", "shop", _order(), "order-2001")).get()
    thief.join()
    assert [entry.method for entry in sandbox.request_log] == ["GET"], sandbox.request_log
    assert sandbox.store.all("clients") == []
    assert sandbox.store.all("invoices") == []
    assert store.get(name) == b"other-worker"  # not released by the worker that lost it
    lost = [record.getMessage() for record in caplog.records if "lost the lock" in record.getMessage()]
    assert lost == [f"lost the lock {name}: this execution stops working on it and retries later"]
    assert all(sandbox.credentials()["token"] not in record.getMessage() for record in caplog.records)
