"""Tests for invoicekit.belgium: Belgian identifiers on top of python-stdnum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import ogm_vcs as stdnum_ogm
from stdnum.be import vat as stdnum_be_vat
from stdnum.exceptions import ValidationError as StdnumError

from invoicekit.belgium import (
    InvalidNumber,
    bic_from_iban,
    format_kbo,
    format_ogm,
    is_belgian_vat,
    kbo_from_vat,
    ogm_from_reference,
    peppol_participant_id,
    validate_bic,
    validate_iban,
    validate_kbo,
    validate_ogm,
    validate_vat,
)


def r043_holds(number: str) -> bool:
    """PEPPOL-COMMON-R043, written out independently of the implementation."""
    return int(number[8:]) == 97 - int(number[:8]) % 97


# --- enterprise numbers ---------------------------------------------------------------------------------


def test_invalid_number_is_a_value_error() -> None:
    assert issubclass(InvalidNumber, ValueError)


@pytest.mark.parametrize(
    "spelling",
    [
        "0403019261",
        "0403.019.261",
        "0403 019 261",
        "BE0403019261",
        "BE 0403 019 261",
        "BE 0403.019.261",
        "be0403019261",
        "BE-0403-019-261",
        "  0403019261\n",
        "403019261",  # old 9-digit form
        "BE403019261",
        "(0)403019261",
    ],
)
def test_validate_kbo_accepts_common_spellings(spelling: str) -> None:
    assert validate_kbo(spelling) == "0403019261"


def test_validate_kbo_accepts_numbers_starting_with_1() -> None:
    # Issued since September 2023.
    assert validate_kbo("1234.567.894") == "1234567894"
    assert r043_holds("1234567894")


def test_wrong_check_digits_are_rejected_with_the_expected_ones() -> None:
    with pytest.raises(InvalidNumber, match=r"^check digits do not match \(expected 61\)$"):
        validate_kbo("BE0403019262")
    with pytest.raises(InvalidNumber, match=r"expected 61"):
        validate_vat("BE0403019262")


@pytest.mark.parametrize(
    ("number", "expected_check"),
    [
        ("0403015600", "97"),  # 04030156 % 97 == 0: stdnum takes 00, R043 wants 97
        ("0403025298", "01"),  # 04030252 % 97 == 96: stdnum takes 98
        ("0403025199", "02"),  # 04030251 % 97 == 95: stdnum takes 99
    ],
)
def test_numbers_stdnum_accepts_but_peppol_r043_rejects(number: str, expected_check: str) -> None:
    assert stdnum_be_vat.is_valid(number)  # the gap this module closes
    assert not r043_holds(number)
    with pytest.raises(InvalidNumber, match=rf"^check digits do not match \(expected {expected_check}\)$"):
        validate_kbo(number)
    with pytest.raises(InvalidNumber):
        validate_vat("BE" + number)
    with pytest.raises(InvalidNumber):
        peppol_participant_id(number)
    # ...and the R043 check digits for the same first eight digits are accepted.
    fixed = number[:8] + expected_check
    assert validate_kbo(fixed) == fixed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("04030192", "must be 10 digits"),
        ("040301926100", "must be 10 digits"),
        ("2403019261", "must start with 0 or 1"),
        ("9403019261", "must start with 0 or 1"),
        ("0000000000", "must not be all zeros"),
        ("O4O3O19261", "must be 10 digits, optionally prefixed with BE"),
        ("NL004495445B01", "must be 10 digits, optionally prefixed with BE"),
        ("", "is empty"),
        (" . ", "is empty"),
    ],
)
def test_validate_kbo_reasons(value: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        validate_kbo(value)
    assert str(info.value) == reason


@given(st.sampled_from("01"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_validate_kbo_matches_r043_on_random_numbers(first: str, rest: str) -> None:
    number = first + rest
    should_accept = r043_holds(number) and stdnum_be_vat.is_valid(number)
    try:
        result = validate_kbo(number)
    except InvalidNumber:
        assert not should_accept
    else:
        assert should_accept
        assert result == number


@given(st.integers(min_value=0, max_value=19_999_999), st.integers(min_value=0, max_value=99))
def test_validate_kbo_accepts_exactly_the_r043_check_digits(first8: int, check: int) -> None:
    # Random strings rarely hit a valid number; this walks every possible pair of check digits instead.
    number = f"{first8:08d}{check:02d}"
    accepted = True
    try:
        validate_kbo(number)
    except InvalidNumber:
        accepted = False
    assert accepted == r043_holds(number)


@given(st.integers(min_value=0, max_value=19_999_999))
def test_valid_numbers_survive_every_spelling(first8: int) -> None:
    number = f"{first8:08d}{97 - first8 % 97:02d}"
    printed = format_kbo(number)
    assert printed == f"{number[:4]}.{number[4:7]}.{number[7:]}"
    for spelling in (number, printed, "BE" + number, f"BE {number[:4]} {number[4:7]} {number[7:]}"):
        assert validate_kbo(spelling) == number
        assert validate_vat(spelling) == "BE" + number
        assert peppol_participant_id(spelling) == "0208:" + number
    if number.startswith("0"):
        assert validate_kbo(number[1:]) == number


def test_format_kbo() -> None:
    assert format_kbo("0403019261") == "0403.019.261"
    assert format_kbo("BE 403019261") == "0403.019.261"
    with pytest.raises(InvalidNumber):
        format_kbo("0403019262")


# --- VAT numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["BE0403019261", "be 0403.019.261", "BE 0403 019 261", "0403019261", "0403.019.261"]
)
def test_validate_vat_belgian(spelling: str) -> None:
    assert validate_vat(spelling) == "BE0403019261"
    assert is_belgian_vat(spelling)
    assert kbo_from_vat(spelling) == "0403019261"


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("NL004495445B01", "NL004495445B01"),
        ("nl 0044.95.445.B01", "NL004495445B01"),
        ("DE136695976", "DE136695976"),
        ("DE 136 695 976", "DE136695976"),
        ("FR40303265045", "FR40303265045"),
        ("ATU13585627", "ATU13585627"),
        ("IT00743110157", "IT00743110157"),
        ("EL094259216", "EL094259216"),
        ("GR094259216", "EL094259216"),  # ISO code typed, VAT prefix returned
        ("XI980780684", "XI980780684"),  # Northern Ireland
    ],
)
def test_validate_vat_other_eu_countries(value: str, normalised: str) -> None:
    assert validate_vat(value) == normalised
    assert not is_belgian_vat(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("DE136695978", "check digits do not match"),
        ("FR41303265045", "check digits do not match"),
        ("IT00743110158", "check digits do not match"),
        ("DE13669597", "has the wrong length for a DE VAT number"),
        ("GB980780684", "GB is not an EU VAT country prefix"),
        ("CHE123456789", "CH is not an EU VAT country prefix"),
        ("US123456789", "US is not an EU VAT country prefix"),
    ],
)
def test_validate_vat_rejects_foreign_numbers_with_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        validate_vat(value)
    assert str(info.value) == reason


def test_is_belgian_vat_raises_on_invalid_numbers() -> None:
    # An invalid number is neither Belgian nor foreign; answering False would route it as foreign.
    with pytest.raises(InvalidNumber):
        is_belgian_vat("BE0403019262")


def test_kbo_from_vat_rejects_foreign_numbers() -> None:
    with pytest.raises(InvalidNumber, match="NL VAT number, not a Belgian one"):
        kbo_from_vat("NL004495445B01")


def test_peppol_participant_id() -> None:
    assert peppol_participant_id("0403.019.261") == "0208:0403019261"
    assert peppol_participant_id("BE0403019261") == "0208:0403019261"
    assert peppol_participant_id("403019261") == "0208:0403019261"
    with pytest.raises(InvalidNumber, match="only identifies Belgian enterprises"):
        peppol_participant_id("NL004495445B01")
    with pytest.raises(InvalidNumber, match="expected 61"):
        peppol_participant_id("0403019262")


# --- OGM/VCS ----------------------------------------------------------------------------------------------


def test_ogm_round_trip_from_invoice_number() -> None:
    ogm = ogm_from_reference("2025_0108")
    # digits 20250108 -> 0020250108; 20250108 % 97 == 0, so the check digits are written 97.
    assert ogm == "002025010897"
    assert validate_ogm(ogm) == ogm
    printed = format_ogm(ogm)
    assert printed == "+++002/0250/10897+++"
    for spelling in (
        printed,
        "***002/0250/10897***",
        "002/0250/10897",
        "+++ 002 / 0250 / 10897 +++",
        "002 0250 10897",
        " 002025010897 ",
    ):
        assert validate_ogm(spelling) == ogm
        assert format_ogm(spelling) == printed


@pytest.mark.parametrize("spelling", ["+++010/8068/17183+++", "***010/8068/17183***", "010806817183", "010 8068 17183"])
def test_validate_ogm_known_value(spelling: str) -> None:
    assert validate_ogm(spelling) == "010806817183"
    assert format_ogm(spelling) == "+++010/8068/17183+++"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("+++010/8068/17180+++", "check digits do not match (expected 83)"),
        ("01080681718", "must be 12 digits"),
        ("0108068171830", "must be 12 digits"),
        ("000000000000", "must not be all zeros"),
        ("+++ +++", "is empty"),
        ("+++010.8068.17183+++", "must be 12 digits, optionally written +++ddd/dddd/ddddd+++"),
        ("INV-2025-0108", "must be 12 digits, optionally written +++ddd/dddd/ddddd+++"),
    ],
)
def test_validate_ogm_reasons(value: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        validate_ogm(value)
    assert str(info.value) == reason


def test_ogm_from_reference_variants() -> None:
    assert ogm_from_reference("0108068171") == "010806817183"
    assert ogm_from_reference(108068171) == "010806817183"
    assert ogm_from_reference("INV-1") == "000000000101"
    # More than 10 digits: the last 10 are kept.
    assert ogm_from_reference("99-0108068171")[:10] == "0108068171"
    # All-zero digits still give a valid OGM (check digits 97).
    assert ogm_from_reference("0") == "000000000097"
    assert validate_ogm("000000000097") == "000000000097"


@pytest.mark.parametrize("reference", ["", "INV-A", "²³", "٣٤"])
def test_ogm_from_reference_needs_ascii_digits(reference: str) -> None:
    with pytest.raises(InvalidNumber, match="contains no digits"):
        ogm_from_reference(reference)


@given(st.text(alphabet="0123456789-_/ ABCINV", max_size=30).filter(lambda s: any(c.isdigit() for c in s)))
def test_ogm_from_reference_is_always_valid(reference: str) -> None:
    ogm = ogm_from_reference(reference)
    digits = "".join(c for c in reference if c.isdigit())
    assert len(ogm) == 12
    assert ogm[:10] == digits[-10:].rjust(10, "0")
    assert validate_ogm(ogm) == ogm
    assert validate_ogm(format_ogm(ogm)) == ogm
    assert 1 <= int(ogm[10:]) <= 97


# --- IBAN and BIC -----------------------------------------------------------------------------------------


def test_iban_with_unknown_belgian_bank_code() -> None:
    with pytest.raises(InvalidNumber, match=r"bank code 539 .*check_bank=False"):
        validate_iban("BE68539007547034")
    with pytest.raises(InvalidNumber):
        validate_iban("BE68 5390 0754 7034", check_bank=True)
    assert validate_iban("BE68 5390 0754 7034", check_bank=False) == "BE68539007547034"
    assert validate_iban("be68539007547034", check_bank=False) == "BE68539007547034"


@pytest.mark.parametrize(
    ("value", "compact"),
    [
        ("BE48 3200 7018 4927", "BE48320070184927"),
        ("BE71 0961 2345 6769", "BE71096123456769"),
        ("NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
    ],
)
def test_validate_iban_accepts_valid_accounts(value: str, compact: str) -> None:
    assert validate_iban(value) == compact
    assert validate_iban(value, check_bank=False) == compact


@pytest.mark.parametrize("check_bank", [True, False])
def test_validate_iban_always_checks_iban_check_digits(check_bank: bool) -> None:
    with pytest.raises(InvalidNumber, match=r"^IBAN check digits do not match$"):
        validate_iban("BE48320070184928", check_bank=check_bank)


def test_validate_iban_national_check_digits_only_in_strict_mode() -> None:
    # IBAN check digits fine, Belgian account check digits wrong.
    with pytest.raises(InvalidNumber, match=r"^national account check digits do not match$"):
        validate_iban("BE41091811735141")
    assert validate_iban("BE41091811735141", check_bank=False) == "BE41091811735141"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        ("hello", "must start with a country code and two check digits (e.g. BE68)"),
        ("BE", "must start with a country code and two check digits (e.g. BE68)"),
        ("539007547034", "must start with a country code and two check digits (e.g. BE68)"),
        ("BE00 0000 0000 0000", "IBAN check digits do not match"),
    ],
)
def test_validate_iban_reasons(value: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        validate_iban(value, check_bank=False)
    assert str(info.value) == reason


def test_validate_iban_wrong_length_for_country() -> None:
    # Drop one digit and fix the IBAN check digits, so only the Belgian length (16) is wrong.
    bban = "32007018492"
    check = 98 - int(bban + "111400") % 97  # "BE" -> 11 14, then "00"
    with pytest.raises(InvalidNumber, match=r"^does not match the account format of its country$"):
        validate_iban(f"BE{check:02d}{bban}", check_bank=False)


def test_bic_from_iban() -> None:
    assert bic_from_iban("BE48320070184927") == "BBRUBEBB"
    assert bic_from_iban("BE48 3200 7018 4927") == "BBRUBEBB"
    assert bic_from_iban("BE71096123456769") == "GKCCBEBB"
    assert bic_from_iban("NL91ABNA0417164300") is None
    assert bic_from_iban("BE68539007547034") is None  # bank code not in the NBB table
    with pytest.raises(InvalidNumber):
        bic_from_iban("BE48320070184928")


@pytest.mark.parametrize(
    ("value", "compact"),
    [("GKCCBEBB", "GKCCBEBB"), ("gkcc be bb", "GKCCBEBB"), ("GEBA-BE-BB-XXX", "GEBABEBBXXX")],
)
def test_validate_bic(value: str, compact: str) -> None:
    assert validate_bic(value) == compact


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("GKCCBEB", "must be 8 or 11 characters"),
        ("GKCC2EBB", "must be 4 letters, a 2-letter country code and 2 or 5 letters or digits"),
        ("GKCCQQBB", "does not contain a known country code"),
    ],
)
def test_validate_bic_reasons(value: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        validate_bic(value)
    assert str(info.value) == reason


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**10 - 1),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(["{}", "+++{0}/{1}/{2}+++", "***{0}/{1}/{2}***", " {0} {1} {2} ", "{0}/{1}/{2}"]),
)
def test_validate_ogm_agrees_with_stdnum(base: int, check: int, spelling: str) -> None:
    # validate_ogm reads the plain spellings itself (for speed); stdnum's OGM-VCS module is the reference.
    number = f"{base:010d}{check:02d}"
    written = spelling.format(number) if spelling == "{}" else spelling.format(number[:3], number[3:7], number[7:])
    try:
        expected: str | None = stdnum_ogm.validate(stdnum_ogm.compact(written.replace("*", "")))
    except StdnumError:
        expected = None
    try:
        got: str | None = validate_ogm(written)
    except InvalidNumber:
        got = None
    assert got == expected
