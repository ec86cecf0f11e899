"""Stateful local fakes of provider APIs ("sandboxes"), like moto or stripe-mock, and their machinery.

A provider builds an ASGI app that behaves like its real API; :class:`Sandbox` wraps it with state
(:class:`MemoryStore` or :class:`SqliteStore`), credentials, seeded fault injection (:class:`FaultRule`)
and a request log. Reach it in-process through :meth:`Sandbox.transport` (no socket), or over loopback
with :func:`running` (tests) and :func:`serve` (``invoicekit sandbox serve NAME``).

::

    from invoicekit.sandbox import FaultRule, create_sandbox

    sandbox = create_sandbox("cashaca", seed=7)
    sandbox.faults.add(FaultRule.rate_limited(10, burst=5))
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        http.get("/api/v2/clients.json", params=sandbox.credentials())

In tests, the ``invoicekit_sandbox`` pytest fixture (:mod:`invoicekit.testing`) builds them and cleans up.
"""

from invoicekit.sandbox._core import LoggedRequest, Sandbox, utc_timestamp
from invoicekit.sandbox._faults import FaultDecision, FaultKind, FaultRule, Faults
from invoicekit.sandbox._pdf import PdfDocument, PdfLine, render_pdf
from invoicekit.sandbox._plugins import create_sandbox
from invoicekit.sandbox._provenance import Origin, Provenance, ProvenanceError, UnlistedField
from invoicekit.sandbox._server import running, serve
from invoicekit.sandbox._store import MemoryStore, SqliteStore, StateStore
from invoicekit.sandbox._transport import SandboxTransport

__all__ = [
    "FaultDecision",
    "FaultKind",
    "FaultRule",
    "Faults",
    "LoggedRequest",
    "MemoryStore",
    "Origin",
    "PdfDocument",
    "PdfLine",
    "Provenance",
    "ProvenanceError",
    "Sandbox",
    "SandboxTransport",
    "SqliteStore",
    "StateStore",
    "UnlistedField",
    "create_sandbox",
    "render_pdf",
    "running",
    "serve",
    "utc_timestamp",
]
