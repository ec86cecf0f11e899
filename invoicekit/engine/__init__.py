"""The engine: runs adapter flows with httpx (sync or async), with retries, reconciliation of lost
writes, paging, hooks and secret redaction."""

from invoicekit.engine._core import EngineCore
from invoicekit.engine._redact import Redactor
from invoicekit.engine._retry import RetryPolicy, parse_retry_after
from invoicekit.engine._runners import iterate_async, iterate_sync, run_async, run_sync

__all__ = [
    "EngineCore",
    "Redactor",
    "RetryPolicy",
    "iterate_async",
    "iterate_sync",
    "parse_retry_after",
    "run_async",
    "run_sync",
]
