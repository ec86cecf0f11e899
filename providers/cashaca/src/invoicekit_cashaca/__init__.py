"""invoicekit adapter and local sandbox for Cashaca (formerly Zenfactuur), API v2.

Connect with ``invoicekit.connect("cashaca", token=...)``; the token is the API token from the Cashaca
settings. ``base_url=`` points at a white label (``https://app.penningmeester.be``) or a sandbox.
"""

from __future__ import annotations

from typing import Any

from invoicekit.plugin import ProviderPlugin
from invoicekit_cashaca._adapter import CashacaAdapter

__all__ = ["CashacaAdapter", "plugin"]


def _create_sandbox(**options: Any) -> Any:
    # Imported lazily: a production connection never loads starlette routes.
    from invoicekit_cashaca.sandbox import create_sandbox

    return create_sandbox(**options)


plugin = ProviderPlugin(
    name="cashaca",
    title="Cashaca",
    create_adapter=CashacaAdapter,
    create_sandbox=_create_sandbox,
    credentials=("token", "base_url", "money_account_id"),
    description="Cashaca (formerly Zenfactuur) REST API v2, JSON, token in the query string.",
    docs_url="https://app.cashaca.be/api_docs/v2",
)
