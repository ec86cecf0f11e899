"""Hostile numbers (exponents, NaN, INF, thousands of digits) in UBL: a typed result, never an exception."""

from __future__ import annotations

import re

import pytest

from invoicekit.model import provider_context
from invoicekit.ubl import RulePack, from_ubl, preflight, to_ubl, validate

from ._golden import seller, standard_21_6

HOSTILE = ["1e30", "1e999999", "NaN", "-Infinity", "1E+999999999999", "9" * 5000, "0." + "1" * 40]
ELEMENTS = ["cbc:InvoicedQuantity", "cbc:PriceAmount", "cbc:LineExtensionAmount", "cbc:PayableAmount", "cbc:Percent"]


def with_number(tag: str, number: str) -> bytes:
    good = to_ubl(standard_21_6(), seller())
    data, count = re.subn(
        rf"(<{tag}[^>]*>)[^<]*(</)".encode(), lambda m: m.group(1) + number.encode() + m.group(2), good, count=1
    )
    assert count == 1
    return data


@pytest.mark.parametrize("tag", ELEMENTS)
@pytest.mark.parametrize("number", HOSTILE, ids=lambda n: n[:12])
def test_import_and_preflight_report_the_number(tag: str, number: str) -> None:
    data = with_number(tag, number)
    imported = from_ubl(data)
    assert any("not a number an invoice can hold" in issue.reason for issue in imported.leftovers.issues)
    with provider_context():
        assert preflight(data)  # at least one finding, and no exception


@pytest.mark.parametrize("tag", ["cbc:PriceAmount", "cbc:PayableAmount", "cbc:Percent"])
@pytest.mark.parametrize("number", ["1e999999", "NaN", "9" * 5000])
def test_validation_gives_findings(tag: str, number: str, rule_pack: RulePack) -> None:
    report = validate(with_number(tag, number), pack=rule_pack)
    assert not report.ok
    if not number.isdigit():
        assert "UBL-XSD" in report.rule_ids()  # not an xs:decimal
