"""Finds provider plugins in the ``invoicekit.providers`` entry point group, through stevedore."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from stevedore import DriverManager, ExtensionManager
from stevedore.exception import NoMatches

from invoicekit.errors import ConfigurationError, UnknownProvider
from invoicekit.plugin import ProviderPlugin

__all__ = ["ENTRY_POINT_GROUP", "installed_providers", "load_provider", "refresh"]

ENTRY_POINT_GROUP = "invoicekit.providers"
HOOKS_GROUP = "invoicekit.hooks"  # invoicekit.hooks.ENTRY_POINT_GROUP, read through stevedore too
log = logging.getLogger("invoicekit.registry")


def _manager() -> ExtensionManager[Any]:
    # A broken third-party plugin must not hide the others: stevedore logs it and we carry on.
    return ExtensionManager(
        namespace=ENTRY_POINT_GROUP,
        invoke_on_load=False,
        on_load_failure_callback=lambda _mgr, ep, exc: log.warning("cannot load provider %s: %s", ep.name, exc),
    )


def refresh() -> None:
    """Forget the entry points read so far (providers and hooks): stevedore caches them per process, so a
    provider installed while the process runs (a notebook's pip install, a test fixture) is seen only after
    this call."""
    ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
    ExtensionManager.ENTRY_POINT_CACHE.pop(HOOKS_GROUP, None)
    # Under that cache, stevedore keeps what it read per sys.path value: a distribution installed into a folder
    # already on sys.path stays unseen until this is cleared too (no public API; skipped if stevedore changes).
    from stevedore import _cache

    internal = getattr(getattr(_cache, "_c", None), "_internal", None)
    if isinstance(internal, dict):
        internal.clear()


def installed_providers() -> dict[str, ProviderPlugin]:
    """Every installed provider plugin, by name, in name order."""
    found: dict[str, ProviderPlugin] = {}
    for extension in _manager():
        plugin = extension.plugin
        if not isinstance(plugin, ProviderPlugin):
            log.warning("entry point %s is not an invoicekit ProviderPlugin; ignored", extension.name)
            continue
        found[extension.name] = plugin
    return dict(sorted(found.items()))


def load_provider(name: str) -> ProviderPlugin:
    """The plugin of provider ``name``. Only that entry point is imported: ``connect("cashaca")`` must not pay
    for (or be broken by) every other installed provider."""
    try:
        driver: DriverManager[Any] = DriverManager(namespace=ENTRY_POINT_GROUP, name=name, invoke_on_load=False)
    except NoMatches:
        names = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
        raise UnknownProvider(name, names) from None
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"provider {name!r} is installed but cannot be loaded: {exc}") from exc
    plugin = driver.driver
    if not isinstance(plugin, ProviderPlugin):
        raise ConfigurationError(f"entry point {name!r} is not an invoicekit ProviderPlugin")
    if plugin.name != name:
        raise ConfigurationError(f"entry point {name!r} loads a plugin that calls itself {plugin.name!r}")
    return plugin
