"""invoicekit adapter and local sandbox for Flowtly (Symfony API Platform, JSON-LD).

Connect with ``invoicekit.connect("flowtly", username=..., password=...)``: the adapter logs in
(``POST /login``) and sends the JWT as a Bearer token, renewing it once when it expires. ``base_url=``
defaults to ``https://api.flowtly.eu`` (the current docs); ``https://app.flowtly.com/api`` (the older app
base) works as well. Flowtly-specific operations (the account's payment methods, deleting a payment) are in
:mod:`invoicekit_flowtly.account`.
"""

from __future__ import annotations

from typing import Any

from invoicekit.plugin import ProviderPlugin
from invoicekit_flowtly._adapter import DEFAULT_BASE_URL, FlowtlyAdapter

__all__ = ["DEFAULT_BASE_URL", "FlowtlyAdapter", "plugin"]


def _create_sandbox(**options: Any) -> Any:
    # Imported lazily: a production connection never loads starlette routes.
    from invoicekit_flowtly.sandbox import create_sandbox

    return create_sandbox(**options)


plugin = ProviderPlugin(
    name="flowtly",
    title="Flowtly",
    create_adapter=FlowtlyAdapter,
    create_sandbox=_create_sandbox,
    credentials=("username", "password", "base_url"),
    description="Flowtly (API Platform, JSON-LD/Hydra), JWT from POST /login as a Bearer token.",
    docs_url="https://flowtly.eu/developer-platform/api/invoicing",
)
