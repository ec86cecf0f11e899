"""What a provider distribution exposes through the ``invoicekit.providers`` entry point group.

A provider package (ours or a third party's) declares in its pyproject.toml::

    [project.entry-points."invoicekit.providers"]
    cashaca = "invoicekit_cashaca:plugin"

where ``plugin`` is a :class:`ProviderPlugin`. invoicekit never imports a provider by name: the bundled
adapters load exactly as a third-party one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoicekit.adapter import Adapter
    from invoicekit.sandbox import Sandbox

__all__ = ["ProviderPlugin"]


@dataclass(frozen=True)
class ProviderPlugin:
    """One provider: how to build its adapter from credentials, and (optionally) its local sandbox.

    ``create_adapter(**credentials)`` raises :class:`invoicekit.errors.ConfigurationError` for missing or
    malformed credentials. ``credentials`` names every keyword it accepts (secrets and settings such as
    ``base_url``): ``connect()`` refuses any other keyword with a ConfigurationError that lists these, so
    a misspelt ``tokn=`` fails clearly. Left empty, the keyword parameters of ``create_adapter``'s
    signature are used. ``create_sandbox(**options)`` returns a fresh :class:`invoicekit.sandbox.Sandbox`
    (options: ``store`` for persistence, ``seed`` for fault injection).
    """

    name: str
    title: str
    create_adapter: Callable[..., Adapter]
    create_sandbox: Callable[..., Sandbox] | None = None
    description: str = ""
    docs_url: str | None = None
    extra: Mapping[str, Any] | None = None
    credentials: tuple[str, ...] = ()
