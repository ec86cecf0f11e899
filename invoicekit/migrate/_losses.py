"""What a target cannot carry: the adapter's field losses, per document, and the document without them."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from invoicekit.errors import FieldIssue

__all__ = ["without"]

M = TypeVar("M", bound=BaseModel)


def _reset(model: Any, parts: list[str]) -> Any:
    """``model`` with the field at the dotted path ``parts`` set back to its default (lists by index)."""
    head, rest = parts[0], parts[1:]
    if isinstance(model, list):
        index = int(head)
        if not rest or not 0 <= index < len(model):
            return model
        return [_reset(item, rest) if i == index else item for i, item in enumerate(model)]
    if not isinstance(model, BaseModel) or head not in type(model).model_fields:
        return model
    if not rest:
        default = type(model).model_fields[head].get_default(call_default_factory=True)
        return model.model_copy(update={head: default})
    return model.model_copy(update={head: _reset(getattr(model, head), rest)})


def without(document: M, issues: list[FieldIssue]) -> M:
    """``document`` with every field an issue names (``sepa_mandate``, ``rows.2.unit``) set back to its
    default, so a provider that would drop them is given only what it keeps; unknown paths are left."""
    for issue in issues:
        document = _reset(document, issue.path.split("."))
    return document
