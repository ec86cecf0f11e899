"""The :class:`Sandbox`: a provider's fake API app plus its state, credentials, faults and request log."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from invoicekit.sandbox._faults import FaultDecision, FaultKind, FaultRule, Faults
from invoicekit.sandbox._provenance import Provenance
from invoicekit.sandbox._store import MemoryStore, StateStore

if TYPE_CHECKING:
    from invoicekit.sandbox._transport import SandboxTransport

__all__ = ["LoggedRequest", "RequestLog", "Sandbox"]

logger = logging.getLogger("invoicekit.sandbox")

_CREDENTIALS = "_sandbox_credentials"

Headers = list[tuple[bytes, bytes]]


class LoggedRequest(tuple[str, str]):
    """One request the sandbox saw: a ``(method, path)`` pair that also carries what the client got.

    It compares equal to the plain tuple (``("GET", "/api/v2/clients.json") in sandbox.request_log``).
    ``status`` is the status line sent (None until then); ``fault`` the injected fault, None for a genuine
    answer. The path never includes the query string, where some providers carry the API token. ``at`` is
    when the request arrived (``time.monotonic()``), so a test can measure the rate the sandbox saw.
    """

    status: int | None
    fault: FaultKind | None
    at: float

    def __new__(cls, method: str, path: str) -> LoggedRequest:
        entry = super().__new__(cls, (method, path))
        entry.status = None
        entry.fault = None
        entry.at = time.monotonic()
        return entry

    @property
    def method(self) -> str:
        return self[0]

    @property
    def path(self) -> str:
        return self[1]

    def __repr__(self) -> str:
        fault = f", fault={self.fault.value!r}" if self.fault else ""
        return f"LoggedRequest({self[0]!r}, {self[1]!r}, status={self.status!r}{fault})"


class RequestLog(list[LoggedRequest]):
    """The requests a sandbox saw, oldest first: a plain list that keeps only the last ``maxlen``.

    A test's sandbox sees a few thousand requests; ``invoicekit sandbox serve`` may run for days, so the
    server keeps a short log. Trimming happens in batches, so an append stays O(1) on average.
    """

    def __init__(self, maxlen: int | None = None) -> None:
        super().__init__()
        self.maxlen = maxlen
        #: How many of the oldest entries were dropped to respect ``maxlen``.
        self.dropped = 0

    def append(self, entry: LoggedRequest) -> None:
        super().append(entry)
        if self.maxlen is not None and len(self) >= 2 * self.maxlen:
            excess = len(self) - self.maxlen
            del self[:excess]
            self.dropped += excess

    def recent(self) -> list[LoggedRequest]:
        """At most ``maxlen`` newest entries (the list itself may hold up to twice that between trims)."""
        return list(self if self.maxlen is None else self[-self.maxlen :])


#: Entries an in-process sandbox keeps (a served one keeps :data:`SERVED_LOG_SIZE`, see _cli).
DEFAULT_LOG_SIZE = 100_000


class Sandbox:
    """A stateful local fake of one provider's HTTP API.

    A provider builds its ASGI app (usually Starlette) from the sandbox, either by passing
    ``app_factory(sandbox) -> app`` or by subclassing and overriding :meth:`build_app`. The sandbox wraps
    that app with fault injection and request logging; ``sandbox.app`` is the wrapped app that the
    in-process transport and the uvicorn server both run.

    Credentials live in the store, so a sandbox reopened on the same :class:`SqliteStore` accepts the
    same token. ``base_url`` is what the provider's adapter takes as its ``base_url=`` setting: the host
    (``http://cashaca.sandbox``), plus ``api_root`` for an adapter that expects the API's path in it
    (the URLs :func:`running` yields end in ``api_root`` too). ``credential_name`` is the
    keyword ``invoicekit.connect`` expects for the token (Cashaca: ``token``). ``curl_template`` is a
    ready-to-run request shown by ``invoicekit sandbox serve``, with ``{base_url}`` and the credential
    name as placeholders.

    Handlers doing read-modify-write on the store (next serial number, then insert) run it in
    ``with sandbox.store.transaction():``, which holds across threads and, on a :class:`SqliteStore`,
    across processes sharing the file. ``with sandbox.lock:`` is the same transaction under its old name;
    it stays for the handlers written before, and will be deprecated once none uses it.

    ``provenance`` lists where everything the sandbox serves comes from (:mod:`invoicekit.sandbox._provenance`);
    with ``strict=True`` the provider's app serves only what is documented or observed (it asks
    ``sandbox.provenance`` before serving an assumed field, refusal or endpoint).
    """

    def __init__(
        self,
        name: str,
        app_factory: Callable[[Sandbox], ASGIApp] | None = None,
        *,
        store: StateStore | None = None,
        seed: int | None = None,
        faults: Iterable[FaultRule] = (),
        credential_name: str = "token",
        curl_template: str | None = None,
        api_root: str = "",
        base_url: str | None = None,
        provenance: Provenance | None = None,
        strict: bool = False,
    ) -> None:
        if strict and provenance is None:
            raise ValueError(f"the {name} sandbox has no provenance data, so it cannot run in strict mode")
        self.name = name
        self.provenance = provenance
        self.strict = strict
        self._owns_store = store is None
        self.store: StateStore = MemoryStore() if store is None else store
        self.faults = Faults(faults, seed=seed)
        self.request_log = RequestLog(DEFAULT_LOG_SIZE)
        self.api_root = api_root.rstrip("/")
        self.base_url = base_url or f"http://{name}.sandbox{self.api_root}"
        self.credential_name = credential_name
        self.curl_template = curl_template
        self._app_factory = app_factory
        if not self.store.all(_CREDENTIALS):
            self.issue_credentials()
        self.provider_app: ASGIApp = self.build_app()
        self.app: ASGIApp = self._asgi

    @property
    def lock(self) -> AbstractContextManager[None]:
        """The store's transaction (``with sandbox.lock:``); prefer ``sandbox.store.transaction()``."""
        return self.store.transaction()

    def build_app(self) -> ASGIApp:
        """Return the provider's ASGI app; override this or pass ``app_factory``."""
        if self._app_factory is None:
            raise NotImplementedError("pass app_factory or override Sandbox.build_app")
        return self._app_factory(self)

    def __repr__(self) -> str:
        # Deliberately no credentials: reprs end up in logs and test reports.
        return (
            f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, "
            f"store={self.store!r}, faults={self.faults!r}, strict={self.strict!r})"
        )

    # --- credentials -------------------------------------------------------------------------------------

    def _tokens(self) -> list[str]:
        return [str(record["token"]) for record in self.store.all(_CREDENTIALS) if not record.get("revoked")]

    def credentials(self) -> dict[str, str]:
        """The keyword arguments for ``invoicekit.connect(name, **credentials)``, e.g. ``{"token": ...}``."""
        tokens = self._tokens()
        if not tokens:
            return self.issue_credentials()
        return {self.credential_name: tokens[0]}

    def issue_credentials(self) -> dict[str, str]:
        """Make a fresh valid token (the older ones stay valid) and return it as :meth:`credentials` does."""
        token = "sbx_" + secrets.token_hex(20)
        self.store.insert(_CREDENTIALS, {"token": token, "issued_at": utc_timestamp()})
        return {self.credential_name: token}

    def revoke_credentials(self, credentials: Mapping[str, str]) -> None:
        """Make a token invalid, to test what a client does with a 401."""
        token = credentials[self.credential_name]
        for record in self.store.all(_CREDENTIALS):
            if hmac.compare_digest(str(record["token"]), token):
                record["revoked"] = True
                self.store.replace(_CREDENTIALS, int(record["id"]), record)

    def accepts(self, token: str | None) -> bool:
        """Whether ``token`` is a valid credential (constant-time comparison)."""
        if not token:
            return False
        given = token.encode()
        # No early exit, so timing does not tell how many tokens were compared.
        return any([hmac.compare_digest(given, known.encode()) for known in self._tokens()])

    def curl_example(self, base_url: str | None = None) -> str | None:
        """A ready-to-paste curl command against ``base_url`` (default :attr:`base_url`), or None."""
        if self.curl_template is None:
            return None
        values = {"base_url": (base_url or self.base_url).rstrip("/"), **self.credentials()}
        return self.curl_template.format(**values)

    # --- plumbing ----------------------------------------------------------------------------------------

    def transport(self, *, raise_app_exceptions: bool = True) -> SandboxTransport:
        """An in-process transport (sync and async) for ``httpx.Client``/``httpx.AsyncClient``."""
        from invoicekit.sandbox._transport import SandboxTransport

        return SandboxTransport(self.app, raise_app_exceptions=raise_app_exceptions)

    def close(self) -> None:
        """Release what the sandbox opened (a store passed in stays open: its owner closes it)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the ASGI wrapper --------------------------------------------------------------------------------

    def fault_response(self, decision: FaultDecision) -> tuple[int, Headers, bytes]:
        """The answer for a 429 or an injected 5xx; override for a provider-specific shape."""
        if decision.kind is FaultKind.RATE_LIMIT:
            body = json.dumps({"error": "Too many requests, slow down"}).encode()
            return (
                429,
                [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"retry-after", str(decision.retry_after).encode()),
                ],
                body,
            )
        status = decision.status or 503
        # 5xx usually come from the load balancer in front of the app, so they are HTML, not API JSON.
        reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        html = f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
        return status, [(b"content-type", b"text/html; charset=utf-8")], html

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.provider_app(scope, receive, send)
            return
        entry = LoggedRequest(str(scope["method"]), str(scope["path"]))
        self.request_log.append(entry)
        decision = self.faults.decide(entry.method, entry.path)
        # A delayed but otherwise genuine answer is logged as a latency fault, so a test can still tell.
        entry.fault = decision.kind or (FaultKind.LATENCY if decision.delay else None)
        if decision.delay:
            await anyio.sleep(decision.delay)

        if decision.kind is None:

            async def logging_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    entry.status = int(message["status"])
                    logger.info("%s %s %s -> %s", self.name, entry.method, entry.path, entry.status)
                await send(message)

            await self.provider_app(scope, receive, logging_send)
            return

        if decision.runs_handler:
            status, headers, body = await _capture(self.provider_app, scope, receive)
            logger.info(
                "%s %s %s -> %s, then injected fault %s",
                self.name,
                entry.method,
                entry.path,
                status,
                decision.kind.value,
            )
        else:
            logger.info("%s %s %s -> injected fault %s", self.name, entry.method, entry.path, decision.kind.value)

        if decision.kind is FaultKind.DROP_AFTER_COMMIT:
            entry.status = status
            # Promise the whole body, deliver half, and stop: over a socket the server then closes the
            # connection, and the client sees an incomplete body, as when a proxy dies mid-response.
            declared = max(len(body), 1)
            headers = _with_length(headers, declared)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            return
        if decision.kind is FaultKind.MALFORMED:
            status, body = 200, garble(body, decision.variant)
        else:
            status, headers, body = self.fault_response(decision)
        entry.status = status
        await send({"type": "http.response.start", "status": status, "headers": _with_length(headers, len(body))})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _with_length(headers: Headers, length: int) -> Headers:
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
    return [*kept, (b"content-length", str(length).encode())]


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
    """Run ``app`` to completion and return its response instead of sending it."""
    status = 500
    headers: Headers = []
    chunks: list[bytes] = []

    async def capture_send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, capture_send)
    return status, headers, b"".join(chunks)


def garble(body: bytes, variant: float) -> bytes:
    """Return ``body`` made unreadable as JSON: truncated (variant < 0.5) or with junk spliced in."""
    if variant < 0.5:
        # Cut somewhere in the middle half, where a real short read tends to land.
        cut = int(len(body) * (0.25 + variant))
        broken = body[: max(1, min(cut, len(body) - 1))] if len(body) > 1 else b"{"
    else:
        middle = len(body) // 2
        broken = body[:middle] + b"\x00\xff<!-- upstream -->" + body[middle:]
    try:
        json.loads(broken)
    except ValueError:
        return broken
    # A truncated number is still a number: make sure the result cannot be parsed after all.
    return b"<" + broken


def utc_timestamp(moment: datetime | None = None) -> str:
    """An ISO 8601 timestamp the way Rails renders one: ``2025-05-01T08:00:00.000Z``."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
