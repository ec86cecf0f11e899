"""``invoicekit.connect`` and ``connect_async``: pick the adapter by name, build the engine and a client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from invoicekit.books import AsyncBooks, Books
from invoicekit.engine import EngineCore, RetryPolicy
from invoicekit.errors import ConfigurationError
from invoicekit.hooks import make_plugin_manager
from invoicekit.model import Seller
from invoicekit.registry import load_provider
from invoicekit.vat import VatRateTable

if TYPE_CHECKING:
    # Only for annotations: a production connection never imports the sandbox machinery (uvicorn, ...).
    from invoicekit.sandbox import Sandbox

__all__ = ["connect", "connect_async"]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _prepare(
    name: str,
    *,
    sandbox: bool | Sandbox,
    plugins: tuple[object, ...],
    retry: RetryPolicy | None,
    credentials: dict[str, Any],
) -> tuple[EngineCore, Any, Any]:
    plugin = load_provider(name)
    box = None
    transport = credentials.pop("transport", None)
    if sandbox is not False:
        if sandbox is not True:
            box = sandbox
        elif plugin.create_sandbox is None:
            raise ConfigurationError(f"provider {name!r} ships no sandbox")
        else:
            box = plugin.create_sandbox()
        credentials = {**box.credentials(), "base_url": box.base_url, **credentials}
        transport = transport or box.transport()
    adapter = plugin.create_adapter(**credentials)
    hooks = make_plugin_manager(plugins)
    return EngineCore(adapter, hooks, retry or RetryPolicy()), transport, box


def connect(
    name: str,
    *,
    sandbox: bool | Sandbox = False,
    plugins: tuple[object, ...] | list[object] = (),
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    vat_rates: VatRateTable | None = None,
    seller: Seller | None = None,
    allow_field_loss: bool = False,
    **credentials: Any,
) -> Books:
    """Connect to provider ``name`` (an installed adapter) and return its :class:`Books`.

    ``credentials`` are the adapter's own (``token=`` for Cashaca, ``api_key=`` for EenvoudigFactureren,
    plus ``base_url=`` to point elsewhere). ``sandbox=True`` starts the provider's in-process sandbox
    and connects to it (``books.sandbox`` gives access to it); ``sandbox=<Sandbox>`` connects to that
    one, so several connections can share its state.
    ``transport=`` takes an httpx transport (tests use ``httpx.MockTransport``).
    A document with fields the provider cannot store is refused (ValidationError naming them) unless
    ``allow_field_loss=True``; ``seller`` enables the Peppol pre-flight before a Peppol send.
    """
    core, transport, box = _prepare(
        name, sandbox=sandbox, plugins=tuple(plugins), retry=retry, credentials=dict(credentials)
    )
    client = httpx.Client(transport=transport, timeout=timeout, auth=core.adapter.auth(), follow_redirects=False)
    books = Books(core, client, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
    books.sandbox = box
    return books


def connect_async(
    name: str,
    *,
    sandbox: bool | Sandbox = False,
    plugins: tuple[object, ...] | list[object] = (),
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    vat_rates: VatRateTable | None = None,
    seller: Seller | None = None,
    allow_field_loss: bool = False,
    **credentials: Any,
) -> AsyncBooks:
    """The async twin of :func:`connect`; use ``async with invoicekit.connect_async(...) as books``."""
    core, transport, box = _prepare(
        name, sandbox=sandbox, plugins=tuple(plugins), retry=retry, credentials=dict(credentials)
    )
    client = httpx.AsyncClient(transport=transport, timeout=timeout, auth=core.adapter.auth(), follow_redirects=False)
    books = AsyncBooks(core, client, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss)
    books.sandbox = box
    return books
