"""Finding a provider's sandbox through the ``invoicekit.providers`` entry point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from invoicekit.errors import ConfigurationError, UnknownProvider, UnsupportedOperation
from invoicekit.plugin import ProviderPlugin
from invoicekit.sandbox._core import Sandbox

__all__ = ["create_sandbox"]

GROUP = "invoicekit.providers"


def _installed() -> list[str]:
    """Names of every installed provider (loaded or not), sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def _load(name: str) -> ProviderPlugin:
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise UnknownProvider(name, _installed())
    try:
        plugin = found[0].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"provider {name!r} is installed but cannot be loaded: {exc}") from exc
    if not isinstance(plugin, ProviderPlugin):
        raise ConfigurationError(
            f"entry point {found[0].value!r} of provider {name!r} is not an invoicekit ProviderPlugin"
        )
    return plugin


def create_sandbox(name: str, **options: Any) -> Sandbox:
    """Build a fresh sandbox of the installed provider ``name``.

    ``options`` go to the provider's ``create_sandbox`` (``store=``, ``seed=``). Raises
    :class:`~invoicekit.errors.UnknownProvider` for a name that is not installed and
    :class:`~invoicekit.errors.UnsupportedOperation` for a provider that ships no sandbox.
    """
    plugin = _load(name)
    if plugin.create_sandbox is None:
        raise UnsupportedOperation(name, "sandbox")
    sandbox = plugin.create_sandbox(**options)
    if not isinstance(sandbox, Sandbox):
        raise ConfigurationError(f"provider {name!r} returned {type(sandbox).__name__}, not a Sandbox")
    return sandbox
