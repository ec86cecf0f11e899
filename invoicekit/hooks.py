"""Hook specifications: cross-cutting behaviour that many plugins may add (1:N), through pluggy.

Choosing *the* adapter for a connection is not a hook: that is the ``invoicekit.providers`` entry
point group (one driver per connection). Hooks are for everything that stacks: metrics, audit trails,
request signing, custom-field mapping. Implement any subset in a class or module::

    from invoicekit.hooks import hookimpl

    class CountRequests:
        def __init__(self) -> None:
            self.sent = 0

        @hookimpl
        def invoicekit_before_request(self, provider, request):
            self.sent += 1

and pass it to ``invoicekit.connect(..., plugins=[CountRequests()])``, or publish it in the
``invoicekit.hooks`` entry point group so every connection loads it. The docstrings below are the
contract.
"""

from __future__ import annotations

from typing import Any

import httpx
import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec", "make_plugin_manager"]

PROJECT = "invoicekit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def invoicekit_before_request(provider: str, request: httpx.Request) -> None:
    """Called just before ``request`` is sent (every attempt, retries included).

    May add headers. The URL may carry credentials (Cashaca puts its token in the query string): never
    log ``request.url`` as is.
    """


@hookspec
def invoicekit_after_response(provider: str, request: httpx.Request, response: httpx.Response) -> None:
    """Called after every response arrives, whatever its status, before the engine interprets it."""


@hookspec
def invoicekit_on_retry(provider: str, method: str, path: str, attempt: int, delay: float, reason: str) -> None:
    """Called when the engine is about to wait ``delay`` seconds and try again (``attempt`` starts at 1)."""


@hookspec
def invoicekit_document_created(provider: str, kind: str, document: Any) -> None:
    """Called once per document a write created (``kind``: client, invoice, credit_note, payment),
    including one recovered by a lookup after its response was lost."""


@hookspec
def invoicekit_map_custom_fields(provider: str, kind: str, fields: dict[str, str]) -> dict[str, str] | None:
    """Called before a client is sent; return extra or renamed custom fields to merge into ``fields``
    (for instance to translate your field names into the provider's). Results of all plugins are merged
    in registration order; return None to leave them alone."""


def make_plugin_manager(plugins: tuple[object, ...] = (), *, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the invoicekit specs, the ``invoicekit.hooks`` entry points and ``plugins``."""
    import sys

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(sys.modules[__name__])
    if load_entry_points:
        pm.load_setuptools_entrypoints("invoicekit.hooks")
    for plugin in plugins:
        pm.register(plugin)
    return pm
