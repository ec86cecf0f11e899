"""Every error invoicekit raises.

The tree (stdlib mix-ins in parentheses: ``except ValueError`` keeps catching bad input)::

    InvoicekitError
    ├── ValidationError (ValueError) .. bad input, caught before any request is sent, or a provider's
    │                                   4xx that names fields; ``.issues`` lists (field path, reason);
    │                                   from a provider also ``.status``, ``.request_id``, ``.body``
    ├── InvalidNumber (ValueError) .... a VAT/KBO number, OGM, IBAN or BIC that fails its check
    │                                   (invoicekit.belgium); models turn it into a ValidationError
    ├── XmlError (ValueError) ......... XML that invoicekit will not read (invoicekit.xmlsafe)
    │   ├── UnsafeXml ................. refused for safety: entities, an external DTD, too large
    │   └── XmlSyntaxError ............ not well-formed; ``.line`` and ``.column`` when known
    ├── UblImportError (ValueError) ... well-formed XML that is not a readable UBL Invoice/CreditNote
    ├── ArtefactUnavailable ........... a UBL validation layer whose engine or rules are not installed
    │                                   (defined in invoicekit.ubl)
    ├── UnsupportedOperation .......... the adapter does not declare the capability; ``.capability``
    ├── UnknownProvider (LookupError) . no installed adapter has that name; ``.installed`` lists them
    ├── ConfigurationError ............ missing, unknown or malformed credentials / settings / plugins
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

Errors are values: they are never changed after construction (:meth:`InvoicekitError.replace` makes a
new one with some arguments changed), and each pickles and unpickles intact, so they cross process
boundaries (multiprocessing, task queues) with every attribute.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "Conflict",
    "FieldIssue",
    "InvalidNumber",
    "InvoicekitError",
    "MalformedResponse",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RateLimited",
    "TransportError",
    "UblImportError",
    "UncertainOutcome",
    "UnknownProvider",
    "UnsafeXml",
    "UnsupportedOperation",
    "ValidationError",
    "WriteLanded",
    "XmlError",
    "XmlSyntaxError",
]


def _rebuild(cls: type[InvoicekitError], args: tuple[Any, ...], kwargs: dict[str, Any]) -> InvoicekitError:
    return cls(*args, **kwargs)


class InvoicekitError(Exception):
    """Base of every error raised by invoicekit.

    Each error remembers the arguments it was built with: pickling rebuilds it from them (the default
    ``cls(*self.args)`` cannot call constructors with keyword-only arguments), and :meth:`replace`
    derives a new error from them.
    """

    _arguments: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls, *args)
        self._arguments = (args, dict(kwargs))
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = self._arguments
        notes = getattr(self, "__notes__", None)
        state = {"__notes__": list(notes)} if notes else None
        return (_rebuild, (type(self), args, kwargs), state)

    def replace(self, **changes: Any) -> Self:
        """A new error of the same type, built with the same arguments except ``changes`` (by name)."""
        args, kwargs = self._arguments
        signature = inspect.signature(type(self))
        unknown = sorted(set(changes) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{type(self).__name__} takes no argument named {', '.join(unknown)}")
        bound = signature.bind(*args, **kwargs)
        bound.arguments.update(changes)
        return type(self)(*bound.args, **bound.kwargs)


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field: ``path`` is dotted (``rows.0.vat_rate``), ``reason`` is for humans."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ValidationError(InvoicekitError, ValueError):
    """Input that cannot be accepted. ``issues`` names every offending field and why.

    Raised before any request (the model, an adapter's pre-flight) or from a provider's answer (a
    Cashaca 422, an EenvoudigFactureren 400 naming a field): then ``provider``, ``status``,
    ``request_id`` and the redacted ``body`` say which answer it was.
    """

    def __init__(
        self,
        issues: Iterable[FieldIssue],
        *,
        provider: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        self.issues: tuple[FieldIssue, ...] = tuple(issues)
        # Remember the tuple, not the iterable given (a generator would be spent when rebuilt from it).
        kwargs = {k: v for k, v in self._arguments[1].items() if k != "issues"}
        self._arguments = ((self.issues,), kwargs)
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.body = body
        context = [part for part in (provider, f"HTTP {status}" if status is not None else None) if part]
        if request_id:
            context.append(f"request id {request_id}")
        where = f" ({', '.join(context)})" if context else ""
        super().__init__(f"invalid input{where}: " + "; ".join(str(i) for i in self.issues))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(i.path for i in self.issues)

    @classmethod
    def single(cls, path: str, reason: str, *, provider: str | None = None) -> ValidationError:
        return cls([FieldIssue(path, reason)], provider=provider)


class InvalidNumber(InvoicekitError, ValueError):
    """A number failed validation; ``str(exc)`` is a reason such as "check digits do not match (expected 62)".

    The reason never names the field, so callers can prefix it with their own ("buyer VAT number: ...").
    Raised by :mod:`invoicekit.belgium`; a model field turns it into a :class:`ValidationError`.
    """


class XmlError(InvoicekitError, ValueError):
    """XML that invoicekit will not read; ``str(exc)`` says why (:mod:`invoicekit.xmlsafe`)."""


class UnsafeXml(XmlError):
    """The document was refused for safety: entity declarations, an external DTD, or too large."""


class XmlSyntaxError(XmlError):
    """The document is not well-formed XML. ``line`` and ``column`` point at the error when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"not well-formed XML: {message}{where}")


class UblImportError(InvoicekitError, ValueError):
    """The XML is well-formed but is not a UBL Invoice/CreditNote that can be read (no issue date, ...)."""


class UnsupportedOperation(InvoicekitError):
    """The adapter does not declare ``capability``; nothing was sent."""

    def __init__(self, provider: str, capability: str) -> None:
        self.provider = provider
        self.capability = capability
        super().__init__(f"{provider} does not support {capability}")


class UnknownProvider(InvoicekitError, LookupError):
    """No adapter with that name is installed."""

    def __init__(self, name: str, installed: Sequence[str]) -> None:
        self.name = name
        self.installed = tuple(installed)
        listed = ", ".join(self.installed) or "none"
        super().__init__(f"no invoicekit provider named {name!r}; installed: {listed}")


class ConfigurationError(InvoicekitError):
    """Credentials, settings or plugins are missing, unknown or malformed."""


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

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider, status=status, request_id=request_id, body=body)


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
