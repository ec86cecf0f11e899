"""How ``connect()`` builds its own httpx client: one SSL context per process, the network transport on first use.

httpx builds its network transport (httpcore's connection pool, which imports httpcore and h11) and loads
the CA bundle into an SSL context when the client is made. A connection to a sandbox or through a given
transport needs neither (it gets no SSL context at all); one that is made and closed (a health check, a
script that fails validation before any request) sends nothing. So connect() hands the client a transport
that builds the real one on the first request: the lanes (invoicekit/engine/_lanes.py, httpx transports of
one connection each, which spare httpcore's shared pool its O(connections) work per request), with httpx's
default limits, paid by the first request instead of by every connect(). (The lanes take the SSL context
when built, so a plain-HTTP base URL still builds the shared one, on that first request.)
"""

from __future__ import annotations

import functools
import ssl
import threading
from typing import Any
from urllib.request import getproxies

import httpx

from invoicekit.engine._lanes import AsyncLanes, Lanes

__all__ = ["OwnAsyncClient", "OwnClient", "client_options", "shared_ssl_context"]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    # Building one loads the CA bundle (20 ms or more); every connection of the process shares it. Built
    # once, the first time it is needed, from the same environment (SSL_CERT_FILE, SSL_CERT_DIR) httpx reads.
    return httpx.create_ssl_context()


class _LazyTransport(httpx.BaseTransport):
    """The lanes transport (invoicekit/engine/_lanes.py: one httpx transport per connection), built on the
    first request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a client may be shared by threads: build one transport, not two
        self._inner: Lanes | None = None

    def _transport(self) -> Lanes:
        with self._lock:
            if self._inner is None:
                self._inner = Lanes(verify=shared_ssl_context())
            return self._inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._inner or self._transport()
        return inner.handle_request(request)

    def close(self) -> None:
        with self._lock:
            inner = self._inner
        if inner is not None:
            inner.close()


class _LazyAsyncTransport(httpx.AsyncBaseTransport):
    """The async lanes transport, built on the first request."""

    def __init__(self) -> None:
        # Built between two awaits, so one event loop never builds two; an AsyncClient belongs to one loop.
        self._inner: AsyncLanes | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = AsyncLanes(verify=shared_ssl_context())
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


class _NoCookies(httpx.Cookies):
    """A cookie jar that stores nothing: what connect()'s own client has instead of httpx's."""

    def extract_cookies(self, response: httpx.Response) -> None:
        # httpx calls this for every response, and builds a urllib request and response for the standard
        # library's jar each time (about 5 % of a create's client CPU). Nothing would read what it stored: the
        # engine builds its requests itself, not with client.build_request (the only place httpx adds a
        # client's cookies to a request), and follows no redirect; no provider uses cookies.
        return None


class _KeepsNoCookies:
    """What connect()'s own clients have instead of httpx's cookie jar: one that keeps nothing."""

    _kept_none: httpx.Cookies | None = None

    @property
    def cookies(self) -> httpx.Cookies:
        if self._kept_none is None:
            self._kept_none = _NoCookies()
        return self._kept_none

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("connect()'s own client keeps no cookies")


class OwnClient(_KeepsNoCookies, httpx.Client):
    """connect()'s own ``httpx.Client``: httpx's, keeping no cookies (a caller's ``http_client=`` is left as it
    is)."""


class OwnAsyncClient(_KeepsNoCookies, httpx.AsyncClient):
    """The async twin of :class:`OwnClient`."""


def _environment_proxies() -> bool:
    # What httpx's trust_env reads (urllib's getproxies: *_proxy variables, and the registry or system
    # settings where there are such): a client given a transport ignores them, so such a client is built
    # the way httpx builds it, with its proxy routes.
    return any(scheme in ("http", "https", "all") for scheme in getproxies())


def client_options(
    timeout: httpx.Timeout | float, transport: Any, auth: httpx.Auth | None, *, asynchronous: bool
) -> dict[str, Any]:
    """The keywords connect() builds its own ``httpx.Client`` / ``httpx.AsyncClient`` with."""
    options: dict[str, Any] = {"timeout": timeout, "auth": auth, "follow_redirects": False}
    if transport is not None:  # a sandbox's or the caller's: httpx uses it alone (no SSL context, no proxies)
        options["transport"] = transport
    elif _environment_proxies():
        options["verify"] = shared_ssl_context()
    else:
        options["transport"] = _LazyAsyncTransport() if asynchronous else _LazyTransport()
    return options
