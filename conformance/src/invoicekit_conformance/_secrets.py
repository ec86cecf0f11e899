"""The secrets watch: every credential the run handles, and every text it could have leaked into.

Texts are kept (log records of every logger at DEBUG, messages and reprs of exceptions that reached the
scenario, reprs of what the API returned and of the connection objects) for the whole session, and the
secrets scenario, which runs last, searches them all.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

__all__ = ["Leak", "SecretWatch"]

# Shorter values would match by accident ("1" in every id); credentials are never this short.
_MIN_LENGTH = 6


@dataclass(frozen=True)
class Leak:
    where: str  # "log record invoicekit.engine", "exception message", ...
    excerpt: str  # the leaking text with the secret masked, so the report itself does not leak


class _Capture(logging.Handler):
    def __init__(self, watch: SecretWatch) -> None:
        super().__init__(level=logging.DEBUG)
        self.watch = watch
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a malformed record is the emitter's bug, not a leak
            text = f"{record.msg!r} {record.args!r}"
        self.watch.saw(f"log record of logger {record.name!r}", text)


@dataclass
class SecretWatch:
    secrets: set[str] = field(default_factory=set)
    texts: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _handler: _Capture | None = field(default=None, repr=False)
    _levels: dict[str, int] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"<SecretWatch {len(self.secrets)} secret(s), {len(self.texts)} text(s)>"

    def add_secrets(self, values: Iterable[object]) -> None:
        with self._lock:
            self.secrets.update(str(v) for v in values if isinstance(v, str) and len(v) >= _MIN_LENGTH)

    def saw(self, where: str, text: str) -> None:
        with self._lock:
            self.texts.append((where, text))

    def saw_exception(self, exc: BaseException) -> None:
        self.saw(f"message of {type(exc).__name__}", str(exc))
        self.saw(f"repr of {type(exc).__name__}", repr(exc))
        for name in ("body", "message", "reference"):
            value = getattr(exc, name, None)
            if isinstance(value, str):
                self.saw(f"{type(exc).__name__}.{name}", value)
        # What a user would paste into a bug report: the formatted traceback, chained causes included.
        self.saw(f"traceback of {type(exc).__name__}", "".join(traceback.format_exception(exc)))

    def saw_repr(self, what: str, value: object) -> None:
        self.saw(f"repr of {what}", repr(value))

    # --- logging ------------------------------------------------------------------------------------
    def start_logging(self) -> None:
        """Every logger at DEBUG, every record kept: a leak at any level is a leak."""
        if self._handler is not None:
            return
        self._handler = _Capture(self)
        root = logging.getLogger()
        self._levels[""] = root.level
        root.setLevel(logging.DEBUG)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                self._levels[name] = logger.level
                logger.setLevel(logging.DEBUG)
        root.addHandler(self._handler)

    def stop_logging(self) -> None:
        if self._handler is None:
            return
        logging.getLogger().removeHandler(self._handler)
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)
        self._handler = None
        self._levels.clear()

    # --- the verdict --------------------------------------------------------------------------------
    def leaks(self) -> list[Leak]:
        with self._lock:
            secrets = sorted(self.secrets, key=len, reverse=True)
            texts = list(self.texts)
        forms = {form: secret for secret in secrets for form in {secret, quote(secret, safe=""), quote_plus(secret)}}
        found: list[Leak] = []
        for where, text in texts:
            hits = [form for form in forms if form in text]
            if not hits:
                continue
            masked = text
            for form in sorted(hits, key=len, reverse=True):
                masked = masked.replace(form, "<SECRET>")
            at = masked.find("<SECRET>")
            found.append(Leak(where, masked[max(0, at - 120) : at + 120]))
        return found
