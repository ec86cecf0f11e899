"""Credentials from the environment: ``INVOICEKIT_<PROVIDER>_<CREDENTIAL>``, upper case.

``INVOICEKIT_CASHACA_TOKEN``, ``INVOICEKIT_CASHACA_BASE_URL``, ``INVOICEKIT_EENVOUDIGFACTUREREN_API_KEY``,
``INVOICEKIT_FLOWTLY_USERNAME``: one variable per keyword the provider's plugin declares
(``ProviderPlugin.credentials``), characters other than letters and digits written ``_``. Commands read
credentials only from here, never from their arguments (which any user sees in ``ps``); ``connect()``
fills in the keywords its caller leaves out from the same variables.

A named account other than ``default`` has its own: ``INVOICEKIT_<ACCOUNT>_<PROVIDER>_<CREDENTIAL>``
(``INVOICEKIT_SHOP42_CASHACA_TOKEN``), read by :func:`account_credentials` (the Celery tasks and
``invoicekit migrate --from-account``).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoicekit.plugin import ProviderPlugin

__all__ = ["account_credentials", "borrowed_credentials", "credentials_from_env", "env_name"]


def env_name(provider: str, credential: str, account: str = "default") -> str:
    """The variable that holds ``credential`` of ``provider``: ``env_name("cashaca", "base_url")`` is
    ``INVOICEKIT_CASHACA_BASE_URL``; ``env_name("cashaca", "token", "shop42")`` is
    ``INVOICEKIT_SHOP42_CASHACA_TOKEN``."""
    parts = (provider, credential) if account == "default" else (account, provider, credential)
    return "_".join(("INVOICEKIT", *(re.sub(r"[^A-Z0-9]", "_", part.upper()) for part in parts)))


def _wants_int(plugin: ProviderPlugin, credential: str) -> bool:
    # A setting such as Cashaca's money_account_id is an int keyword; a variable always holds text.
    try:
        parameter = inspect.signature(plugin.create_adapter).parameters.get(credential)
    except (TypeError, ValueError):
        return False
    if parameter is None:
        return False
    annotation = str(parameter.annotation)
    return isinstance(parameter.default, int) or re.search(r"\bint\b", annotation) is not None


def credentials_from_env(plugin: ProviderPlugin, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The plugin's declared credentials that are set in the environment (empty values count as unset)."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for credential in plugin.credentials:
        value = environ.get(env_name(plugin.name, credential), "")
        if not value:
            continue
        found[credential] = int(value) if value.isdigit() and _wants_int(plugin, credential) else value
    return found


def account_credentials(
    plugin: ProviderPlugin, account: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The credentials of ``account`` at the plugin's provider: ``INVOICEKIT_CASHACA_TOKEN`` for account
    ``"default"``, ``INVOICEKIT_SHOP42_CASHACA_TOKEN`` for account ``"shop42"``."""
    environ = os.environ if environ is None else environ
    if account == "default":
        return credentials_from_env(plugin, environ)
    prefix = "INVOICEKIT_" + re.sub(r"[^A-Z0-9]", "_", account.upper()) + "_"
    # The account's own variables, renamed to the single-account scheme credentials_from_env reads.
    own = {f"INVOICEKIT_{name[len(prefix) :]}": value for name, value in environ.items() if name.startswith(prefix)}
    return credentials_from_env(plugin, own)


def borrowed_credentials(plugin: ProviderPlugin, credentials: Mapping[str, Any]) -> list[str]:
    """The keywords ``connect(**credentials)`` would fill in from the default account's variables: for
    another account those are someone else's secrets (``base_url`` aside, which names no account)."""
    return sorted(set(credentials_from_env(plugin)) - set(credentials) - {"base_url"})
