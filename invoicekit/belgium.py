"""Belgian identifiers: enterprise (KBO/BCE) and VAT numbers, OGM/VCS payment references, IBAN and BIC.

Every function takes a value as a person would type it (dots, spaces, ``BE`` prefix, ``+++`` fences, lower
case) and returns the one normalised spelling that invoices and Peppol messages need, or raises
:class:`InvalidNumber` with a reason that reads well after any field name ("check digits do not match
(expected 62)").

The checks themselves are python-stdnum's; this module only adds normalisation, readable reasons and one
rule that stdnum does not apply:

**PEPPOL-COMMON-R043.** A Belgian enterprise number ends in two check digits equal to
``97 - (first 8 digits mod 97)``, so they are always 01..97. ``stdnum.be.vat`` instead checks that
``(first8 + last2) % 97 == 0``, which also holds for the check digits 98, 99 and 00 when ``first8 % 97`` is
96, 95 or 0 (e.g. ``0403015600``). The Peppol schematron rejects those numbers as a *fatal* error on every
``schemeID="0208"`` identifier, so an invoice built from a number that stdnum accepts could still bounce at
the access point. :func:`validate_kbo` applies both checks, and everything else here goes through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoicekit.errors import InvalidNumber

if TYPE_CHECKING:
    from stdnum.exceptions import ValidationError

# python-stdnum is imported inside the functions that use it, on their first call: importing it (its
# package imports pydoc, and the IBAN module reads its country table) costs about 6 ms, which every
# connect() would pay through the models before any number is checked. An import of a loaded module is a
# dictionary look-up (well under a microsecond), next to the microseconds stdnum's checks take.

__all__ = [
    "InvalidNumber",
    "bic_from_iban",
    "format_kbo",
    "format_ogm",
    "is_belgian_vat",
    "kbo_from_vat",
    "ogm_from_reference",
    "peppol_participant_id",
    "validate_bic",
    "validate_iban",
    "validate_kbo",
    "validate_ogm",
    "validate_vat",
]

KBO_SCHEME_ID = "0208"
"""ISO 6523 ICD of the Belgian enterprise number; BOSA requires it for every Belgian Peppol participant."""

_DIGITS = frozenset("0123456789")

# Prefixes stdnum.eu.vat accepts beyond its MEMBER_STATES (ISO codes): Greece's VAT prefix EL, and the
# EU/IM numbers of the One-Stop-Shop schemes.
_EXTRA_VAT_PREFIXES = frozenset({"EL", "EU", "IM"})


def _generic_reason(exc: ValidationError) -> str:
    # Fallback for stdnum errors that have no more specific explanation at the call site.
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

    if isinstance(exc, InvalidLength):
        return "has the wrong length"
    if isinstance(exc, InvalidFormat):
        return "has an invalid format"
    if isinstance(exc, InvalidChecksum):
        return "check digits do not match"
    if isinstance(exc, InvalidComponent):
        return "contains an invalid or unknown part"
    return "is not valid"


def _format_reason(compact: str, expected_shape: str) -> str:
    # stdnum reports "empty", "all zeros" and "has letters" alike as InvalidFormat; tell them apart.
    if not compact:
        return "is empty"
    if set(compact) <= _DIGITS:
        return "must not be all zeros"
    return expected_shape


def _r043_check_digits(first8: str) -> str:
    return f"{97 - int(first8) % 97:02d}"


# --- enterprise and VAT numbers ---------------------------------------------------------------------------


def validate_kbo(value: str) -> str:
    """Validate a Belgian enterprise number (KBO/BCE) and return its 10 digits.

    Accepts the usual spellings: ``0403.019.261``, ``0403 019 261``, ``BE 0403 019 261``, ``BE0403019261``
    and the pre-2023 9-digit form ``403019261``. The first digit must be 0 or 1 (numbers starting with 1
    have been issued since September 2023), and the check digits must satisfy PEPPOL-COMMON-R043 (see
    the module docstring), which is stricter than ``stdnum.be.vat``.
    """
    from stdnum.be import vat as _be_vat
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

    number = _be_vat.compact(value)
    try:
        number = _be_vat.validate(number)
    except InvalidLength as exc:
        raise InvalidNumber("must be 10 digits") from exc
    except InvalidFormat as exc:
        raise InvalidNumber(_format_reason(number, "must be 10 digits, optionally prefixed with BE")) from exc
    except InvalidComponent as exc:
        raise InvalidNumber("must start with 0 or 1") from exc
    except InvalidChecksum as exc:
        raise InvalidNumber(f"check digits do not match (expected {_r043_check_digits(number[:8])})") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc
    expected = _r043_check_digits(number[:8])
    if number[8:] != expected:
        # Only reached for check digits 98/99/00, which stdnum's looser sum accepts (see module docstring).
        raise InvalidNumber(f"check digits do not match (expected {expected})")
    return number


def format_kbo(kbo: str) -> str:
    """Return an enterprise number in its printed form, ``0403.019.261`` (validating it first)."""
    number = validate_kbo(kbo)
    return f"{number[:4]}.{number[4:7]}.{number[7:]}"


def _country_prefix(value: str) -> str | None:
    compact = "".join(value.split()).upper()
    prefix = compact[:2]
    if len(prefix) == 2 and prefix.isascii() and prefix.isalpha():
        return prefix
    return None


def validate_vat(value: str) -> str:
    """Validate an EU VAT number and return it compact, with its country prefix.

    - ``BE`` numbers are checked like :func:`validate_kbo` (R043 included) and returned as ``BE0403019261``.
    - A number without a country prefix (``0403.019.261``, ``0403019261``) is taken to be Belgian: that is
      how Belgian customers usually type their own number. Foreign numbers always need their prefix.
    - Other EU numbers (including ``XI`` for Northern Ireland) are checked with ``stdnum.eu.vat``, which
      checks format and check digits offline, not whether the number is registered (that needs VIES).
      Greek numbers come back with the VAT prefix ``EL`` even when typed with the ISO code ``GR``.
    """
    prefix = _country_prefix(value)
    if prefix is None or prefix == "BE":
        return "BE" + validate_kbo(value)
    from stdnum.eu import vat as _eu_vat
    from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

    if prefix.lower() not in _eu_vat.MEMBER_STATES and prefix not in _EXTRA_VAT_PREFIXES:
        raise InvalidNumber(f"{prefix} is not an EU VAT country prefix")
    try:
        number = _eu_vat.validate(value)
    except InvalidLength as exc:
        raise InvalidNumber(f"has the wrong length for a {prefix} VAT number") from exc
    except InvalidFormat as exc:
        raise InvalidNumber(f"does not have the format of a {prefix} VAT number") from exc
    except InvalidChecksum as exc:
        raise InvalidNumber("check digits do not match") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc
    # BR-CO-09 allows GR or EL for Greece, but VIES and Greek invoices use EL; stdnum keeps whatever was
    # typed, and a single spelling keeps "is this the same VAT number?" comparisons simple.
    if number.startswith("GR"):
        number = "EL" + number[2:]
    return number


def is_belgian_vat(value: str) -> bool:
    """Return whether a VAT number is Belgian (after normalisation, so a bare ``0403019261`` counts).

    Raises :class:`InvalidNumber` if the value is not a valid VAT number at all: "invalid" and "foreign"
    lead to different invoices (reverse charge, intra-Community supply), so they must not be conflated.
    """
    return validate_vat(value).startswith("BE")


def kbo_from_vat(vat: str) -> str:
    """Return the enterprise number inside a Belgian VAT number (``BE0403019261`` -> ``0403019261``)."""
    number = validate_vat(vat)
    if not number.startswith("BE"):
        raise InvalidNumber(f"is a {number[:2]} VAT number, not a Belgian one")
    return number[2:]


def peppol_participant_id(kbo_or_vat: str) -> str:
    """Return the Peppol participant identifier (scheme 0208) for a Belgian enterprise, ``0208:0403019261``.

    Takes an enterprise number or a Belgian VAT number in any spelling :func:`validate_vat` understands.
    """
    number = validate_vat(kbo_or_vat)
    if not number.startswith("BE"):
        raise InvalidNumber(f"is a {number[:2]} VAT number; scheme 0208 only identifies Belgian enterprises")
    return f"{KBO_SCHEME_ID}:{number[2:]}"


# --- structured communication (OGM/VCS) -------------------------------------------------------------------


_OGM_SEPARATORS = str.maketrans("", "", " +/*")


def validate_ogm(value: str) -> str:
    """Validate a Belgian structured communication (OGM/VCS) and return its 12 digits.

    Accepts ``+++010/8068/17183+++``, ``***010/8068/17183***`` (an alternative fence), ``010806817183``
    and the same with spaces.
    """
    # The usual spellings in plain ASCII, checked at once: stdnum's compact() and validate() walk the string
    # character by character three times, the better part of a listed invoice's cost. Anything else (and
    # every invalid number, for its reason) goes through stdnum below.
    plain = value.translate(_OGM_SEPARATORS)
    digits = len(plain) == 12 and plain.isascii() and plain.isdigit()
    if digits and int(plain) > 0 and plain[10:] == f"{int(plain[:10]) % 97 or 97:02d}":
        return plain
    from stdnum.be import ogm_vcs as _ogm_vcs
    from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

    # stdnum strips '+', '/' and spaces but not the '*' fence.
    number = _ogm_vcs.compact(value.replace("*", ""))
    try:
        return _ogm_vcs.validate(number)
    except InvalidLength as exc:
        raise InvalidNumber("must be 12 digits") from exc
    except InvalidFormat as exc:
        raise InvalidNumber(
            _format_reason(number, "must be 12 digits, optionally written +++ddd/dddd/ddddd+++")
        ) from exc
    except InvalidChecksum as exc:
        expected = _ogm_vcs.calc_check_digits(number)
        raise InvalidNumber(f"check digits do not match (expected {expected})") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc


def format_ogm(value: str) -> str:
    """Return a structured communication in its printed form, ``+++010/8068/17183+++`` (validating it)."""
    # stdnum's format() leaves out the +++ fence that banks and Belgian Peppol tools (BT-83) use.
    from stdnum.be import ogm_vcs as _ogm_vcs

    return f"+++{_ogm_vcs.format(validate_ogm(value))}+++"


def ogm_from_reference(reference: str | int) -> str:
    """Build a valid 12-digit structured communication from an invoice number or other reference.

    Takes the digits of the reference (``"2025_0108"`` -> ``20250108``), keeps the last 10, left-pads them
    with zeros and appends the mod-97 check digits (0 written as 97). References with more than 10 digits
    lose their leading digits, so two such references can map to the same OGM; keep the numbering short if
    payments must be matched by OGM alone.
    """
    from stdnum.be import ogm_vcs as _ogm_vcs

    digits = "".join(ch for ch in str(reference) if ch in _DIGITS)
    if not digits:
        raise InvalidNumber("contains no digits to build a structured communication from")
    base = digits[-10:].rjust(10, "0")
    return base + _ogm_vcs.calc_check_digits(base)


# --- bank accounts ----------------------------------------------------------------------------------------


def validate_iban(value: str, *, check_bank: bool = True) -> str:
    """Validate an IBAN and return it compact (``BE68 5390 0754 7034`` -> ``BE68539007547034``).

    The IBAN check digits and the country's account format are always checked. With ``check_bank=True``
    (the default) stdnum also runs the country-specific checks; for Belgium that includes the national
    check digits and the bank code, looked up in the National Bank's table shipped with stdnum. A real but
    recently assigned (or test) bank code is then rejected until stdnum updates that table:
    ``check_bank=False`` is the lenient mode for such accounts.
    """
    from stdnum import iban as _iban
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, ValidationError

    compact = _iban.compact(value)
    if not compact:
        raise InvalidNumber("is empty")
    # stdnum checks the mod-97 sum first, so 'hello' would otherwise be reported as a check-digit error.
    if not (len(compact) > 4 and compact[:2].isalpha() and compact[2:4].isdigit()):
        raise InvalidNumber("must start with a country code and two check digits (e.g. BE68)")
    try:
        number = _iban.validate(compact, check_country=False)
    except InvalidChecksum as exc:
        raise InvalidNumber("IBAN check digits do not match") from exc
    except InvalidComponent as exc:
        raise InvalidNumber("does not start with a known IBAN country code") from exc
    except InvalidFormat as exc:
        raise InvalidNumber("does not match the account format of its country") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc
    if not check_bank:
        return number
    try:
        return _iban.validate(number, check_country=True)
    except InvalidChecksum as exc:
        raise InvalidNumber("national account check digits do not match") from exc
    except InvalidComponent as exc:
        if number.startswith("BE"):
            raise InvalidNumber(
                f"bank code {number[4:7]} is not in the National Bank of Belgium's list "
                "(use check_bank=False to accept it)"
            ) from exc
        raise InvalidNumber("bank or branch code is not known (use check_bank=False to accept it)") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc


def bic_from_iban(iban: str) -> str | None:
    """Return the BIC of the bank behind a Belgian IBAN, or ``None``.

    ``None`` means the IBAN is not Belgian or its bank code has no BIC in stdnum's National Bank table.
    Raises :class:`InvalidNumber` if the value is not a valid IBAN (bank code not required to be known).
    """
    number = validate_iban(iban, check_bank=False)
    if not number.startswith("BE"):
        return None
    from stdnum.be import iban as _be_iban

    return _be_iban.to_bic(number)


def validate_bic(value: str) -> str:
    """Validate a BIC (SWIFT code) and return it compact and upper-case (``gkcc be bb`` -> ``GKCCBEBB``)."""
    from stdnum import bic as _bic
    from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength, ValidationError

    try:
        return _bic.validate(value)
    except InvalidLength as exc:
        raise InvalidNumber("must be 8 or 11 characters") from exc
    except InvalidFormat as exc:
        raise InvalidNumber("must be 4 letters, a 2-letter country code and 2 or 5 letters or digits") from exc
    except InvalidComponent as exc:
        raise InvalidNumber("does not contain a known country code") from exc
    except ValidationError as exc:
        raise InvalidNumber(_generic_reason(exc)) from exc
