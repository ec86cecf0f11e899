"""List parameters of the EF API: search, filter (both syntaxes), sort, fields, skip/take.

Source: <https://help.eenvoudigfactureren.be/nl/support/solutions/articles/101000381598> via the reference
("EF, Transport"): ``?search=term`` (one term, case-insensitive), ``?filter=city=Brussel,name=~Rest``
(operators ``= != <= >= < > =~`` on top-level fields, comma-separated), the vendor tools' ``__op__`` form
(``date__ge__2024-01-01``), ``?fields=a,b``, ``?sort=f1+-f2`` and ``?skip=30&take=10``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicekit.sandbox import FieldError, Window, skip_take_window
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = ["DEFAULT_TAKE", "MAX_TAKE", "apply_list_query", "comparable", "list_window", "narrows", "projected"]

# Assumed (provenance default list.take): 50 by default; a take above 100 is served as 100, not refused.
DEFAULT_TAKE = 50
MAX_TAKE = 100

# Longest operators first, so "<=" is not read as "<" followed by "=value".
_SYMBOL = re.compile(r"^(?P<field>[A-Za-z0-9_]+)(?P<op>!=|<=|>=|=~|=|<|>)(?P<value>.*)$", re.DOTALL)
_WORD = re.compile(r"^(?P<field>[A-Za-z0-9_]+)__(?P<op>eq|ne|lt|le|gt|ge|like)__(?P<value>.*)$", re.DOTALL)
_WORD_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "like": "=~"}

Item = dict[str, Any]


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def comparable(value: Any) -> str:
    """A value as the ``=`` filter compares it (numbers by value, other text case-insensitively): two values
    the filter finds equal have the same ``comparable``, so an index on it finds every match."""
    number = _as_number(value)
    if number is not None and number.is_finite():
        try:
            return str(number.normalize())
        except ArithmeticError:  # past the context's exponent range: compared as text below
            pass
    return ("" if value is None else str(value)).lower()


def _compare(left: Any, op: str, right: str) -> bool:
    text = "" if left is None else str(left)
    if op == "=~":
        return right.lower() in text.lower()
    a, b = _as_number(left), _as_number(right)
    if a is None or b is None:
        # Dates (YYYY-MM-DD) and timestamps compare correctly as text; other strings case-insensitively.
        x: Any = text.lower()
        y: Any = right.lower()
    else:
        x, y = a, b
    if op == "=":
        return bool(x == y)
    if op == "!=":
        return bool(x != y)
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


def _filters(spec: str, fields: set[str]) -> list[Callable[[Item], bool]]:
    tests: list[Callable[[Item], bool]] = []
    for part in (p for p in spec.split(",") if p.strip()):
        match = _WORD.match(part.strip()) or _SYMBOL.match(part.strip())
        if match is None:
            raise ApiError(400, "filter invalid")
        name, op, value = match["field"], _WORD_OPS.get(match["op"], match["op"]), match["value"]
        if name == "tag":
            tests.append(_tag_test(op, value))
            continue
        if name not in fields:
            raise ApiError(400, f"filter field {name} unknown")

        def test(item: Item, name: str = name, op: str = op, value: str = value) -> bool:
            return _compare(item.get(name), op, value)

        tests.append(test)
    return tests


def _tags(item: Item) -> list[str]:
    return [str(t.get("name", "")) if isinstance(t, dict) else str(t) for t in item.get("tags") or []]


def _tag_test(op: str, value: str) -> Callable[[Item], bool]:
    """``tag`` filters on the document's tags (download.rb: ``tag__ne__accountant`` keeps the invoices not yet
    sent to the accountant, ``tag__eq__<tag>`` those that carry it): ``!=`` holds when no tag matches."""
    if op not in ("=", "!=", "=~"):
        raise ApiError(400, "filter invalid")

    def test(item: Item) -> bool:
        hit = any(_compare(tag, "=~" if op == "=~" else "=", value) for tag in _tags(item))
        return not hit if op == "!=" else hit

    return test


def _sort_key(name: str) -> Callable[[Item], Any]:
    def key(item: Item) -> Any:
        value = item.get(name)
        number = _as_number(value)
        # Numbers before text, so ids and amounts sort numerically while names sort alphabetically.
        return (0, number, "") if number is not None else (1, Decimal(0), str(value or "").lower())

    return key


def apply_list_query(items: Sequence[Item], query: dict[str, str], *, sortable: bool = True) -> list[Item]:
    """Search, filter, sort, page and project ``items`` (full objects) as EF does for a list GET."""
    result = list(items)
    fields: set[str] = set()
    for item in result:
        fields.update(name for name, value in item.items() if _scalar(value))
    term = query.get("search", "").strip().lower()
    if term:
        result = [item for item in result if any(_scalar(v) and term in str(v).lower() for v in item.values() if v)]
    if query.get("filter", "").strip():
        tests = _filters(query["filter"], fields) if result else []
        result = [item for item in result if all(test(item) for test in tests)]
    sort = query.get("sort", "").strip()
    if sort:
        if not sortable:
            raise ApiError(400, "sort not supported")
        # "+" separates fields in the docs; in a query string it arrives as a space.
        for part in reversed([p for p in re.split(r"[\s+]+", sort) if p]):
            descending = part.startswith("-")
            name = part.lstrip("-")
            if result and name not in fields:
                raise ApiError(400, f"sort field {name} unknown")
            result.sort(key=_sort_key(name), reverse=descending)
    return projected(list_window(query).of(result), query)


def narrows(query: Mapping[str, str]) -> bool:
    """Whether a list GET searches, filters or sorts (else it is a plain page of the domain, in id order)."""
    return any(query.get(name, "").strip() for name in ("search", "filter", "sort"))


def list_window(query: Mapping[str, str]) -> Window:
    """The ``skip``/``take`` of a list GET."""
    try:
        return skip_take_window(query.get("skip"), query.get("take"), default=DEFAULT_TAKE, cap=MAX_TAKE)
    except FieldError as error:
        raise ApiError(400, f"{error.field} invalid") from None


def projected(items: list[Item], query: Mapping[str, str]) -> list[Item]:
    """``items`` with only the ``fields`` a list GET asks for."""
    wanted = [name.strip() for name in query.get("fields", "").split(",") if name.strip()]
    if wanted:
        return [{name: item[name] for name in wanted if name in item} for item in items]
    return items
