"""invoicekit's pytest plugin (registered as ``invoicekit`` in the ``pytest11`` entry point group).

Fixture ``invoicekit_sandbox``: a factory ``make(name, **options) -> Sandbox`` that builds a fresh
sandbox of any installed provider (found through the ``invoicekit.providers`` entry points, like the
adapters themselves) and closes every sandbox it made when the test ends. ``options`` go to the
provider's ``create_sandbox``: ``seed=`` for the fault injection, ``store=`` for a
:class:`~invoicekit.sandbox.SqliteStore` (which stays open: the test owns it)::

    import httpx
    from invoicekit.sandbox import FaultRule, running

    def test_lists_clients(invoicekit_sandbox):
        sandbox = invoicekit_sandbox("cashaca", seed=1)
        sandbox.faults.add(FaultRule.server_error(0.2))
        with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
            http.get("/api/v2/clients.json", params=sandbox.credentials())
        assert ("GET", "/api/v2/clients.json") in sandbox.request_log

    def test_over_a_socket(invoicekit_sandbox):
        with running(invoicekit_sandbox("cashaca")) as base_url:   # uvicorn on a free 127.0.0.1 port
            ...

``run_books(mode, name, op, **connect_kwargs)`` runs one operation through a sync or an async connection,
so a test written once covers both modes (lists come back as lists, coroutines are awaited)::

    import pytest
    from invoicekit.testing import run_books

    @pytest.fixture(params=["sync", "async"])
    def mode(request):
        return request.param

    def test_get(mode, invoicekit_sandbox):
        box = invoicekit_sandbox("cashaca")
        clients = run_books(mode, "cashaca", lambda books: books.clients.list(), sandbox=box)

A provider that is not installed raises :class:`~invoicekit.errors.UnknownProvider`; one without a
sandbox raises :class:`~invoicekit.errors.UnsupportedOperation`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pytest

if TYPE_CHECKING:
    from invoicekit.sandbox import Sandbox

# Loaded into every pytest run of any project that installs invoicekit (the pytest11 entry point), so this
# module imports nothing heavy: the sandbox, uvicorn, the providers and invoicekit itself load when a
# fixture or helper is first used.

__all__ = ["SandboxFactory", "invoicekit_sandbox", "run_books"]


class SandboxFactory(Protocol):
    def __call__(self, name: str, *, strict: bool = False, **options: Any) -> Sandbox: ...


@pytest.fixture
def invoicekit_sandbox() -> Iterator[SandboxFactory]:
    """A factory of fresh sandboxes, closed at the end of the test: ``invoicekit_sandbox("cashaca")``.

    ``strict=True`` builds the sandbox in strict mode (only what the provider documents or a public client
    shows is served); a provider whose sandbox has no strict mode raises ConfigurationError naming it.
    """
    made: list[Sandbox] = []

    def make(name: str, *, strict: bool = False, **options: Any) -> Sandbox:
        if strict:
            # Passed only when asked for, so providers without a strict option keep working.
            options["strict"] = True
        from invoicekit.sandbox import create_sandbox

        sandbox = create_sandbox(name, **options)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in reversed(made):
        sandbox.close()


def run_books(mode: Literal["sync", "async"], name: str, op: Callable[[Any], Any], **connect_kwargs: Any) -> Any:
    """Connect to ``name`` in ``mode``, run ``op(books)`` and return its result, fully consumed."""
    import invoicekit

    if mode == "sync":
        with invoicekit.connect(name, **connect_kwargs) as books:
            result = op(books)
            return list(result) if inspect.isgenerator(result) else result

    async def main() -> Any:
        async with invoicekit.connect_async(name, **connect_kwargs) as books:
            result = op(books)
            if inspect.isawaitable(result):
                return await result
            if hasattr(result, "__aiter__"):
                return [item async for item in result]
            return result

    import asyncio

    return asyncio.run(main())
