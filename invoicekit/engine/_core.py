"""The engine's logic, written once as a generator of I/O *actions* that a sync or an async runner performs.

An adapter flow yields :class:`~invoicekit.adapter.Step`; the engine turns each into one or more
:class:`Send` actions (retries), :class:`Sleep` actions (backoff) and, for lists, :class:`Emit` actions
(items for the caller). The runners in ``_runners.py`` are the only code that touches a client or a clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Sequence
from typing import Any, NamedTuple, TypeAlias, TypeVar

import httpx
import pluggy

from invoicekit.adapter import (
    Adapter,
    ApiRequest,
    Flow,
    Found,
    LazyPage,
    Listing,
    Lookup,
    LookupResult,
    Step,
    StepResult,
    error_for_status,
)
from invoicekit.engine._body import ACCEPT_ENCODING, BODY_HEADERS, UnreadableBody
from invoicekit.engine._redact import MASK, Redactor
from invoicekit.engine._retry import NOT_SENT, RETRY_STATUSES, RetryPolicy
from invoicekit.errors import (
    InvoicekitError,
    MalformedResponse,
    ProviderError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    ValidationError,
    WriteLanded,
)

__all__ = ["Action", "Emit", "EngineCore", "Observer", "Program", "Send", "Sleep"]

log = logging.getLogger("invoicekit.engine")
T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")

DEFAULT_MAX_BODY = 20 * 1024 * 1024
MAX_PAGES = 100_000
_BODY_IN_ERRORS = 2000


# The actions, and _Landed below, are named tuples rather than frozen dataclasses: as immutable, and each
# class costs a tenth to make (a frozen dataclass compiles six methods when its module is imported, about
# 0.6 ms of every start-up each) and less to build per request.
class Send(NamedTuple):
    request: httpx.Request
    max_bytes: int
    # Set when the connection runs on a caller's client, which does not carry the adapter's auth.
    auth: httpx.Auth | None = None


class Sleep(NamedTuple):
    seconds: float


class Emit(NamedTuple):
    items: Sequence[Any]


Action: TypeAlias = Send | Sleep | Emit
Program: TypeAlias = Generator[Action, Any, T]
# Sees every response as it arrives (the real one, not a masked copy): library code only, never a user hook.
Observer: TypeAlias = Callable[[httpx.Response], None]


# What an adapter's parsing code raises when the provider's payload is not what it expects: a missing key, a
# wrong type, a number decimal cannot hold (ArithmeticError covers InvalidOperation and OverflowError), a
# structure nested deeper than the interpreter's stack.
_PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)


class _Landed(NamedTuple):
    """A write of the running flow that the provider accepted: from here on, nothing is an ordinary failure."""

    step: Step
    outcome: StepResult


def _refusal(error: InvoicekitError, outcome: StepResult) -> bool:
    """Whether ``error``, raised by a flow as it read the success answer to its write, says the write was refused.

    Some providers answer a refusal with HTTP 200 (EenvoudigFactureren's "200 with an error code"); the
    adapter says so by raising the typed error for it: a ProviderError other than MalformedResponse, or a
    ValidationError that names the provider. Anything else (MalformedResponse, a parsing failure, a model's
    ValidationError about the answer's content) means the answer could not be read: the write landed.
    A write a lookup found (``Found``) landed whatever the flow raises next.
    """
    if isinstance(outcome, Found):
        return False
    if isinstance(error, ValidationError):
        return error.provider is not None
    return isinstance(error, ProviderError) and not isinstance(error, MalformedResponse)


# Headers that carry credentials by their nature, masked for hooks whatever their value.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "x-auth-token"})


def _has_content(request: httpx.Request) -> bool:
    try:
        request.content  # noqa: B018 - a streamed body has no content to show
    except httpx.RequestNotRead:
        return False
    return True


class EngineCore:
    """Retries, write reconciliation, paging, hooks and redaction for one adapter."""

    def __init__(
        self,
        adapter: Adapter,
        hooks: pluggy.PluginManager,
        retry: RetryPolicy,
        *,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.adapter = adapter
        self.hooks = hooks
        self.retry = retry
        self.max_body = max_body
        self.redact = Redactor(adapter.secrets())
        # Set by connect(): the User-Agent every request carries (unless the adapter or the call sets one),
        # and the adapter's auth when the connection runs on a caller's client.
        self.user_agent: str | None = None
        self.request_auth: httpx.Auth | None = None
        # Library-internal observers (invoicekit.Bulk watches for 429s): unlike a hook, they need no masked
        # copy of the request and response. A tuple, swapped whole, so threads may iterate it unlocked.
        self._observers: tuple[Observer, ...] = ()
        self._observers_changing = threading.Lock()
        self.redact.register()

    def __repr__(self) -> str:
        return f"<EngineCore {self.adapter.name}>"

    @property
    def provider(self) -> str:
        return self.adapter.name

    # --- building requests -----------------------------------------------------------------------
    def build(self, api: ApiRequest) -> httpx.Request:
        url = self._url(api)
        # Only the codings the runners can decode under the body cap (httpx would add br/zstd when installed).
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **self.adapter.headers(), **api.headers}
        if self.user_agent is not None and not any(name.lower() == "user-agent" for name in headers):
            headers["User-Agent"] = self.user_agent
        if api.json is not None:
            return httpx.Request(api.method, url, json=api.json, headers=headers)
        return httpx.Request(api.method, url, content=api.content, headers=headers)

    def _url(self, api: ApiRequest) -> httpx.URL:
        # Parsed once: httpx.URL(base + path) and then Request(params=...) would parse it twice more.
        url = self.adapter.base_url.rstrip("/") + api.path
        if not api.params:
            return httpx.URL(url)
        params = {k: str(v) for k, v in api.params.items()}
        if "?" in api.path:  # a path that carries its own query: httpx merges the two
            return httpx.URL(url).copy_merge_params(params)
        return httpx.URL(f"{url}?{httpx.QueryParams(params)}")

    def observe(self, observer: Observer) -> None:
        """Call ``observer(response)`` for every response until :meth:`unobserve` (library code only: it
        sees the real response, credentials and all, so nothing it gets may reach a user)."""
        with self._observers_changing:
            self._observers = (*self._observers, observer)

    def unobserve(self, observer: Observer) -> None:
        with self._observers_changing:
            observers = list(self._observers)
            observers.remove(observer)
            self._observers = tuple(observers)

    def _describe(self, request: httpx.Request) -> str:
        # The path only: query strings may hold credentials.
        return f"{request.method} {request.url.path}"

    # --- one flow --------------------------------------------------------------------------------
    def run(self, flow: Flow[T]) -> Program[T]:
        """Drive an adapter flow to its result.

        Once a non-idempotent step of the flow was accepted, every error after it becomes
        :class:`WriteLanded`: the write is not undone, so the caller must not send it again. Adapters need
        not remember this; the engine does it for every flow (see :func:`_refusal` for what "accepted" is).
        """
        try:
            step = next(flow)  # anything raised here happened before a request: let it through as is
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        landed: _Landed | None = None
        while True:
            try:
                outcome = yield from self.step(step)
            except InvoicekitError as exc:
                final = self._after(landed, exc)
                if final is exc:
                    raise
                raise final from exc
            accepted = None
            if not step.idempotent and (isinstance(outcome, Found) or outcome.is_success):
                accepted = _Landed(step, outcome)
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            except InvoicekitError as exc:
                if accepted is not None and not _refusal(exc, accepted.outcome):
                    landed = accepted
                final = self._after(landed, exc)
                if final is exc:
                    raise
                raise final from exc
            except _PARSE_ERRORS as exc:
                error = MalformedResponse(
                    self.redact(f"unexpected response content ({type(exc).__name__}: {exc})"),
                    provider=self.provider,
                    status=outcome.status_code if isinstance(outcome, httpx.Response) else None,
                )
                raise self._after(accepted or landed, error) from None
            landed = accepted or landed

    def _after(self, landed: _Landed | None, error: InvoicekitError) -> InvoicekitError:
        """What to raise for ``error``: itself, or WriteLanded when a write of the flow landed before it."""
        # An UncertainOutcome is about a later write and already says "do not retry".
        if landed is None or isinstance(error, UncertainOutcome | WriteLanded):
            return error
        return self._landed(landed.step, landed.outcome, error)

    def _landed(self, step: Step, outcome: StepResult, cause: InvoicekitError) -> WriteLanded:
        if isinstance(outcome, Found):
            provider_id = outcome.provider_id or None
        else:
            try:
                provider_id = self.adapter.created_id(outcome)
            except (InvoicekitError, *_PARSE_ERRORS):  # the answer is what failed: its id is unknown
                provider_id = None
        operation = f"{step.request.method} {step.request.path}"
        log.warning("%s landed, then failed: %s", operation, cause)
        return WriteLanded(self.provider, operation, provider_id, step.reference, cause)

    def step(self, step: Step) -> Program[StepResult]:
        attempt = 0
        while True:
            attempt += 1
            request = self.build(step.request)
            self._before_request(request)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s attempt %d", self._describe(request), attempt)
            try:
                response: httpx.Response = yield Send(request, self.max_body, self.request_auth)
            except UnreadableBody as exc:
                failure = self._unreadable(exc)
                if not step.idempotent:
                    # A success status came and its body did not: the write landed. Its lookup may still
                    # name the document; sending it again is out of the question.
                    recovered = yield from self._find_landed(step)
                    if recovered is not None:
                        return recovered
                    answered = httpx.Response(exc.status, headers=exc.headers, request=request)
                    raise self._landed(step, answered, failure) from None
                if exc.lost is None:
                    raise failure from None
                cause = failure.args[0]
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise failure from None
                yield from self._wait(request, attempt, delay, cause)
                continue
            except httpx.TransportError as exc:
                cause = self.redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                certainly_not_sent = isinstance(exc, NOT_SENT)
                if not (step.idempotent or certainly_not_sent):
                    found = yield from self.reconcile(step, cause)
                    if isinstance(found, Found):
                        return found
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise TransportError(cause, provider=self.provider) from None
                yield from self._wait(request, attempt, delay, cause)
                continue

            for observer in self._observers:
                observer(response)
            if self.hooks.hook.invoicekit_after_response.get_hookimpls():
                self.hooks.hook.invoicekit_after_response(
                    provider=self.provider, request=self._masked_request(request), response=self._masked(response)
                )
            status = response.status_code
            if response.is_success or status in step.allow:
                return response
            if status not in RETRY_STATUSES:
                raise self.error(response)
            retry_after = RetryPolicy.retry_after(response)
            if not step.idempotent and status != 429:
                # A 5xx after a write may come after the commit: only a lookup can tell.
                found = yield from self.reconcile(step, f"HTTP {status}")
                if isinstance(found, Found):
                    return found
            delay = self.retry.delay(attempt, retry_after)
            if delay is None:
                raise self.error(response, retry_after=retry_after)
            yield from self._wait(request, attempt, delay, f"HTTP {status}")

    def _find_landed(self, step: Step) -> Program[Found | None]:
        """The document a write that certainly landed made, if its lookup finds it."""
        if step.lookup is None:
            return None
        try:
            result = yield from self.run(step.lookup())
        except InvoicekitError:
            return None
        return result if isinstance(result, Found) else None

    def _unreadable(self, exc: UnreadableBody) -> InvoicekitError:
        reason = self.redact(exc.reason)
        if exc.lost is not None:
            return TransportError(reason, provider=self.provider)
        return MalformedResponse(reason, provider=self.provider, status=exc.status)

    def _wait(self, request: httpx.Request, attempt: int, delay: float, reason: str) -> Program[None]:
        self.hooks.hook.invoicekit_on_retry(
            provider=self.provider,
            method=request.method,
            path=request.url.path,
            attempt=attempt,
            delay=delay,
            reason=reason,
        )
        log.info("%s failed (%s); retrying in %.2fs", self._describe(request), reason, delay)
        yield Sleep(delay)

    def reconcile(self, step: Step, cause: str) -> Program[LookupResult]:
        """After an ambiguous write: did it land? Found -> use it; ABSENT -> retry; else UncertainOutcome."""
        operation = f"{step.request.method} {step.request.path}"
        if step.lookup is None:
            raise UncertainOutcome(self.provider, operation, step.reference, cause + "; no lookup is possible")
        try:
            result = yield from self.run(step.lookup())
        except InvoicekitError as exc:
            raise UncertainOutcome(
                self.provider, operation, step.reference, f"{cause}; the lookup failed: {exc}"
            ) from None
        if result is Lookup.UNKNOWN:
            raise UncertainOutcome(self.provider, operation, step.reference, cause)
        log.info("%s: ambiguous failure (%s); lookup says %s", operation, cause, result)
        return result

    def error(self, response: httpx.Response, *, retry_after: float | None = None) -> InvoicekitError:
        """The typed error for an error answer. The adapter only ever sees the answer with secrets masked
        (body, headers, URL), so what it builds needs no rewriting afterwards: errors are never mutated."""
        clean = self._masked(response)
        body = clean.text[:_BODY_IN_ERRORS] if clean.content else ""
        try:
            error = self.adapter.error_for(clean, body)
        except _PARSE_ERRORS:  # the adapter could not read its own error shape (nested too deep, ...)
            error = self._plain_error(clean, body)
        if self.redact(str(error)) != str(error):  # an adapter that put a credential in by other means
            error = self._plain_error(clean, body)
        # Errors are never changed once built: a completed one is a new error made from the adapter's.
        if isinstance(error, ValidationError) and error.status is None:
            error = error.replace(status=clean.status_code, request_id=self.adapter.request_id(clean), body=body)
        wait = retry_after if retry_after is not None else RetryPolicy.retry_after(response)
        if isinstance(error, RateLimited) and error.retry_after is None and wait is not None:
            error = error.replace(retry_after=wait)
        return error

    def _plain_error(self, clean: httpx.Response, body: str) -> InvoicekitError:
        message = clean.reason_phrase or f"HTTP {clean.status_code}"
        return error_for_status(
            self.provider, clean.status_code, message, request_id=clean.headers.get("x-request-id"), body=body
        )

    def _masked(self, response: httpx.Response) -> httpx.Response:
        """A copy of ``response`` with every secret masked, for code that builds errors from it and for hooks."""
        try:
            sent: httpx.Request | None = response.request
        except RuntimeError:  # a response built by hand has no request
            sent = None
        request = None if sent is None else self._masked_request(sent)
        headers = [(k, self.redact(v)) for k, v in response.headers.multi_items() if k.lower() not in BODY_HEADERS]
        return httpx.Response(
            response.status_code, headers=headers, content=self.redact.in_bytes(response.content), request=request
        )

    def _masked_request(self, request: httpx.Request) -> httpx.Request:
        """A copy of ``request`` that holds no credential: the known secrets masked in URL, headers and body,
        and credential headers masked whatever they hold (a bearer token obtained after connect() is no
        known secret)."""
        headers = [
            (k, MASK if k.lower() in CREDENTIAL_HEADERS else self.redact(v))
            for k, v in request.headers.multi_items()
            if k.lower() not in BODY_HEADERS
        ]
        content = self.redact.in_bytes(request.content) if _has_content(request) else b""
        return httpx.Request(request.method, self.redact(str(request.url)), headers=headers, content=content)

    def _before_request(self, request: httpx.Request) -> None:
        """Hooks see a masked copy; the headers they add or change are carried onto the real request."""
        if not self.hooks.hook.invoicekit_before_request.get_hookimpls():
            return  # the masked copy costs a third of a call: made only for a hook that will see it
        shown = self._masked_request(request)
        before = dict(shown.headers.items())
        self.hooks.hook.invoicekit_before_request(provider=self.provider, request=shown)
        for name, value in shown.headers.items():
            if before.get(name) != value and value != MASK:
                request.headers[name] = value

    # --- lists -----------------------------------------------------------------------------------
    def paginate(self, listing: Listing[T]) -> Program[None]:
        request: ApiRequest | None = listing.paging.first(listing.request)
        pages = 0
        while request is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise MalformedResponse(
                    f"more than {MAX_PAGES} pages: the provider ignores paging", provider=self.provider
                )
            response = yield from self.step(Step(request))
            assert isinstance(response, httpx.Response)
            items = self._read_list(listing.parse_page, response)
            count = len(items)
            if isinstance(items, LazyPage):
                # One item at a time, read as the caller reaches it (see LazyPage): same errors, later.
                for index in range(count):
                    item = self._read_list(items.__getitem__, index)
                    if listing.keep is None or listing.keep(item):
                        yield Emit((item,))
            else:
                if listing.keep is not None:
                    items = [item for item in items if listing.keep(item)]
                if items:
                    yield Emit(items)
            request = listing.paging.next_request(request, response, count)

    def _read_list(self, read: Callable[[A], R], what: A) -> R:
        """``read(what)`` of a list answer; what an adapter's parsing raises untyped becomes MalformedResponse."""
        try:
            return read(what)
        except InvoicekitError:
            raise
        except _PARSE_ERRORS as exc:
            raise MalformedResponse(
                self.redact(f"unexpected list content ({type(exc).__name__}: {exc})"),
                provider=self.provider,
            ) from None
