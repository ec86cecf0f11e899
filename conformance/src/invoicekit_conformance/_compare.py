"""Comparing what was sent with what came back, field by field, and saying what differs in plain words.

Paths are dotted, as in :class:`~invoicekit.errors.FieldIssue` (``rows.2.discount_percent``,
``address.street2``); ``*`` in a path stands for every item of a list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from invoicekit.errors import FieldIssue
from invoicekit.model import CreditNote, Invoice, InvoiceRow
from invoicekit.model._totals import Totals

__all__ = [
    "CLIENT_FIELDS",
    "INVOICE_FEATURES",
    "FieldResult",
    "describe",
    "document_differences",
    "field_results",
    "get_path",
    "is_declared",
    "normalise",
    "strip_paths",
    "totals_differences",
]

M = TypeVar("M", bound=BaseModel)

#: The neutral client fields the fidelity report covers, one row each in the feature matrix.
CLIENT_FIELDS: tuple[str, ...] = (
    "name",
    "kind",
    "vat_number",
    "enterprise_number",
    "email",
    "phone",
    "website",
    "language",
    "address.street",
    "address.street2",
    "address.postal_code",
    "address.city",
    "address.country",
    "delivery_address",
    "site_address",
    "contacts.0.name",
    "contacts.0.email",
    "contacts.0.phone",
    "sepa_mandate",
    "external_id",
    "custom_fields",
)

#: The parts of an invoice the feature matrix reports on, and where they live in the model.
INVOICE_FEATURES: dict[str, str] = {
    "rows at 21/12/6/0 %": "rows",
    "row units (UN/ECE codes)": "rows.*.unit",
    "row discount": "rows.*.discount_percent",
    "document discount": "discount_percent",
    "allowances and charges": "allowances_charges",
    "note": "note",
    "structured communication (OGM)": "structured_communication",
    "order reference": "order_reference",
    "delivery date": "delivery_date",
    "payment term / due date": "effective_due_date",
}

_MISSING = object()


def get_path(obj: Any, path: str) -> Any:
    """The value at ``path`` (None where the path leads nowhere: an absent list item is a dropped one)."""
    current = obj
    for part in path.split("."):
        if current is None:
            return None
        if isinstance(current, list | tuple):
            if not part.isdigit() or int(part) >= len(current):
                return None
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            current = getattr(current, part, None)
    return current


def normalise(value: Any) -> Any:
    """A comparable form: 8 == 8.00, an empty string or list is "nothing", ids and raw payloads ignored."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    if isinstance(value, BaseModel):
        data = {
            name: normalise(getattr(value, name))
            for name in type(value).model_fields
            if name not in ("provider_id", "raw")
        }
        kept = tuple(sorted((k, v) for k, v in data.items() if v is not None))
        return kept or None
    if isinstance(value, list | tuple):
        items = tuple(normalise(v) for v in value)
        return items or None
    if isinstance(value, dict):
        pairs = tuple(sorted((str(k), normalise(v)) for k, v in value.items()))
        return pairs or None
    if isinstance(value, str):
        return value or None
    return value


def describe(value: Any) -> str:
    """A short human form of a value, for failure messages."""
    if value is None:
        return "nothing"
    if isinstance(value, Enum):
        return repr(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _matches(pattern: str, path: str) -> bool:
    left, right = pattern.split("."), path.split(".")
    if len(left) != len(right):
        return False
    return all(p == "*" or p == q for p, q in zip(left, right, strict=True))


def is_declared(path: str, issues: Iterable[FieldIssue]) -> bool:
    """Whether the adapter declared ``path`` (or a field around or inside it) as something it cannot store."""
    return any(_overlaps(path, issue.path) or _overlaps(issue.path, path) for issue in issues)


Status = Literal["kept", "dropped", "changed"]


@dataclass(frozen=True)
class FieldResult:
    """One field of a round trip: what happened to it, and whether that is allowed."""

    path: str
    status: Status
    declared: bool  # the adapter said it cannot store it (unsupported_fields)
    normalised: str | None  # the profile says the provider rewrites it, and why
    sent: Any
    got: Any

    @property
    def ok(self) -> bool:
        return self.status == "kept" or self.declared or (self.status == "changed" and self.normalised is not None)

    @property
    def label(self) -> str:
        """The cell of the fidelity report."""
        if self.status == "kept":
            return "kept"
        if self.declared:
            return f"{self.status} (declared)"
        if self.normalised is not None and self.status == "changed":
            return "normalised"
        return f"{self.status} (undeclared)"

    def problem(self) -> str:
        if self.status == "dropped":
            return f"{self.path}: sent {describe(self.sent)}, got nothing back, and the adapter did not declare it lost"
        return (
            f"{self.path}: sent {describe(self.sent)}, got {describe(self.got)} back, "
            "and the adapter did not declare the change"
        )


def field_results(
    sent: Any,
    got: Any,
    paths: Sequence[str],
    declared: Sequence[FieldIssue],
    normalised: dict[str, str] | None = None,
) -> list[FieldResult]:
    results = []
    for path in paths:
        before, after = get_path(sent, path), get_path(got, path)
        a, b = normalise(before), normalise(after)
        status: Status = "kept" if a == b else ("dropped" if b is None else "changed")
        results.append(
            FieldResult(
                path=path,
                status=status,
                declared=is_declared(path, declared),
                normalised=(normalised or {}).get(path),
                sent=before,
                got=after,
            )
        )
    return results


def _default_of(parent: Any, name: str) -> Any:
    if isinstance(parent, BaseModel):
        info = type(parent).model_fields.get(name)
        if info is not None:
            return info.get_default(call_default_factory=True)
    return _MISSING


def _strip_one(model: Any, data: Any, parts: list[str]) -> None:
    *front, last = parts
    parent, parent_data = model, data
    for part in front:
        if isinstance(parent, list | tuple):
            if not part.isdigit() or int(part) >= len(parent):
                return
            parent, parent_data = parent[int(part)], parent_data[int(part)]
        else:
            parent, parent_data = getattr(parent, part, None), parent_data.get(part)
        if parent is None or parent_data is None:
            return
    if isinstance(parent, list | tuple):
        if last.isdigit() and int(last) < len(parent_data):
            parent_data.pop(int(last))
        return
    default = _default_of(parent, last)
    if default is not _MISSING and isinstance(parent_data, dict):
        parent_data[last] = default


def strip_paths(model: M, issues: Iterable[FieldIssue]) -> M:
    """``model`` with every field an issue names reset to its default: what the provider can carry."""
    data = model.model_dump()
    # Deepest and highest list index first, so removing a list item does not shift a later path.
    paths = sorted(
        {issue.path for issue in issues}, key=lambda p: [int(x) if x.isdigit() else -1 for x in p.split(".")]
    )
    for path in reversed(paths):
        _strip_one(model, data, path.split("."))
    return type(model).model_validate(data)


# --- documents ------------------------------------------------------------------------------------------
_ROW_FIELDS = ("description", "quantity", "unit", "unit_price", "discount_percent", "vat_rate", "vat_category")
_DOCUMENT_FIELDS = (
    "number",
    "issue_date",
    "effective_due_date",
    "delivery_date",
    "currency",
    "discount_percent",
    "allowances_charges",
    "note",
    "buyer_reference",
    "order_reference",
    "structured_communication",
    "client.provider_id",
)


def _row_text(row: InvoiceRow) -> str:
    return (
        f"{row.description!r}, {row.quantity} x {row.unit_price} at {row.vat_rate} % "
        f"(category {row.vat_category.value})"
    )


def document_differences(
    sent: Invoice | CreditNote, got: Invoice | CreditNote, *, fields: Sequence[str] = ()
) -> list[str]:
    """Every way ``got`` differs from ``sent`` in what the provider claims to carry, one line each."""
    problems: list[str] = []
    if len(got.rows) != len(sent.rows):
        problems.append(f"rows: sent {len(sent.rows)} rows, got {len(got.rows)} back")
        for i, row in enumerate(sent.rows):
            if not any(normalise(r.description) == normalise(row.description) for r in got.rows):
                problems.append(f"rows.{i}: row {i} ({_row_text(row)}) is missing")
        for i, row in enumerate(got.rows):
            if not any(normalise(r.description) == normalise(row.description) for r in sent.rows):
                problems.append(f"rows.{i}: row {i} ({_row_text(row)}) was never sent")
    else:
        for i, (a, b) in enumerate(zip(sent.rows, got.rows, strict=True)):
            for name in _ROW_FIELDS:
                if normalise(getattr(a, name)) != normalise(getattr(b, name)):
                    problems.append(
                        f"rows.{i}.{name}: sent {describe(getattr(a, name))}, got {describe(getattr(b, name))}"
                    )
    for path in (*_DOCUMENT_FIELDS, *fields):
        before = get_path(sent, path)
        if before is None:
            continue  # the provider assigns it (number) or nothing was sent
        after = get_path(got, path)
        if normalise(before) != normalise(after):
            problems.append(f"{path}: sent {describe(before)}, got {describe(after)}")
    return problems


def totals_differences(expected: Totals, got: Totals, who: str) -> list[str]:
    problems = []
    for name, label in (
        ("line_extension", "sum of line nets"),
        ("tax_exclusive", "total without VAT"),
        ("vat_total", "VAT total"),
        ("payable", "amount payable"),
    ):
        a, b = getattr(expected, name), getattr(got, name)
        if a != b:
            problems.append(f"{label}: invoicekit's totals engine computes {a}, {who} {b}")
    return problems
