"""Every error invoicekit raises.

The tree::

    InvoicekitError
    ├── ValidationError ............... bad input, caught before any request is sent (or a provider's 4xx
    │                                   that names fields); ``.issues`` lists (field path, reason)
    ├── UnsupportedOperation .......... the adapter does not declare the capability; ``.capability``
    ├── UnknownProvider ............... no installed adapter has that name; ``.installed`` lists them
    ├── ConfigurationError ............ missing or malformed credentials / settings
    ├── ProviderError ................. the provider answered, but not with success
    │   ├── AuthenticationError ....... 401: bad or missing credentials
    │   ├── PermissionDenied .......... 403
    │   ├── NotFound .................. 404 or an unknown id
    │   ├── Conflict .................. 409, duplicate numbers
    │   ├── RateLimited ............... 429; ``.retry_after`` in seconds when the provider said so
    │   ├── ProviderUnavailable ....... 5xx
    │   ├── ProviderRejected .......... any other refusal (e.g. a client that cannot receive Peppol)
    │   └── MalformedResponse ......... a body we cannot read (bad JSON/XML, hostile XML, too large)
    ├── TransportError ................ no HTTP answer at all (connection refused, timeout, dropped)
    ├── UncertainOutcome .............. a write was sent, its result is unknown, and a lookup could not
    │                                   tell whether it landed; do NOT retry blindly
    └── WriteLanded ................... the provider accepted a write, then something after it failed
                                        (its answer was unreadable, the read that follows got a 503, ...):
                                        what it made exists; ``.provider_id`` when known, ``.cause`` the
                                        error that came after; do NOT send it again

``UncertainOutcome`` and ``WriteLanded`` are deliberately outside ``ProviderError`` and ``TransportError``:
a retry loop written as ``except (ProviderUnavailable, TransportError)`` must not catch them, because sending
the write again would make a second document.

``ProviderError`` carries the provider name, the HTTP status, the provider's request id when it sent one
and the raw body with secrets redacted. No error message or repr ever contains a credential: the engine
redacts bodies and URLs before they reach an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "Conflict",
    "FieldIssue",
    "InvoicekitError",
    "MalformedResponse",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RateLimited",
    "TransportError",
    "UncertainOutcome",
    "UnknownProvider",
    "UnsupportedOperation",
    "ValidationError",
    "WriteLanded",
]


class InvoicekitError(Exception):
    """Base of every error raised by invoicekit."""


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field: ``path`` is dotted (``rows.0.vat_rate``), ``reason`` is for humans."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ValidationError(InvoicekitError):
    """Input that cannot be accepted. ``issues`` names every offending field and why."""

    def __init__(self, issues: Iterable[FieldIssue], *, provider: str | None = None) -> None:
        self.issues: tuple[FieldIssue, ...] = tuple(issues)
        self.provider = provider
        where = f" ({provider})" if provider else ""
        super().__init__(f"invalid input{where}: " + "; ".join(str(i) for i in self.issues))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(i.path for i in self.issues)

    @classmethod
    def single(cls, path: str, reason: str, *, provider: str | None = None) -> ValidationError:
        return cls([FieldIssue(path, reason)], provider=provider)


class UnsupportedOperation(InvoicekitError):
    """The adapter does not declare ``capability``; nothing was sent."""

    def __init__(self, provider: str, capability: str) -> None:
        self.provider = provider
        self.capability = capability
        super().__init__(f"{provider} does not support {capability}")


class UnknownProvider(InvoicekitError):
    """No adapter with that name is installed."""

    def __init__(self, name: str, installed: Sequence[str]) -> None:
        self.name = name
        self.installed = tuple(installed)
        listed = ", ".join(self.installed) or "none"
        super().__init__(f"no invoicekit provider named {name!r}; installed: {listed}")


class ConfigurationError(InvoicekitError):
    """Credentials or settings are missing or malformed."""


class ProviderError(InvoicekitError):
    """The provider answered with something other than success."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        # Already redacted by the engine; kept for diagnosis, never parsed again.
        self.body = body
        self.message = message
        parts = [f"{provider}: {message}"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if request_id:
            parts.append(f"request id {request_id}")
        super().__init__(" | ".join(parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, message={self.message!r})"


class AuthenticationError(ProviderError):
    """Bad or missing credentials (HTTP 401)."""


class PermissionDenied(ProviderError):
    """The credentials are valid but may not do this (HTTP 403)."""


class NotFound(ProviderError):
    """The document does not exist (HTTP 404)."""


class Conflict(ProviderError):
    """The write clashes with existing state (HTTP 409, a number already used)."""


class RateLimited(ProviderError):
    """Too many requests (HTTP 429). ``retry_after`` is in seconds when the provider said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ProviderUnavailable(ProviderError):
    """The provider failed (HTTP 5xx)."""


class ProviderRejected(ProviderError):
    """The provider refused the operation for a reason that is not about one input field."""


class MalformedResponse(ProviderError):
    """The provider's answer cannot be read (bad syntax, hostile XML, too large, unexpected shape)."""


class TransportError(InvoicekitError):
    """No HTTP answer at all: connection refused or dropped, timeout."""

    def __init__(self, message: str, *, provider: str) -> None:
        self.provider = provider
        super().__init__(f"{provider}: {message}")


class UncertainOutcome(InvoicekitError):
    """A write was sent, no answer came back, and a lookup could not tell whether it landed.

    Retrying could create a duplicate; check the provider by hand (``reference`` is what the adapter
    looked it up by).
    """

    def __init__(self, provider: str, operation: str, reference: str | None, cause: str) -> None:
        self.provider = provider
        self.operation = operation
        self.reference = reference
        super().__init__(
            f"{provider}: the outcome of {operation} is unknown ({cause}); "
            f"looked up by {reference!r} without a definite answer: it was not retried"
        )


class WriteLanded(InvoicekitError):
    """The provider accepted a write, and something after it failed: what the write made exists.

    Raised instead of the failure itself (kept in ``cause``) once a create, payment or send of the operation
    was accepted: the answer to it could not be read, or a request that came after it failed (the read of
    the new document got a 503, a contact of a new client was refused). Sending the operation again would
    make a duplicate; fetch the document by ``provider_id`` (its id at the provider, None when neither the
    answer nor a lookup gave it) or look it up by ``reference``. ``operation`` is the accepted request.
    """

    def __init__(
        self,
        provider: str,
        operation: str,
        provider_id: str | None,
        reference: str | None,
        cause: InvoicekitError,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.provider_id = provider_id
        self.reference = reference
        self.cause = cause
        made = f"document {provider_id} exists" if provider_id else "what it made exists"
        find = f"; look it up by {reference!r}" if reference and not provider_id else ""
        super().__init__(
            f"{provider}: {operation} was accepted, so {made}, but what followed failed ({cause}); "
            f"do not send it again{find}"
        )

    def __reduce__(self) -> tuple[type[WriteLanded], tuple[str, str, str | None, str | None, InvoicekitError]]:
        return (type(self), (self.provider, self.operation, self.provider_id, self.reference, self.cause))
