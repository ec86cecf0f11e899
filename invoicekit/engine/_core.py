"""The engine's logic, written once as a generator of I/O *actions* that a sync or an async runner performs.

An adapter flow yields :class:`~invoicekit.adapter.Step`; the engine turns each into one or more
:class:`Send` actions (retries), :class:`Sleep` actions (backoff) and, for lists, :class:`Emit` actions
(items for the caller). The runners in ``_runners.py`` are the only code that touches a client or a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Any, TypeAlias, TypeVar

import httpx
import pluggy

from invoicekit.adapter import (
    Adapter,
    ApiRequest,
    Flow,
    Found,
    Listing,
    Lookup,
    LookupResult,
    Step,
    StepResult,
)
from invoicekit.engine._redact import Redactor
from invoicekit.engine._retry import NOT_SENT, RETRY_STATUSES, RetryPolicy
from invoicekit.errors import (
    InvoicekitError,
    MalformedResponse,
    ProviderError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    ValidationError,
)

__all__ = ["Action", "BodyTooLarge", "Emit", "EngineCore", "Program", "Send", "Sleep"]

log = logging.getLogger("invoicekit.engine")
T = TypeVar("T")

DEFAULT_MAX_BODY = 20 * 1024 * 1024
MAX_PAGES = 100_000
_BODY_IN_ERRORS = 2000


@dataclass(frozen=True)
class Send:
    request: httpx.Request
    max_bytes: int


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    items: Sequence[Any]


Action: TypeAlias = Send | Sleep | Emit
Program: TypeAlias = Generator[Action, Any, T]


class BodyTooLarge(Exception):
    """Raised by a runner into the program when a response body passes the size limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the response body is larger than {limit} bytes")


# What an adapter's parsing code raises when the provider's payload is not what it expects.
_PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, InvalidOperation)


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
        self.redact.register()

    def __repr__(self) -> str:
        return f"<EngineCore {self.adapter.name}>"

    @property
    def provider(self) -> str:
        return self.adapter.name

    # --- building requests -----------------------------------------------------------------------
    def build(self, api: ApiRequest) -> httpx.Request:
        url = httpx.URL(self.adapter.base_url.rstrip("/") + api.path)
        headers = {**self.adapter.headers(), **api.headers}
        params = {k: str(v) for k, v in api.params.items()}
        if api.json is not None:
            return httpx.Request(api.method, url, params=params, json=api.json, headers=headers)
        return httpx.Request(api.method, url, params=params, content=api.content, headers=headers)

    def _describe(self, request: httpx.Request) -> str:
        # The path only: query strings may hold credentials.
        return f"{request.method} {request.url.path}"

    # --- one flow --------------------------------------------------------------------------------
    def run(self, flow: Flow[T]) -> Program[T]:
        """Drive an adapter flow to its result."""
        try:
            step = next(flow)  # anything raised here happened before a request: let it through as is
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        while True:
            outcome = yield from self.step(step)
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            except MalformedResponse as exc:
                raise self._after_write(step, outcome, exc) from None
            except InvoicekitError:
                raise
            except _PARSE_ERRORS as exc:
                error = MalformedResponse(
                    self.redact(f"unexpected response content ({type(exc).__name__}: {exc})"),
                    provider=self.provider,
                )
                raise self._after_write(step, outcome, error) from None

    def _after_write(self, step: Step, outcome: StepResult, error: MalformedResponse) -> MalformedResponse:
        """An unreadable answer to an accepted write: the document exists, so say so, or the caller retries."""
        if step.idempotent or not isinstance(outcome, httpx.Response):
            return error
        where = f" (look it up by {step.reference!r})" if step.reference else ""
        note = f"; the write itself was accepted (HTTP {outcome.status_code}): do not send it again{where}"
        return error.replace(message=error.message + note)

    def step(self, step: Step) -> Program[StepResult]:
        attempt = 0
        while True:
            attempt += 1
            request = self.build(step.request)
            self.hooks.hook.invoicekit_before_request(provider=self.provider, request=request)
            log.debug("%s attempt %d", self._describe(request), attempt)
            try:
                response: httpx.Response = yield Send(request, self.max_body)
            except BodyTooLarge as exc:
                raise MalformedResponse(str(exc), provider=self.provider) from None
            except httpx.DecodingError:
                raise MalformedResponse("the response body could not be decoded", provider=self.provider) from None
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

            self.hooks.hook.invoicekit_after_response(provider=self.provider, request=request, response=response)
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
        body = self.redact(response.text[:_BODY_IN_ERRORS]) if response.content else ""
        error = self.adapter.error_for(response, body)
        # Errors are never changed once built: the final one is a new error made from the adapter's.
        if isinstance(error, ValidationError) and error.status is None:
            return error.replace(status=response.status_code, request_id=self.adapter.request_id(response), body=body)
        if isinstance(error, ProviderError):
            changes: dict[str, Any] = {"message": self.redact(error.message)}
            if isinstance(error, RateLimited) and error.retry_after is None:
                changes["retry_after"] = retry_after if retry_after is not None else RetryPolicy.retry_after(response)
            return error.replace(**changes)
        return error

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
            try:
                items = listing.parse_page(response)
            except InvoicekitError:
                raise
            except _PARSE_ERRORS as exc:
                raise MalformedResponse(
                    self.redact(f"unexpected list content ({type(exc).__name__}: {exc})"),
                    provider=self.provider,
                ) from None
            count = len(items)
            if listing.keep is not None:
                items = [item for item in items if listing.keep(item)]
            if items:
                yield Emit(items)
            request = listing.paging.next_request(request, response, count)
