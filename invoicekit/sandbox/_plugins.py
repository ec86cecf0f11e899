"""Finding a provider's sandbox through the ``invoicekit.providers`` entry point group."""

from __future__ import annotations

import inspect
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

    ``options`` go to the provider's ``create_sandbox`` (``store=``, ``seed=``, ``strict=``). Raises
    :class:`~invoicekit.errors.UnknownProvider` for a name that is not installed,
    :class:`~invoicekit.errors.UnsupportedOperation` for a provider that ships no sandbox, and
    :class:`~invoicekit.errors.ConfigurationError` for ``strict=True`` when the provider's sandbox has no
    strict mode (no ``strict`` option, or no provenance data).
    """
    plugin = _load(name)
    if plugin.create_sandbox is None:
        raise UnsupportedOperation(name, "sandbox")
    strict = bool(options.get("strict"))
    no_strict = f"the sandbox of provider {name!r} has no strict mode yet: its create_sandbox takes no strict= option"
    if strict and not _takes(plugin.create_sandbox, "strict"):
        raise ConfigurationError(no_strict)
    try:
        sandbox = plugin.create_sandbox(**options)
    except TypeError as exc:
        # A lazy wrapper (``**options``) passes strict on to a factory that may not take it.
        if strict and "'strict'" in str(exc):
            raise ConfigurationError(no_strict) from None
        raise
    except ValueError as exc:
        if strict:
            # Sandbox(strict=True) without provenance data: say which provider, as a configuration problem.
            raise ConfigurationError(f"provider {name!r}: {exc}") from None
        raise
    if not isinstance(sandbox, Sandbox):
        raise ConfigurationError(f"provider {name!r} returned {type(sandbox).__name__}, not a Sandbox")
    return sandbox


def _takes(factory: Any, option: str) -> bool:
    """Whether ``factory`` accepts the keyword ``option`` (by name or through ``**kwargs``)."""
    parameters = inspect.signature(factory).parameters
    return option in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
