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

The count is a sliding log (a Redis sorted set of grant times, read on Redis's own clock, so the hosts'
clocks need not agree): at most ``limit`` grants in any ``period + margin`` seconds. The margin absorbs the
jitter between a grant and the request's arrival at the provider, who counts arrivals; set ``limit`` to
the provider's published limit, or a little below when the network between is slow or uneven.

If Redis cannot be reached, the request is not sent and the engine sees a connection error (``httpx.ConnectError``,
retried like any request that never left).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from typing import Any

import httpx
import redis
import redis.asyncio

from invoicekit.engine import RetryPolicy

__all__ = ["AccountRateLimit", "AsyncRateLimitedTransport", "RateLimitedTransport", "account_key"]

# Grants one request if the account is neither blocked nor at its limit. Returns 0 when granted, else the
# microseconds to wait before asking again. Runs atomically in Redis, on Redis's clock.
_ACQUIRE = """
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked * 1000 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
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
    """At most ``limit`` requests per ``period`` seconds for each account key, counted in Redis.

    ``server`` is a Redis URL or a ``redis.Redis`` client (sync); :meth:`acquire_async` uses a
    ``redis.asyncio`` client made from the same URL (or ``async_server``).
    """

    def __init__(
        self,
        server: str | redis.Redis,
        *,
        limit: int,
        period: float = 1.0,
        margin: float = 0.1,
        prefix: str = "invoicekit:ratelimit:",
        async_server: redis.asyncio.Redis | None = None,
    ) -> None:
        if limit < 1 or period <= 0 or margin < 0:
            raise ValueError("limit must be >= 1, period > 0 and margin >= 0")
        self.limit = limit
        self.period = period
        self.margin = margin
        self.prefix = prefix
        self._url = server if isinstance(server, str) else None
        self._redis = redis.Redis.from_url(server) if isinstance(server, str) else server
        self._async_redis = async_server
        self._window_us = round((period + margin) * 1_000_000)

    def __repr__(self) -> str:
        return f"AccountRateLimit(limit={self.limit}, period={self.period}, margin={self.margin})"

    def _keys(self, account: str) -> list[str]:
        return [f"{self.prefix}{account}:log", f"{self.prefix}{account}:blocked"]

    def _args(self) -> list[Any]:
        return [self.limit, self._window_us, uuid.uuid4().hex]

    def try_acquire(self, account: str) -> float:
        """Take one request slot of ``account`` if there is one: 0.0, else the seconds to wait first."""
        waited = self._redis.eval(_ACQUIRE, 2, *self._keys(account), *self._args())
        return int(waited) / 1_000_000

    def acquire(self, account: str) -> None:
        """Wait until ``account`` may send one more request, and count it."""
        while (wait := self.try_acquire(account)) > 0:
            time.sleep(wait)

    def block(self, account: str, seconds: float) -> None:
        """Hold every request of ``account``, in every process, for ``seconds`` (a 429's Retry-After)."""
        self._redis.eval(_BLOCK, 1, self._keys(account)[1], max(1, round(seconds * 1000)))

    def _async_client(self) -> redis.asyncio.Redis:
        if self._async_redis is None:
            if self._url is None:
                raise TypeError("acquire_async needs a Redis URL or async_server=")
            self._async_redis = redis.asyncio.Redis.from_url(self._url)
        return self._async_redis

    async def acquire_async(self, account: str) -> None:
        """:meth:`acquire` for async code: waits without blocking the event loop."""
        import anyio

        client = self._async_client()
        while (waited := int(await client.eval(_ACQUIRE, 2, *self._keys(account), *self._args()))) > 0:
            await anyio.sleep(waited / 1_000_000)

    async def block_async(self, account: str, seconds: float) -> None:
        await self._async_client().eval(_BLOCK, 1, self._keys(account)[1], max(1, round(seconds * 1000)))


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
            self.limit.acquire(self.account)
        except redis.RedisError as exc:
            raise _unreachable(exc, request) from None
        response = self._transport.handle_request(request)
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
            await self.limit.acquire_async(self.account)
        except redis.RedisError as exc:
            raise _unreachable(exc, request) from None
        response = await self._transport.handle_async_request(request)
        if response.status_code == 429:
            # If Redis fails here the engine still waits out this 429 itself; only the other workers are not told.
            with contextlib.suppress(redis.RedisError):
                await self.limit.block_async(self.account, RetryPolicy.retry_after(response) or self.limit.period)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()
