"""invoicekit adapter and local sandbox for EenvoudigFactureren (also sold as SimplyBooks), API v1.

Connect with ``invoicekit.connect("eenvoudigfactureren", api_key=...)``; the key comes from EF's settings
(one account per key; ``account_id=`` picks another account the key may use). ``base_url=`` points at a
white label (``https://app.simplybooks.be``) or a sandbox. The adapter speaks XML, EF's default format.
"""

from __future__ import annotations

from typing import Any

from invoicekit.plugin import ProviderPlugin
from invoicekit_eenvoudigfactureren._adapter import EenvoudigFacturerenAdapter

__all__ = ["EenvoudigFacturerenAdapter", "plugin"]


def _create_sandbox(**options: Any) -> Any:
    # Imported lazily: a production connection never loads starlette routes.
    from invoicekit_eenvoudigfactureren.sandbox import create_sandbox

    return create_sandbox(**options)


plugin = ProviderPlugin(
    name="eenvoudigfactureren",
    title="EenvoudigFactureren",
    create_adapter=EenvoudigFacturerenAdapter,
    create_sandbox=_create_sandbox,
    credentials=("api_key", "account_id", "base_url", "max_xml_bytes"),
    description="EenvoudigFactureren (SimplyBooks) API v1, XML, X-API-Key header.",
    docs_url="https://help.eenvoudigfactureren.be/nl/support/solutions/articles/101000381585-api-basis",
)
