"""The Flowtly sandbox: a stateful fake of Flowtly's API Platform API, with its JWT login.

``invoicekit sandbox serve flowtly`` prints ``username=... password=...``; ``POST /login`` with them answers
a JWT (HS256, signed by the sandbox, ``token_ttl`` seconds, 3600 by default) for ``Authorization: Bearer``.
Collections are Hydra with the ``hydra:`` prefix, or without it (API Platform 4's ``hydra_prefix: false``)
when ``hydra_prefix=False`` or the environment variable ``INVOICEKIT_FLOWTLY_HYDRA=unprefixed`` says so
(that is how the conformance suite runs against both variants). Routes answer with and without the
``/api`` prefix (``https://api.flowtly.eu`` and ``https://app.flowtly.com/api``).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from invoicekit.sandbox import Provenance, Sandbox, StateStore

__all__ = ["FlowtlySandbox", "create_sandbox"]

USERNAME = "demo@flowtly.sandbox"
_SECRET = "_flowtly_jwt_secret"  # noqa: S105 - a store collection name, not a secret


class FlowtlySandbox(Sandbox):
    """A :class:`Sandbox` whose credentials are a username and a password (the password is the token the
    kit issues, so revoking it works as for the other providers)."""

    def __init__(self, *, hydra_prefix: bool, token_ttl: float, **options: Any) -> None:
        self.hydra_prefix = hydra_prefix
        self.token_ttl = token_ttl
        self.username = USERNAME
        self.organization = "Sandbox Organization"
        self.outbox: list[dict[str, Any]] = []
        super().__init__(
            "flowtly",
            credential_name="password",
            curl_template=(
                "curl -s -X POST {base_url}/login -H 'Content-Type: application/json'"
                ' -d \'{{"username": "' + USERNAME + '", "password": "{password}"}}\''
            ),
            **options,
        )
        if not self.store.all(_SECRET):
            self.store.insert(_SECRET, {"secret": secrets.token_hex(32)})
        if not self.store.count("payment_methods"):
            self.store.insert(
                "payment_methods",
                {
                    "externalId": "pm_sandbox_visa_4242",
                    "organization": "/organizations/1",
                    "type": "card",
                    "ccBrand": "visa",
                    "ccLastDigits": "4242",
                    "ccExpMonth": 12,
                    "ccExpYear": 2030,
                    "createdAt": "2026-01-05T09:00:00+00:00",
                    "updatedAt": "2026-01-05T09:00:00+00:00",
                    "deletedAt": None,
                    "deleted": False,
                },
            )

    def build_app(self) -> Any:
        from invoicekit_flowtly._sandbox_app import flowtly_app

        return flowtly_app(self)

    def jwt_secret(self) -> str:
        return str(self.store.all(_SECRET)[0]["secret"])

    def credentials(self) -> dict[str, str]:
        return {"username": self.username, **super().credentials()}

    def issue_credentials(self) -> dict[str, str]:
        return {"username": USERNAME, **super().issue_credentials()}


def create_sandbox(
    *,
    store: StateStore | None = None,
    seed: int | None = None,
    strict: bool = False,
    hydra_prefix: bool | None = None,
    token_ttl: float = 3600.0,
) -> FlowtlySandbox:
    if hydra_prefix is None:
        hydra_prefix = os.environ.get("INVOICEKIT_FLOWTLY_HYDRA", "prefixed").strip().lower() != "unprefixed"
    return FlowtlySandbox(
        hydra_prefix=hydra_prefix,
        token_ttl=token_ttl,
        store=store,
        seed=seed,
        strict=strict,
        provenance=Provenance.load("invoicekit_flowtly"),
    )
