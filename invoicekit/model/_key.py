"""The reconciliation key every create carries: the caller's own (an order id, a webhook delivery id) or one
the library makes. See docs/idempotency.md."""

import uuid
from typing import Annotated

from pydantic import BeforeValidator, ValidationInfo

from invoicekit.model._base import is_from_provider

__all__ = ["KEY_MAX_LENGTH", "IdempotencyKey", "check_key", "new_idempotency_key"]

#: The shortest field a bundled provider carries the key in: EenvoudigFactureren's ``external_invoice_id``
#: and ``external_client_id`` hold at most 50 characters (seed and reference section on invoices).
KEY_MAX_LENGTH = 50
_PREFIX = "ik-"


def new_idempotency_key() -> str:
    """A fresh key: ``ik-`` and 32 hex digits of a uuid4 (35 characters, so it fits every carrying field)."""
    return _PREFIX + uuid.uuid4().hex


def check_key(value: object) -> object:
    """A caller's key: 1-50 printable ASCII characters, no spaces (they travel in provider text fields and
    in filters). What a provider holds is read as it is: a document made elsewhere may carry anything."""
    if not isinstance(value, str) or is_from_provider():
        return value
    if not 1 <= len(value) <= KEY_MAX_LENGTH:
        raise ValueError(f"an idempotency key has 1 to {KEY_MAX_LENGTH} characters, not {len(value)}")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValueError("an idempotency key is printable ASCII without spaces (letters, digits, - _ . : / ...)")
    return value


def _check_key(value: object, info: ValidationInfo) -> object:
    return value if is_from_provider(info) else check_key(value)


IdempotencyKey = Annotated[str, BeforeValidator(_check_key)]
"""A reconciliation key (see :func:`check_key`)."""
