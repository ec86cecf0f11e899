"""Codes a Peppol validator would refuse fail in the model, at the field, before any export."""

from __future__ import annotations

from datetime import date

import pytest

from invoicekit.errors import ValidationError
from invoicekit.model import Address, provider_context
from invoicekit.ubl import Endpoint, Period, UblExtras, from_ubl, to_ubl

from ._golden import seller, standard_21_6


def fields(info: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(info.value.fields)


@pytest.mark.parametrize(("country", "hint"), [("UK", "GB"), ("XK", "1A"), ("ZZ", "ISO 3166-1")])
def test_country_codes_follow_iso_3166(country: str, hint: str) -> None:
    with pytest.raises(ValidationError, match=hint) as info:
        Address(street="High Street 1", postal_code="SW1", city="London", country=country)
    assert fields(info) == {"country"}


@pytest.mark.parametrize("country", ["GB", "XI", "1A", "be"])
def test_en_16931_country_codes_pass(country: str) -> None:
    assert Address(street="a", postal_code="1", city="b", country=country).country == country.upper()


def test_a_provider_s_country_is_read_as_is() -> None:
    with provider_context():
        assert Address(street="a", postal_code="1", city="b", country="UK").country == "UK"


def test_currency_codes_follow_iso_4217() -> None:
    with pytest.raises(ValidationError, match="ISO 4217") as info:
        standard_21_6().model_validate({**standard_21_6().model_dump(), "currency": "EUX"})
    assert fields(info) == {"currency"}
    assert standard_21_6().model_validate({**standard_21_6().model_dump(), "currency": "SEK"}).currency == "SEK"


def test_endpoint_schemes_are_peppol_eas_codes() -> None:
    with pytest.raises(ValidationError, match="EAS") as info:
        Endpoint("0207", "1234567890")
    assert fields(info) == {"scheme"}
    assert Endpoint("0208", "0403019261").scheme == "0208"


@pytest.mark.parametrize("gln", ["5412345000014", "54123450000a3", "1"])
def test_gln_endpoints_need_a_gs1_check_digit(gln: str) -> None:
    with pytest.raises(ValidationError, match="R040") as info:
        Endpoint("0088", gln)
    assert fields(info) == {"identifier"}


@pytest.mark.parametrize("gln", ["5412345000013", "9482348239847239874"])  # the second: official example
def test_valid_glns_pass(gln: str) -> None:
    assert Endpoint("0088", gln).identifier == gln


def test_payment_means_codes_follow_uncl_4461() -> None:
    with pytest.raises(ValidationError, match="UNCL 4461") as info:
        UblExtras(payment_means_code="71")
    assert fields(info) == {"payment_means_code"}
    assert UblExtras(payment_means_code="58").payment_means_code == "58"


def test_a_reversed_invoicing_period_fails() -> None:
    with pytest.raises(ValidationError, match="before it starts") as info:
        Period(date(2026, 2, 1), date(2026, 1, 31))
    assert fields(info) == {"end"}


def test_import_keeps_bad_codes_and_reports_them() -> None:
    data = to_ubl(standard_21_6(), seller()).replace(b'schemeID="0208">0428759497', b'schemeID="0207">0428759497')
    assert b'schemeID="0207"' in data
    imported = from_ubl(data)
    assert imported.extras.buyer_endpoint is not None
    assert imported.extras.buyer_endpoint.scheme == "0207"
    assert any(i.path == "extras.buyer_endpoint.scheme" for i in imported.leftovers.issues)
