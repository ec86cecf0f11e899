"""Keep credentials out of logs, exception messages and reprs.

httpx logs every request URL at INFO ("HTTP Request: GET https://...?token=..."), and Cashaca puts its
token in the query string, so redacting our own messages is not enough: a log-record factory rewrites
records of the ``httpx``, ``httpcore`` and ``invoicekit`` loggers before any handler sees them. It is
installed once, on the first connection, and only touches those loggers.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "Redactor", "install_log_redaction", "register_secrets"]

MASK = "***"
_MIN_SECRET = 4  # masking "a" would shred every message; credentials are never that short
_LOGGERS = ("httpx", "httpcore", "invoicekit", "uvicorn")

_lock = threading.Lock()
_secrets: weakref.WeakValueDictionary[int, _SecretSet] = weakref.WeakValueDictionary()
_installed = False


class _SecretSet:
    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(v for v in values if v and len(v) >= _MIN_SECRET)


class Redactor:
    """Replaces the given secrets (and their URL-encoded forms) with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        from urllib.parse import quote, quote_plus

        values: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET:
                values.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first, so a secret that contains another is masked whole.
        self._values = tuple(sorted(values, key=len, reverse=True))
        self._set = _SecretSet(self._values)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def in_bytes(self, data: bytes) -> bytes:
        """The same for a body, before anything decodes it (every encoding an API uses keeps ASCII as is)."""
        for value in self._values:
            raw = value.encode()
            if raw in data:
                data = data.replace(raw, MASK.encode())
        return data

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._values)} value(s)>"

    def register(self) -> None:
        register_secrets(self._set)


def register_secrets(secret_set: _SecretSet) -> None:
    with _lock:
        _secrets[id(secret_set)] = secret_set
    install_log_redaction()


def _redact_any(text: str) -> str:
    with _lock:
        sets = list(_secrets.values())
    for secret_set in sets:
        for value in secret_set.values:
            if value in text:
                text = text.replace(value, MASK)
    return text


def install_log_redaction() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(_LOGGERS) and _secrets:
            # Format once with the args, then redact: a secret split across msg and args is still caught.
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is the caller's bug; leave it as it is
                return record
            redacted = _redact_any(message)
            if redacted != message or record.args:
                record.msg = redacted
                record.args = None
        return record

    logging.setLogRecordFactory(factory)
