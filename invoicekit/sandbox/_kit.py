"""Small pieces every provider's sandbox app needs: errors, field coercion, paging, request bodies,
records under a parent, and provenance-aware JSON answers.

Each provider keeps its own wire shape (Cashaca gathers field errors into one 422, EF refuses the first
field with a 400): the coercers raise :class:`FieldError` naming the field, and the provider turns that
into its own answer, directly or through :class:`FieldErrors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from invoicekit.sandbox._store import StateStore

if TYPE_CHECKING:
    from invoicekit.sandbox._core import Sandbox
    from invoicekit.sandbox._provenance import Kind

__all__ = [
    "ApiError",
    "BodyError",
    "FieldError",
    "FieldErrors",
    "Nested",
    "Window",
    "coerce_bool",
    "coerce_date",
    "coerce_decimal",
    "coerce_int",
    "coerce_str",
    "enforces",
    "page_window",
    "read_form",
    "read_json",
    "served",
    "served_json",
    "serves",
    "skip_take_window",
]

_T = TypeVar("_T")


class ApiError(Exception):
    """Stops a handler: the provider's error handler answers ``status`` with ``body`` (any shape)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body!r}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class FieldError(ValueError):
    """A request field the sandbox refuses; ``field`` names it, ``message`` says why ("is not a number")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


class FieldErrors:
    """Field errors gathered over a whole request (Rails' ``record.errors``), for APIs that list them all.

    ``errors.take(coerce_int, value, "quantity")`` returns the coerced value, or None after noting the
    refusal; ``errors.by_field`` is ``{"quantity": ["is not a number"]}``.
    """

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def take(self, coerce: Callable[..., _T | None], value: Any, field: str, **options: Any) -> _T | None:
        try:
            return coerce(value, field, **options)
        except FieldError as exc:
            self.add(exc.field, exc.message)
            return None

    def __bool__(self) -> bool:
        return bool(self.by_field)


# --- field coercion: a blank value (None, "", spaces) is None, anything unreadable a FieldError ------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def coerce_str(value: Any, field: str, *, max_len: int | None = None) -> str | None:
    """Trimmed text; objects and lists are refused, numbers become their text."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise FieldError(field, "must be text")
    text = str(value).strip()
    if max_len is not None and len(text) > max_len:
        raise FieldError(field, f"is too long (at most {max_len} characters)")
    return text or None


_MAX_DIGITS = 18
#: The integers coerce_decimal takes: an exponent (digits - 1) of at most _MAX_DIGITS.
_INT_LIMIT = 10 ** (_MAX_DIGITS + 1)


def coerce_decimal(
    value: Any,
    field: str,
    *,
    places: int | None = None,
    low: Decimal | None = None,
    high: Decimal | None = None,
    comma: bool = True,
) -> Decimal | None:
    """A finite Decimal from a number or text (``comma``: ``"1,5"`` reads as 1.5); never a float's noise."""
    if _blank(value):
        return None
    if isinstance(value, bool | dict | list):
        raise FieldError(field, "is not a number")
    text = str(value).strip()
    try:
        number = Decimal(text.replace(",", ".") if comma else text)
    except InvalidOperation:
        raise FieldError(field, "is not a number") from None
    if not number.is_finite():
        raise FieldError(field, "is not a number")
    if number and abs(number.adjusted()) > _MAX_DIGITS:
        # 1e999999 is a finite Decimal, but no invoice holds it, and arithmetic on it would hang or overflow.
        raise FieldError(field, "is out of range")
    if places is not None:
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise FieldError(field, f"has more than {places} decimals")
    if (low is not None and number < low) or (high is not None and number > high):
        raise FieldError(field, "is out of range")
    return number


def coerce_int(value: Any, field: str, *, low: int | None = None, high: int | None = None) -> int | None:
    """An integer from a number or text; ``"2.0"`` is 2, ``"2.5"`` is refused."""
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        # What a JSON body mostly holds, read as coerce_decimal would (it refuses 19 digits and more).
        number = value
    else:
        checked = coerce_decimal(value, field, comma=False)
        if checked is None:
            return None
        if checked != checked.to_integral_value():
            raise FieldError(field, "must be an integer")
        number = int(checked)
    if (low is not None and number < low) or (high is not None and number > high):
        raise FieldError(field, "is out of range")
    return number


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def coerce_bool(value: Any, field: str) -> bool | None:
    """true/false, 1/0, yes/no, on/off (any case); anything else is refused."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(field, "must be true or false")


_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def coerce_date(value: Any, field: str, *, day_first: bool = False) -> date | None:
    """An ISO date (``2026-12-01``); with ``day_first`` also ``01/12/2026`` as Belgians write it."""
    if _blank(value):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    match = _DAY_FIRST.fullmatch(text) if day_first else None
    if match:
        day, month, year = (int(group) for group in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise FieldError(field, "is not a valid date")


# --- paging -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Which records a list request asks for: pass to ``store.page(collection, w.offset, w.limit)``."""

    offset: int
    limit: int

    def of(self, items: Sequence[_T]) -> list[_T]:
        """The window of an in-memory list (for lists that are filtered before paging)."""
        return list(items[self.offset : self.offset + self.limit])


def page_window(page: Any, per_page: Any, *, default: int, cap: int) -> Window:
    """``page`` (1-based) and ``per_page`` (capped at ``cap``) as a window; bad values are FieldErrors."""
    number = coerce_int(page, "page", low=1) or 1
    size = coerce_int(per_page, "per_page", low=1)
    size = min(size or default, cap)
    return Window((number - 1) * size, size)


def skip_take_window(skip: Any, take: Any, *, default: int, cap: int) -> Window:
    """``skip`` and ``take`` (capped at ``cap``) as a window."""
    offset = coerce_int(skip, "skip", low=0) or 0
    size = coerce_int(take, "take", low=0)
    return Window(offset, min(default if size is None else size, cap))


# --- request bodies -----------------------------------------------------------------------------------


class BodyError(ValueError):
    """A request body the sandbox cannot read: ``too_large`` or not parseable; the provider answers it."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyError(f"the request body is larger than {max_bytes} bytes", too_large=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:  # stop reading: a fake API must not buffer an unbounded upload
            raise BodyError(f"the request body is larger than {max_bytes} bytes", too_large=True)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, max_bytes: int) -> Any:
    """The JSON body (numbers with a fraction as Decimal), None when empty; BodyError otherwise."""
    raw = await _body(request, max_bytes)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyError("the request body is not valid JSON") from None


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def _set_nested(target: dict[str, Any], key: str, value: str) -> None:
    head, _, rest = key.partition("[")
    parts = [head] + (_BRACKETS.findall("[" + rest) if rest else [])
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":  # "name[]": append to a list
            if isinstance(node, list):
                node.append(value if last else {})
                node = node[-1]
            continue
        if not isinstance(node, dict):
            raise BodyError(f"the form field {key!r} mixes a list and a value")
        if last:
            node[part] = value
        else:
            existing = node.setdefault(part, [] if parts[i + 1] == "" else {})
            node = existing


async def read_form(request: Request, *, max_bytes: int, nested: bool = False) -> dict[str, Any]:
    """A form-encoded body; ``nested`` reads Rack keys (``client[name]=x``, ``tags[]=a``) into dicts and lists."""
    raw = await _body(request, max_bytes)
    pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    if not nested:
        return dict(pairs)
    params: dict[str, Any] = {}
    for key, value in pairs:
        _set_nested(params, key, value)
    return params


# --- records under a parent ---------------------------------------------------------------------------


class Nested:
    """Records that belong to a parent record (contacts of a client, payments of an invoice).

    They live in their own collection with the parent's id in ``parent_field``, found through an index,
    so listing one parent's children costs their number, not the store's.
    """

    def __init__(self, store: StateStore, collection: str, parent_field: str) -> None:
        self.store = store
        self.collection = collection
        self.parent_field = parent_field
        store.index(collection, parent_field)

    def add(self, parent_id: int, record: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            child_id = self.store.insert(self.collection, {**record, self.parent_field: parent_id})
            stored = self.store.get(self.collection, child_id)
        assert stored is not None
        return stored

    def list(self, parent_id: int) -> list[dict[str, Any]]:
        return self.store.find(self.collection, self.parent_field, parent_id)

    def get(self, parent_id: int, child_id: int) -> dict[str, Any] | None:
        """The child, or None when it does not exist or belongs to another parent."""
        record = self.store.get(self.collection, child_id)
        return record if record is not None and record.get(self.parent_field) == parent_id else None

    def delete(self, parent_id: int, child_id: int) -> bool:
        with self.store.transaction():
            return self.get(parent_id, child_id) is not None and self.store.delete(self.collection, child_id)

    def delete_all(self, parent_id: int) -> int:
        """Remove every child of ``parent_id`` (when the parent goes); returns how many."""
        with self.store.transaction():
            children = self.list(parent_id)
            for child in children:
                self.store.delete(self.collection, int(child["id"]))
        return len(children)


# --- provenance gates ---------------------------------------------------------------------------------


def serves(sandbox: Sandbox, kind: Kind, name: str) -> bool:
    """Whether the sandbox serves the listed ``kind`` ``name`` (an endpoint, a behaviour, a parameter...):
    always, except an assumed one in strict mode, where a name its provenance does not list is
    :class:`~invoicekit.sandbox.UnlistedField`. A sandbox without provenance data (never strict) serves all."""
    provenance = sandbox.provenance
    return provenance is None or provenance.serves(kind, name, strict=sandbox.strict)


def enforces(sandbox: Sandbox, refusal: str) -> bool:
    """Whether the sandbox makes the listed refusal ``refusal`` (assumed refusals are off in strict mode)."""
    return serves(sandbox, "refusal", refusal)


# --- answers ------------------------------------------------------------------------------------------


def served(sandbox: Sandbox, resource: str, data: Any) -> Any:
    """``data`` (a record or a list of records) as the sandbox may serve it: checked against its
    provenance, assumed fields dropped in strict mode. Without provenance data it is returned as it is."""
    provenance = sandbox.provenance
    if provenance is None:
        return data
    if isinstance(data, Mapping):
        return provenance.shape(resource, data, strict=sandbox.strict)
    return [provenance.shape(resource, item, strict=sandbox.strict) for item in data]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serve {type(value).__name__} as JSON")


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


def served_json(
    sandbox: Sandbox, resource: str, data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """:func:`served`, then a JSON response (Decimals and dates as strings)."""
    return _JSON(served(sandbox, resource, data), status_code=status, headers=dict(headers or {}))


_CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to the cent, as the providers' documentation computes their totals.

    Deliberately not ``invoicekit.model``'s rounding: a sandbox stands in for the provider, and totals it
    computed with the engine it is meant to check would only prove that engine agrees with itself (the
    providers' tests hold the sandboxes to that: no sandbox module imports invoicekit.model)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)
