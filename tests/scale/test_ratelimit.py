"""The per-account request rate limit, shared through a real redis-server by separate OS processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

import invoicekit
from invoicekit.contrib.ratelimit import AccountRateLimit, RateLimitedTransport, account_key
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox, running
from tests.scale._measure import peak_in_window, peak_rate
from tests.scale._services import Redis

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_client(redis_service: Redis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_service.url)
    client.flushdb()
    yield client
    client.close()


def test_the_account_key_is_a_hash_of_the_credentials_not_the_credentials() -> None:
    token = "sbx_0123456789abcdef"
    key = account_key("cashaca", token=token, base_url="https://example.test")
    assert key.startswith("cashaca:")
    assert token not in key
    assert key == account_key("cashaca", base_url="https://example.test", token=token)
    assert key != account_key("cashaca", token=token + "x", base_url="https://example.test")


def test_two_clients_share_one_accounts_slots(redis_client: redis.Redis, redis_service: Redis) -> None:
    first = AccountRateLimit(redis_client, limit=3, period=0.5)
    second = AccountRateLimit(redis_service.url, limit=3, period=0.5)
    assert [first.try_acquire("a", "r1"), second.try_acquire("a", "r2"), first.try_acquire("a", "r3")] == [0.0] * 3
    # Full while the three are in flight, however long they take: their arrival is not known yet.
    assert 0.45 < second.try_acquire("a", "r4") <= 0.5
    assert first.try_acquire("another account", "x1") == 0.0
    time.sleep(0.6)
    assert second.try_acquire("a", "r4") > 0
    # Answered: each slot stays taken for one period after its answer.
    first.release("a", "r1")
    wait = second.try_acquire("a", "r4")
    assert 0.4 < wait <= 0.5
    time.sleep(wait)
    assert second.try_acquire("a", "r4") == 0.0
    assert second.try_acquire("a", "r5") > 0


def test_a_request_whose_worker_died_frees_its_slot_after_the_hold(redis_client: redis.Redis) -> None:
    limit = AccountRateLimit(redis_client, limit=1, period=0.2, hold=0.3)
    assert limit.try_acquire("a", "dead worker's") == 0.0  # never released
    assert 0.15 < limit.try_acquire("a", "next") <= 0.2
    time.sleep(0.35)
    assert limit.try_acquire("a", "next") == 0.0


def test_a_429_blocks_the_account_for_every_worker_for_its_retry_after(
    redis_client: redis.Redis, redis_service: Redis
) -> None:
    answers = [httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(200)]
    worker_a = RateLimitedTransport(
        AccountRateLimit(redis_client, limit=100), "acct", httpx.MockTransport(lambda _: answers.pop(0))
    )
    worker_b = AccountRateLimit(redis_service.url, limit=100)
    assert worker_b.try_acquire("acct", "b1") == 0.0
    with httpx.Client(transport=worker_a) as client:
        assert client.get("https://provider.test/x").status_code == 429
    assert 1.8 < worker_b.try_acquire("acct", "b2") <= 2.0
    assert worker_b.try_acquire("other", "b3") == 0.0
    worker_b.block("acct", 0.5)  # a shorter block never shortens a longer one
    assert worker_b.try_acquire("acct", "b2") > 1.5


def test_an_unreachable_redis_is_a_connection_error_the_request_is_not_sent() -> None:
    sent: list[httpx.Request] = []
    limit = AccountRateLimit("redis://127.0.0.1:9/0", limit=5)
    transport = RateLimitedTransport(
        limit, "acct", httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    )
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError, match="rate limit store"):
        client.get("https://provider.test/x")
    assert sent == []


def _load(base_url: str, token: str, redis_url: str, limit: int, seconds: float) -> list[int]:
    env = {
        **os.environ,
        "INVOICEKIT_CASHACA_TOKEN": token,
        "INVOICEKIT_TEST_REDIS": redis_url,
        "INVOICEKIT_TEST_LIMIT": str(limit),
    }
    start_at = time.time() + 3.0  # four interpreters start on two cores; then all send at once
    flags = [sys.executable, "-m", "tests.scale._load_worker", base_url, str(start_at), str(seconds)]
    workers = [
        subprocess.Popen(flags, cwd=REPO, env=env, stdout=subprocess.PIPE)  # noqa: S603 - our own interpreter
        for _ in range(4)
    ]
    counts = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        counts.append(int(out))
    return counts


def _served_cashaca(per_second: int) -> Sandbox:
    sandbox = create_sandbox("cashaca")
    sandbox.faults.add(FaultRule.rate_limited(per_second, burst=per_second))
    return sandbox


def test_four_worker_processes_sharing_one_account_stay_within_its_limit(redis_service: Redis) -> None:
    limit, seconds = 8, 4.0
    sandbox = _served_cashaca(limit)
    with sandbox, running(sandbox) as base_url:
        token = sandbox.credentials()["token"]
        counts = _load(base_url, token, redis_service.url, limit, seconds)
        log = sandbox.request_log.recent()
    peak = peak_rate(log)
    print(f"\n4 workers, limit {limit}/s: {sum(counts)} requests in {seconds} s, peak {peak} in any 1 s window")
    assert peak <= limit
    # The limit is a ceiling, not a brake: the workers together use most of it.
    assert sum(counts) >= 0.7 * limit * seconds
    assert not [entry for entry in log if entry.status == 429]


def test_without_the_shared_limit_four_clients_go_over_it() -> None:
    # The control of the test above: the measurement does catch clients that each keep to themselves.
    limit = 8
    sandbox = create_sandbox("cashaca")
    with sandbox, running(sandbox) as base_url:
        token = sandbox.credentials()["token"]

        def send_for_a_second() -> None:
            with invoicekit.connect("cashaca", token=token, base_url=base_url, load_entry_point_hooks=False) as books:
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    list(books.clients.list())

        threads = [threading.Thread(target=send_for_a_second) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log = sandbox.request_log.recent()
    assert peak_rate(log) > 3 * limit


def test_peak_in_window_counts_half_open_windows() -> None:
    assert peak_in_window([]) == 0
    assert peak_in_window([0.0, 0.5, 0.999, 1.0, 1.2]) == 4
    assert peak_in_window([0.0, 1.0, 2.0]) == 1
    assert peak_in_window([0.0, 0.1, 0.2], window=0.15) == 2


def test_the_async_transport_waits_for_the_accounts_slot_and_shares_a_429(redis_client: redis.Redis) -> None:
    import anyio

    from invoicekit.contrib.ratelimit import AsyncRateLimitedTransport

    limit = AccountRateLimit(_url(redis_client), limit=1, period=0.4)
    answers = [httpx.Response(200), httpx.Response(429, headers={"retry-after": "1"})]

    async def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def main() -> tuple[float, float]:
        transport = AsyncRateLimitedTransport(limit, "async-acct", httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport) as client:
            began = time.monotonic()
            await client.get("https://provider.test/a")
            await client.get("https://provider.test/b")  # waits one period after the first one's answer
            waited = time.monotonic() - began
        return waited, limit.try_acquire("async-acct", "sync worker")

    waited, blocked = anyio.run(main)
    assert 0.35 < waited < 1.0
    assert 0.8 < blocked <= 1.0  # the 429 blocked the account, as another (sync) worker sees it


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
