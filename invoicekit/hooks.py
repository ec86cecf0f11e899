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

Implementations are checked against these specs when a connection is made, as pytest checks its
plugins: a method named ``invoicekit_*`` counts as an implementation with or without ``@hookimpl``, and
one whose name is no spec here (a misspelling) or that asks for an argument the spec does not pass is a
:class:`~invoicekit.errors.ConfigurationError` naming the plugin and the hook. Mark a deliberately
unknown hook ``@hookimpl(optionalhook=True)``.

Hooks published in the ``invoicekit.hooks`` entry point group load into every connection; to leave
them out (a plugin that misbehaves, a test that must not see them), connect with
``invoicekit.connect(..., load_entry_point_hooks=False)``: only ``plugins=[...]`` are used then.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, cast

import httpx
import pluggy

from invoicekit.errors import ConfigurationError

__all__ = ["ENTRY_POINT_GROUP", "PROJECT", "hookimpl", "hookspec", "make_plugin_manager"]

PROJECT = "invoicekit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def invoicekit_before_request(provider: str, request: httpx.Request) -> None:
    """Called just before ``request`` is sent (every attempt, retries included).

    ``request`` is a copy with every credential masked (``***``: the API token in Cashaca's query string, a
    key or bearer token in a header), so it is safe to log. Headers the hook adds or changes on it are
    sent with the real request.
    """


@hookspec
def invoicekit_after_response(provider: str, request: httpx.Request, response: httpx.Response) -> None:
    """Called after every response arrives, whatever its status, before the engine interprets it.

    ``request`` and ``response`` are copies with every credential masked, like ``invoicekit_before_request``'s.
    """


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


ENTRY_POINT_GROUP = "invoicekit.hooks"


class _PluginManager(pluggy.PluginManager):
    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        # Like pytest: a routine with the project's prefix is an implementation even without the
        # marker, so a misspelt name is caught by check_pending() instead of being ignored.
        if opts is None and name.startswith(f"{PROJECT}_") and inspect.isroutine(getattr(plugin, name, None)):
            return cast(pluggy.HookimplOpts, {})
        return opts


def make_plugin_manager(plugins: tuple[object, ...] = (), *, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the invoicekit specs, the ``invoicekit.hooks`` entry points (unless
    ``load_entry_points=False``) and ``plugins``, every implementation checked against the specs."""
    pm = _PluginManager(PROJECT)
    pm.add_hookspecs(sys.modules[__name__])
    try:
        if load_entry_points:
            for name, plugin in _entry_point_plugins():
                if pm.get_plugin(name) is None:  # as pluggy's loader: the first of a name wins
                    pm.register(plugin, name=name)
        for plugin in plugins:
            pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigurationError(
            f"invalid invoicekit hook plugin {_describe(exc.plugin)}: {exc}; the hooks are "
            + ", ".join(sorted(name for name in dir(pm.hook) if name.startswith(f"{PROJECT}_")))
        ) from None
    return pm


def _entry_point_plugins() -> list[tuple[str, object]]:
    """The objects the ``invoicekit.hooks`` entry points name, imported.

    Read through stevedore, like the providers: its entry point list is kept per process (and on disk, keyed
    by sys.path), where pluggy's ``load_setuptools_entrypoints`` reads the metadata of every installed
    distribution on every connect(). ``invoicekit.registry.refresh()`` forgets it.
    """
    from importlib.metadata import EntryPoint

    from stevedore import ExtensionManager

    def failed(_manager: ExtensionManager[Any], _entry_point: EntryPoint, exc: BaseException) -> None:
        raise ConfigurationError(
            f"a plugin of the {ENTRY_POINT_GROUP!r} entry point group cannot be loaded "
            f"({type(exc).__name__}: {exc}); connect with load_entry_point_hooks=False to leave them out"
        ) from None

    manager: ExtensionManager[Any] = ExtensionManager(
        namespace=ENTRY_POINT_GROUP, invoke_on_load=False, on_load_failure_callback=failed
    )
    return [(extension.name, extension.plugin) for extension in manager]


def _describe(plugin: object) -> str:
    return plugin.__name__ if inspect.ismodule(plugin) else type(plugin).__qualname__
