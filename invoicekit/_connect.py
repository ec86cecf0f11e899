"""``invoicekit.connect`` and ``connect_async``: pick the adapter by name, build the engine and a client."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from invoicekit._client import OwnAsyncClient, OwnClient, client_options
from invoicekit._environ import credentials_from_env
from invoicekit._extras import require_extra
from invoicekit._version import __version__
from invoicekit.books import AsyncBooks, Books
from invoicekit.engine import EngineCore, RetryPolicy
from invoicekit.errors import ConfigurationError
from invoicekit.hooks import make_plugin_manager
from invoicekit.model import Seller
from invoicekit.plugin import ProviderPlugin
from invoicekit.registry import load_provider
from invoicekit.vat import VatRateTable

if TYPE_CHECKING:
    # Only for annotations: a production connection never imports the sandbox machinery (uvicorn, ...).
    from invoicekit.sandbox import Sandbox

__all__ = ["connect", "connect_async"]

ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_HTTPX_USER_AGENT = f"python-httpx/{httpx.__version__}"


def _user_agent(core: EngineCore, http_client: httpx.Client | httpx.AsyncClient | None) -> str | None:
    """The User-Agent requests carry: the caller's when their client sets one, else invoicekit's."""
    if http_client is not None and http_client.headers.get("User-Agent", _HTTPX_USER_AGENT) != _HTTPX_USER_AGENT:
        return http_client.headers["User-Agent"]
    return f"invoicekit/{__version__} ({core.adapter.name})"


def _accepted(plugin: ProviderPlugin) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The keywords ``create_adapter`` accepts (None: any) and those it requires."""
    try:
        parameters = list(inspect.signature(plugin.create_adapter).parameters.values())
    except (TypeError, ValueError):  # a callable without a readable signature: only the declaration counts
        parameters = []
    keywords = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = tuple(p.name for p in keywords if p.default is p.empty)
    if plugin.credentials:
        return plugin.credentials, required
    if not parameters or any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None, required
    return tuple(p.name for p in keywords), required


def _check_credentials(plugin: ProviderPlugin, given: dict[str, Any], defaults: dict[str, Any]) -> None:
    # Checked here, not left to create_adapter: its TypeError would name neither the provider nor the
    # keywords it takes.
    accepted, required = _accepted(plugin)
    listed = ", ".join(f"{name}=" for name in accepted or ())
    unknown = [name for name in given if accepted is not None and name not in accepted]
    if unknown:
        import difflib  # only for this error: not a cost of every connect()

        hints = [m for name in unknown for m in difflib.get_close_matches(name, accepted or (), n=1)]
        hint = f" (did you mean {', '.join(f'{h}=' for h in hints)}?)" if hints else ""
        raise ConfigurationError(
            f"{plugin.name} does not take {', '.join(f'{u}=' for u in unknown)}{hint}; it accepts: {listed}"
        )
    missing = [name for name in required if name not in given and name not in defaults]
    if missing:
        raise ConfigurationError(
            f"{plugin.name} needs {', '.join(f'{m}=' for m in missing)}" + (f"; it accepts: {listed}" if listed else "")
        )


def _prepare(
    name: str,
    sandbox: bool | Sandbox,
    plugins: tuple[object, ...],
    load_entry_point_hooks: bool,
    retry: RetryPolicy | None,
    transport: Any,
    credentials: dict[str, Any],
    http_client: object | None,
) -> tuple[EngineCore, Any, Any]:
    if http_client is not None and (transport is not None or sandbox is not False):
        # Before anything is built: a sandbox=True refused here would otherwise have started (and leaked) one.
        raise ConfigurationError("http_client= cannot be combined with transport= or sandbox= (they bring a transport)")
    plugin = load_provider(name)
    box = None
    from_sandbox: dict[str, Any] = {}
    if sandbox is not False:
        if sandbox is not True:
            box = sandbox
        elif plugin.create_sandbox is None:
            raise ConfigurationError(f"provider {name!r} ships no sandbox")
        else:
            require_extra("sandbox", "the sandbox")
            box = plugin.create_sandbox()
        from_sandbox = {**box.credentials(), "base_url": box.base_url}
        transport = transport or box.transport()
    else:  # keywords left out come from INVOICEKIT_<PROVIDER>_<CREDENTIAL> (invoicekit/_environ.py)
        credentials = {**credentials_from_env(plugin), **credentials}
    _check_credentials(plugin, credentials, from_sandbox)
    adapter = plugin.create_adapter(**{**from_sandbox, **credentials})
    hooks = make_plugin_manager(plugins, load_entry_points=load_entry_point_hooks)
    return EngineCore(adapter, hooks, retry or RetryPolicy()), transport, box


def _own_client(core: EngineCore, http_client: ClientT | None) -> ClientT | None:
    """Set the User-Agent and, for a caller's client, the per-request auth; return that client (or None)."""
    core.user_agent = _user_agent(core, http_client)
    if http_client is None:
        return None
    core.request_auth = core.adapter.auth()
    return http_client


def connect(
    name: str,
    *,
    sandbox: bool | Sandbox = False,
    plugins: tuple[object, ...] | list[object] = (),
    load_entry_point_hooks: bool = True,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    http_client: httpx.Client | None = None,
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
    ``http_client=`` runs the connection on the caller's :class:`httpx.Client` (one connection pool and SSL
    context for many connections, the caller's proxies and limits): its timeout applies (``timeout=`` is
    ignored), the adapter's authentication is added to each request, and :meth:`Books.close` leaves it
    open (whoever created a client closes it). It cannot be combined with ``transport=`` or ``sandbox=``.
    Without it, each connection has its own client; all of them share one SSL context per process, built
    with the client's network transport by its first request (a connection to a sandbox or through
    ``transport=`` never builds one).
    Requests carry ``User-Agent: invoicekit/<version> (<provider>)`` unless the caller's client sets its own.
    Credentials left out are read from ``INVOICEKIT_<PROVIDER>_<CREDENTIAL>`` environment variables
    (``INVOICEKIT_CASHACA_TOKEN``; not for sandboxes).
    A keyword the adapter does not take (``tokn=``), or a missing required one, is a
    :class:`~invoicekit.errors.ConfigurationError` that lists the accepted ones, raised before anything
    is built. ``plugins`` are pluggy hook implementations (see :mod:`invoicekit.hooks`), checked against
    the specs; ``load_entry_point_hooks=False`` leaves out the ``invoicekit.hooks`` entry point plugins.
    A document with fields the provider cannot store is refused (ValidationError naming them) unless
    ``allow_field_loss=True``; ``seller`` enables the Peppol pre-flight before a Peppol send.
    """
    core, transport, box = _prepare(
        name, sandbox, tuple(plugins), load_entry_point_hooks, retry, transport, credentials, http_client
    )
    client = _own_client(core, http_client) or OwnClient(
        **client_options(timeout, transport, core.adapter.auth(), asynchronous=False)
    )
    owned = http_client is None
    books = Books(
        core, client, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss, owns_client=owned
    )
    books.sandbox = box
    return books


def connect_async(
    name: str,
    *,
    sandbox: bool | Sandbox = False,
    plugins: tuple[object, ...] | list[object] = (),
    load_entry_point_hooks: bool = True,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    http_client: httpx.AsyncClient | None = None,
    vat_rates: VatRateTable | None = None,
    seller: Seller | None = None,
    allow_field_loss: bool = False,
    **credentials: Any,
) -> AsyncBooks:
    """The async twin of :func:`connect`; use ``async with invoicekit.connect_async(...) as books``."""
    core, transport, box = _prepare(
        name, sandbox, tuple(plugins), load_entry_point_hooks, retry, transport, credentials, http_client
    )
    client = _own_client(core, http_client) or OwnAsyncClient(
        **client_options(timeout, transport, core.adapter.auth(), asynchronous=True)
    )
    owned = http_client is None
    books = AsyncBooks(
        core, client, vat_rates=vat_rates, seller=seller, allow_field_loss=allow_field_loss, owns_client=owned
    )
    books.sandbox = box
    return books
