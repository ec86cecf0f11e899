"""The base of every neutral model: strict input, typed errors, provider provenance."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded
from types import MappingProxyType
from typing import Annotated, Any, Final, Self

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from invoicekit.errors import FieldIssue, ValidationError

__all__ = ["Amount", "NeutralModel", "ProviderDocument", "from_pydantic_error", "provider_context"]

# Provider data is read tolerantly: the rules that guard what *we* send are skipped, because a provider may
# hold documents made elsewhere. ``from_provider`` says so through pydantic's validation context, which reaches
# every nested model of one validation; ``provider_context()`` says so for a block of code (several
# constructions, or models built with ``Model(...)``) through a context variable.
_from_provider: ContextVar[bool] = ContextVar("invoicekit_from_provider", default=False)
PROVIDER_DATA: Final = MappingProxyType({"invoicekit_from_provider": True})


@contextmanager
def provider_context() -> Iterator[None]:
    """Within this block, models are built as provider data (tolerant reading)."""
    token = _from_provider.set(True)
    try:
        yield
    finally:
        _from_provider.reset(token)


def is_from_provider(info: pydantic.ValidationInfo | None = None) -> bool:
    """Whether the model being validated is provider data: ``info`` is the validator's (when it has one)."""
    return (info is not None and info.context is PROVIDER_DATA) or _from_provider.get()


# Bounds that keep every later step exact and exception-free: the totals quantize products of two amounts
# to cents in decimal's default 28 digits, which holds for any amount below 10**10 (ten billion) across up
# to a million rows; and more than 28 decimals is past what those 28 digits can carry.
MAX_AMOUNT_DIGITS = 10
MAX_AMOUNT_DECIMALS = 28


# A Decimal within both bounds quantizes to 28 decimals exactly in 38 digits: one C call that says "in bounds"
# for the common case, where ``as_tuple`` (it builds a tuple of every digit) would cost five times more.
# Anything it does not pass goes through the checks of _check_decimal, which say what is wrong.
_SMALLEST = Decimal(1).scaleb(-MAX_AMOUNT_DECIMALS)
_BOUNDS = Context(prec=MAX_AMOUNT_DIGITS + MAX_AMOUNT_DECIMALS, traps=[InvalidOperation, Inexact, Rounded])


def _to_decimal(value: object) -> object:
    # Decimals and decimal strings (what provider mappings pass) are checked first, and cheaply: one C call
    # (see _within, inlined here: this runs for every amount of every listed invoice). Anything it does not
    # pass, and every other type, goes the long way (_convert), which says what is wrong.
    if type(value) is Decimal:
        parsed = value
    elif type(value) is str:
        try:
            parsed = Decimal(value)  # surrounding whitespace is Decimal's to ignore, as the long way strips it
        except ArithmeticError:
            return _convert(value)
    else:
        return _convert(value)
    try:
        _BOUNDS.quantize(parsed, _SMALLEST)
    except ArithmeticError:
        return _convert(value)
    # A value of 10**10 or more needs 39 digits at 28 decimals: the quantize above refused it. A quiet NaN
    # quantizes without a signal; a zero goes the long way (its exponent is not checked here).
    if parsed and parsed.is_finite():
        return parsed
    return _convert(value)


def _convert(value: object) -> object:
    if isinstance(value, Decimal):
        _check_decimal(value)
        return value
    # A float has already lost the cents it was meant to carry (0.1 + 0.2); refuse it rather than guess.
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        raise ValueError("floats are not accepted for amounts: pass a Decimal, an int or a string")
    if isinstance(value, int):
        if abs(value) >= 10**MAX_AMOUNT_DIGITS:
            raise ValueError(_too_large(str(value)))
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except ArithmeticError:  # InvalidOperation: not a number, or an exponent decimal cannot hold
            raise ValueError(f"{value[:40]!r} is not a decimal number") from None
        _check_decimal(parsed)
        return parsed
    return value


def _within(value: Decimal) -> bool:
    """Whether ``value`` is certainly within both bounds (False: let _check_decimal say)."""
    try:
        _BOUNDS.quantize(value, _SMALLEST)
    except ArithmeticError:
        return False
    # A quiet NaN quantizes without a signal; a zero goes the long way (its exponent is not checked here).
    return bool(value) and value.is_finite() and value.adjusted() < MAX_AMOUNT_DIGITS


def _check_decimal(value: Decimal) -> None:
    if _within(value):
        return
    if not value.is_finite():
        raise ValueError("amounts must be finite numbers (not NaN or Infinity)")
    if value.adjusted() >= MAX_AMOUNT_DIGITS:  # the position of the first digit: no arithmetic on 1E+999999
        raise ValueError(_too_large(f"{value:.3e}"))
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_AMOUNT_DECIMALS:
        raise ValueError(f"at most {MAX_AMOUNT_DECIMALS} decimals are accepted")


def _too_large(text: str) -> str:
    return f"{text[:40]} is too large: amounts, quantities and rates stay below 10^{MAX_AMOUNT_DIGITS}"


Amount = Annotated[Decimal, BeforeValidator(_to_decimal)]
"""A Decimal; ints and decimal strings are converted exactly, floats are refused, and so are NaN, Infinity
and values of 10**10 or more (or with more than 28 decimals), which no invoice holds and which decimal's
default context cannot total."""


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def from_pydantic_error(error: pydantic.ValidationError) -> ValidationError:
    issues: list[FieldIssue] = []
    for item in error.errors(include_url=False):
        original = item.get("ctx", {}).get("error")
        if isinstance(original, ValidationError):
            # A validator raised ours (a ValueError, so pydantic wrapped it): keep its own field paths.
            prefix = _loc_to_path(item["loc"])
            issues += [FieldIssue(".".join(p for p in (prefix, i.path) if p), i.reason) for i in original.issues]
            continue
        reason = item["msg"]
        if reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        issues.append(FieldIssue(_loc_to_path(item["loc"]), reason))
    return ValidationError(issues)


class NeutralModel(BaseModel):
    """Rejects unknown fields and reports problems as :class:`invoicekit.errors.ValidationError`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True, defer_build=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise from_pydantic_error(exc) from None

    # This __init__ only changes the error's type. Marked as pydantic marks its own, nested models are
    # validated inside their parent's one validation (not through this __init__, a second validator run per
    # nested model), and a nested failure reaches the top with its full field path.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        # validate_assignment checks the value like construction does; report it the same way too.
        try:
            super().__setattr__(name, value)
        except pydantic.ValidationError as exc:
            raise from_pydantic_error(exc) from None

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: Any = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        try:
            return super().model_validate(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        except pydantic.ValidationError as exc:
            raise from_pydantic_error(exc) from None

    @classmethod
    def from_provider(cls, **data: Any) -> Self:
        """Build from data an adapter read from a provider: types are checked, our send rules are not."""
        try:
            return cls.__pydantic_validator__.validate_python(data, context=PROVIDER_DATA)  # type: ignore[no-any-return]
        except pydantic.ValidationError as exc:
            raise from_pydantic_error(exc) from None


class ProviderDocument(NeutralModel):
    """A document that may have come from a provider: its id there and the payload it sent."""

    provider_id: str | None = None
    # The provider's own payload, untouched, for what the neutral model has no field for.
    raw: Any = Field(default=None, repr=False, exclude=True)
