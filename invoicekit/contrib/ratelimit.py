"""A request rate limit per provider account, shared by every process through Redis (``invoicekit[redis]``).

A provider limits each *account*, not each worker: four workers that each keep to 10 requests a second send
40 to the one account they share. :class:`AccountRateLimit` counts every request of an account in Redis,
so the limit holds however many processes and machines send::

    limit = AccountRateLimit("redis://localhost:6379/0", limit=10)          # 10 requests per second
    account = account_key("cashaca", token=token)                           # a hash, never the token
    books = invoicekit.connect("cashaca", token=token, transport=RateLimitedTransport(limit, account))

Every attempt the engine makes (retries included) goes through the transport, which waits for a slot of
the account before sending. A 429 answer blocks the whole account, in every process, for its Retry-After
(the limit's ``period`` when the answer gives none); the engine then retries that request as usual, and it
waits for the block like every other request of the account.

**What is counted.** The provider counts arrivals, and a request arrives some time after the worker was
allowed to send it (a loaded worker, a slow network, a queue in front of the provider): counting grants
alone lets a delayed batch arrive together and exceed the limit at the provider. So a request occupies its
slot from the moment it is granted until one ``period`` after its answer came back. Its arrival lies in
that interval, so in any window of ``period`` seconds the provider sees at most ``limit`` requests, whatever
the delays. The price is the answer's latency per slot: at 50 ms, a limit of 20 per second gives about 19.
Both sets (in flight, and answered within the last period) are Redis sorted sets read and changed by one Lua
script on Redis's own clock, so the hosts' clocks need not agree. A request whose worker died before the
answer frees its slot after ``hold`` seconds.

If Redis cannot be reached, the request is not sent and the engine sees a connection error (``httpx.ConnectError``,
retried like any request that never left).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import redis
import redis.asyncio

from invoicekit.engine import RetryPolicy

__all__ = ["AccountRateLimit", "AsyncRateLimitedTransport", "RateLimitedTransport", "account_key"]

# Grants one request if the account is neither blocked nor full. KEYS: in flight (score: when the hold
# ends), answered (score: when), blocked. ARGV: limit, period (µs), hold (µs), token. Returns 0 when granted,
# else the microseconds after which a slot may be free. Runs atomically in Redis, on Redis's clock.
_ACQUIRE = """
local blocked = redis.call('PTTL', KEYS[3])
if blocked > 0 then return blocked * 1000 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(hold / 1000) + 1000)
  return 0
end
local answered = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if answered[2] then return math.max(1, tonumber(answered[2]) + period - now) end
local held = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.min(period, tonumber(held[2]) - now))
"""

# The answer of a granted request came back: its slot stays taken for one more period. KEYS: in flight,
# answered. ARGV: period (µs), token.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
return 0
"""

# Blocks an account for ARGV[1] milliseconds; a block already running longer is kept.
_BLOCK = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 0
"""


def account_key(provider: str, **identity: object) -> str:
    """A stable key for one provider account: ``provider:`` + a hash of what identifies it.

    Pass the account's credentials and base URL (``account_key("cashaca", token=..., base_url=...)``) or an
    id of your own (``account_key("cashaca", merchant=42)``). Only a BLAKE2b digest of them ends up in Redis
    and in logs, never a credential.
    """
    canonical = json.dumps({name: str(value) for name, value in identity.items()}, sort_keys=True)
    digest = hashlib.blake2b(canonical.encode(), digest_size=16, person=b"invoicekit-rl").hexdigest()
    return f"{provider}:{digest}"


class AccountRateLimit:
    """At most ``limit`` requests per ``period`` seconds at the provider, for each account key, counted in Redis.

    ``server`` is a Redis URL or a ``redis.Redis`` client (sync); the ``*_async`` methods use a
    ``redis.asyncio`` client made from the same URL (or ``async_server``). ``hold`` bounds how long a request
    without an answer keeps its slot (its worker may have died); keep it above your HTTP timeout.
    """

    def __init__(
        self,
        server: str | redis.Redis,
        *,
        limit: int,
        period: float = 1.0,
        hold: float = 120.0,
        prefix: str = "invoicekit:ratelimit:",
        async_server: redis.asyncio.Redis | None = None,
    ) -> None:
        if limit < 1 or period <= 0 or hold <= 0:
            raise ValueError("limit must be >= 1, and period and hold > 0")
        self.limit = limit
        self.period = period
        self.hold = hold
        self.prefix = prefix
        self._url = server if isinstance(server, str) else None
        self._redis = redis.Redis.from_url(server) if isinstance(server, str) else server
        self._async_redis = async_server

    def __repr__(self) -> str:
        return f"AccountRateLimit(limit={self.limit}, period={self.period})"

    def _keys(self, account: str) -> list[str]:
        return [f"{self.prefix}{account}:{part}" for part in ("inflight", "answered", "blocked")]

    def _acquire_args(self, account: str, token: str) -> list[str | int]:
        # The scripts count in microseconds (Redis's TIME), so limits below a millisecond still mean something.
        return [*self._keys(account), self.limit, _us(self.period), _us(self.hold), token]

    def try_acquire(self, account: str, token: str) -> float:
        """Take a slot of ``account`` for the request ``token`` (unique) if one is free: 0.0, else the seconds
        to wait before asking again. A granted slot is given back with :meth:`release` once the answer is in."""
        waited = self._redis.eval(_ACQUIRE, 3, *self._acquire_args(account, token))
        return int(waited) / 1_000_000

    def acquire(self, account: str) -> str:
        """Wait until ``account`` may send one more request; returns the token to :meth:`release`."""
        token = uuid.uuid4().hex
        while (wait := self.try_acquire(account, token)) > 0:
            time.sleep(wait)
        return token

    def release(self, account: str, token: str) -> None:
        """The request's answer came back (or it failed): its slot frees one ``period`` from now."""
        self._redis.eval(_RELEASE, 2, *self._keys(account)[:2], _us(self.period), token)

    @contextlib.contextmanager
    def slot(self, account: str) -> Iterator[None]:
        """``with limit.slot(account): send()``: acquire before, release after."""
        token = self.acquire(account)
        try:
            yield
        finally:
            self.release(account, token)

    def block(self, account: str, seconds: float) -> None:
        """Hold every request of ``account``, in every process, for ``seconds`` (a 429's Retry-After)."""
        self._redis.eval(_BLOCK, 1, self._keys(account)[2], max(1, round(seconds * 1000)))

    def _async_client(self) -> redis.asyncio.Redis:
        if self._async_redis is None:
            if self._url is None:
                raise TypeError("the async methods need a Redis URL or async_server=")
            self._async_redis = redis.asyncio.Redis.from_url(self._url)
        return self._async_redis

    async def acquire_async(self, account: str) -> str:
        """:meth:`acquire` for async code: waits without blocking the event loop."""
        import anyio

        client, token = self._async_client(), uuid.uuid4().hex
        while (waited := int(await client.eval(_ACQUIRE, 3, *self._acquire_args(account, token)))) > 0:
            await anyio.sleep(waited / 1_000_000)
        return token

    async def release_async(self, account: str, token: str) -> None:
        await self._async_client().eval(_RELEASE, 2, *self._keys(account)[:2], _us(self.period), token)

    async def block_async(self, account: str, seconds: float) -> None:
        await self._async_client().eval(_BLOCK, 1, self._keys(account)[2], max(1, round(seconds * 1000)))


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _unreachable(exc: redis.RedisError, request: httpx.Request) -> httpx.ConnectError:
    # The request was not sent; the engine retries a ConnectError like any request that never left.
    return httpx.ConnectError(f"the rate limit store cannot be reached ({type(exc).__name__})", request=request)


class RateLimitedTransport(httpx.BaseTransport):
    """An httpx transport that takes a slot of ``account`` before each request (``connect(..., transport=)``)."""

    def __init__(self, limit: AccountRateLimit, account: str, transport: httpx.BaseTransport | None = None) -> None:
        self.limit = limit
        self.account = account
        self._transport = transport or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            token = self.limit.acquire(self.account)
        except redis.RedisError as exc:
            raise _unreachable(exc, request) from None
        try:
            response = self._transport.handle_request(request)
        finally:
            # If Redis fails here the slot frees itself after `hold`.
            with contextlib.suppress(redis.RedisError):
                self.limit.release(self.account, token)
        if response.status_code == 429:
            # If Redis fails here the engine still waits out this 429 itself; only the other workers are not told.
            with contextlib.suppress(redis.RedisError):
                self.limit.block(self.account, RetryPolicy.retry_after(response) or self.limit.period)
        return response

    def close(self) -> None:
        self._transport.close()


class AsyncRateLimitedTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RateLimitedTransport` (``connect_async(..., transport=)``)."""

    def __init__(
        self, limit: AccountRateLimit, account: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.limit = limit
        self.account = account
        self._transport = transport or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            token = await self.limit.acquire_async(self.account)
        except redis.RedisError as exc:
            raise _unreachable(exc, request) from None
        try:
            response = await self._transport.handle_async_request(request)
        finally:
            # If Redis fails here the slot frees itself after `hold`.
            with contextlib.suppress(redis.RedisError):
                await self.limit.release_async(self.account, token)
        if response.status_code == 429:
            # If Redis fails here the engine still waits out this 429 itself; only the other workers are not told.
            with contextlib.suppress(redis.RedisError):
                await self.limit.block_async(self.account, RetryPolicy.retry_after(response) or self.limit.period)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()
