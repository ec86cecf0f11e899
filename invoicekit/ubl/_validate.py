"""Offline, layered validation of UBL documents: XSD, then the CEN and Peppol schematron rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from lxml import etree

from invoicekit.ubl._artefacts import (
    Artefact,
    ArtefactUnavailable,
    SaxonRunError,
    run_xslt,
    saxon_unavailable_reason,
    xsd_artefact,
    xsd_errors,
)
from invoicekit.ubl._ns import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS, SVRL
from invoicekit.ubl._packs import INSTALL_HINT, RulePack, newest_pack, rules_dir
from invoicekit.ubl._releases import mandatory_release, version_key
from invoicekit.ubl._report import Finding, Flag, Layer, ValidationReport, sort_findings
from invoicekit.xmlsafe import DEFAULT_MAX_BYTES, UnsafeXml, XmlError, parse_xml

__all__ = ["DEFAULT_LAYERS", "OUTDATED_RULE_ID", "validate"]

#: Pre-flight, then the three layers an access point runs (CEN and Peppol from the newest rule pack).
DEFAULT_LAYERS: tuple[Layer, ...] = (Layer.PREFLIGHT, Layer.XSD, Layer.CEN, Layer.PEPPOL)
#: The warning given when the pack is older than the release mandatory on the document's issue date.
OUTDATED_RULE_ID = "INVOICEKIT-RULES-OUTDATED"

_ROOTS = {f"{{{INVOICE_NS}}}Invoice": "Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "CreditNote"}
_NS_LABELS = {CAC: "cac:", CBC: "cbc:", INVOICE_NS: "", CREDIT_NOTE_NS: ""}
# CEN (ISO skeleton): /*:Invoice[namespace-uri()='urn:...'][1]; SchXslt (Peppol): /Q{urn:...}Invoice[1]
_ISO_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")
_EQNAME_STEP = re.compile(r"Q\{([^}]*)\}([\w.-]+)")
_RULE_PREFIX = re.compile(r"^\s*\[[^\]]+\]\s*-?\s*")
_XSD_NS = re.compile(r"\{([^}]*)\}")


def _label(namespace: str) -> str:
    return _NS_LABELS.get(namespace, f"{{{namespace}}}")


def readable_location(location: str) -> str:
    """Turn the namespace-qualified XPath of an SVRL report into ``/Invoice[1]/cac:TaxTotal[1]``."""
    location = _ISO_STEP.sub(lambda m: _label(m.group(2)) + m.group(1), location)
    return _EQNAME_STEP.sub(lambda m: _label(m.group(1)) + m.group(2), location)


def _svrl_findings(svrl: bytes, artefact: Artefact) -> list[Finding]:
    # SVRL is produced by our own compiled stylesheet from an already-checked document: trusted input.
    root = etree.fromstring(svrl, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    findings = []
    for element in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        rule_id = element.get("id") or "?"
        flag_text = (element.get("flag") or "fatal").strip().lower()
        flag = Flag(flag_text) if flag_text in Flag.__members__.values() else Flag.FATAL
        text = " ".join("".join(str(part) for part in element.itertext()).split())
        findings.append(
            Finding(
                layer=artefact.layer,
                rule_id=rule_id,
                flag=flag,
                message=_RULE_PREFIX.sub("", text),
                location=readable_location(element.get("location") or ""),
                artefact_version=artefact.version,
            )
        )
    return findings


def _xsd_findings(root: etree._Element, artefact: Artefact) -> list[Finding]:
    return [
        Finding(
            layer=Layer.XSD,
            rule_id="UBL-XSD",
            flag=Flag.FATAL,
            message=_XSD_NS.sub(lambda m: _label(m.group(1)), message),
            location=f"line {line}" + (f" ({path})" if path else ""),
            artefact_version=artefact.version,
        )
        for message, line, path in xsd_errors(artefact, root)
    ]


def _parse_finding(exc: XmlError) -> Finding:
    return Finding(
        layer=Layer.XSD,
        rule_id="XML-UNSAFE" if isinstance(exc, UnsafeXml) else "XML-WELLFORMED",
        flag=Flag.FATAL,
        message=str(exc),
        location="",
        artefact_version="invoicekit.xmlsafe",
    )


def _normalise_layers(layers: Iterable[Layer | str] | None) -> tuple[tuple[Layer, ...], bool]:
    if layers is None:
        return DEFAULT_LAYERS, False
    chosen = tuple(Layer(layer) for layer in layers)
    return tuple(layer for layer in Layer if layer in chosen), True


def _issue_date(root: etree._Element) -> date | None:
    text = root.findtext(f"{{{CBC}}}IssueDate")
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


def _outdated(pack: RulePack, root: etree._Element) -> Finding | None:
    issued = _issue_date(root)
    required = mandatory_release(issued) if issued else None
    if required is None or version_key(pack.release) >= version_key(required.version):
        return None
    return Finding(
        layer=Layer.PEPPOL,
        rule_id=OUTDATED_RULE_ID,
        flag=Flag.WARNING,
        message=(
            f"the rules used are Peppol BIS {pack.release}, but {required.version} is mandatory since "
            f"{required.mandatory} (the document is dated {issued}): an access point may judge this document "
            f"differently. Install the current release: invoicekit ubl rules fetch {required.version}"
        ),
        location="/cbc:IssueDate",
        artefact_version=pack.label,
    )


def _schematron_error(exc: SaxonRunError, artefacts: list[Artefact]) -> Finding:
    return Finding(
        layer=artefacts[0].layer,
        rule_id="SCHEMATRON-ERROR",
        flag=Flag.FATAL,
        message=f"the rules could not be evaluated on this document: {exc}",
        location="",
        artefact_version=", ".join(a.version for a in artefacts),
    )


def validate(
    data: bytes,
    *,
    layers: Iterable[Layer | str] | None = None,
    pack: RulePack | None = None,
    rules: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ValidationReport:
    """Validate UBL Invoice or CreditNote bytes offline and return every finding.

    With ``layers=None`` pre-flight and the XSD layer run, and the CEN and Peppol layers of the newest rule
    pack installed in ``rules`` (default :func:`invoicekit.ubl.rules_dir`), or of ``pack``; without a pack
    those two are listed in ``report.layers_skipped`` with the command that installs one. Naming layers
    explicitly (``layers=["xsd"]``) runs exactly those, and raises :class:`ArtefactUnavailable` if one cannot
    run, so a CI job cannot silently check less than it asked. ``report.pack`` names the pack used; when it is
    older than the release mandatory on the document's issue date, a warning finding says so.

    A document that is not well-formed, larger than ``max_bytes``, or refused by the hardened parser yields a
    single fatal finding in the XSD layer instead of an exception.
    """
    wanted, strict = _normalise_layers(layers)
    try:
        root = parse_xml(data, max_bytes=max_bytes)
    except XmlError as exc:
        return ValidationReport(findings=(_parse_finding(exc),), layers_run=(Layer.XSD,))

    findings: list[Finding] = []
    run: list[Layer] = []
    skipped: dict[Layer, str] = {}
    used: dict[Layer, str] = {}

    root_name = _ROOTS.get(root.tag)
    if root_name is None:
        finding = Finding(
            layer=Layer.XSD,
            rule_id="UBL-ROOT",
            flag=Flag.FATAL,
            message=f"the root element {root.tag} is neither a UBL 2.1 Invoice nor a CreditNote",
            location="/",
            artefact_version="invoicekit",
        )
        return ValidationReport(findings=(finding,), layers_run=(Layer.XSD,))

    if Layer.PREFLIGHT in wanted:
        from invoicekit.ubl._preflight import PREFLIGHT_VERSION, preflight_tree

        findings.extend(preflight_tree(root))
        run.append(Layer.PREFLIGHT)
        used[Layer.PREFLIGHT] = PREFLIGHT_VERSION

    if Layer.XSD in wanted:
        try:
            artefact = xsd_artefact(root_name)
        except ArtefactUnavailable as exc:
            if strict:
                raise
            skipped[Layer.XSD] = str(exc)
        else:
            findings.extend(_xsd_findings(root, artefact))
            run.append(Layer.XSD)
            used[Layer.XSD] = artefact.version

    schematron_layers = [layer for layer in (Layer.CEN, Layer.PEPPOL) if layer in wanted]
    schematron: list[Artefact] = []
    chosen: RulePack | None = None
    if schematron_layers:
        try:
            reason = saxon_unavailable_reason()
            if reason is not None:
                raise ArtefactUnavailable(reason)
            chosen = pack if pack is not None else newest_pack(rules)
            if chosen is None:
                where = rules if rules is not None else rules_dir()
                raise ArtefactUnavailable(f"no rule pack is installed in {where}; install one: {INSTALL_HINT}")
            schematron = [a for a in chosen.artefacts() if a.layer in schematron_layers]
        except ArtefactUnavailable as exc:
            if strict:
                raise
            skipped.update(dict.fromkeys(schematron_layers, str(exc)))
            chosen = None
    if schematron and chosen is not None:
        # Saxon gets our re-serialisation of the tree the hardened parser accepted, never the raw bytes: no
        # DOCTYPE or entity can reach it.
        text = etree.tostring(root, encoding="unicode")
        try:
            outputs = run_xslt(schematron, text)
        except SaxonRunError as exc:
            findings.append(_schematron_error(exc, schematron))
        else:
            for artefact, svrl in zip(schematron, outputs, strict=True):
                findings.extend(_svrl_findings(svrl, artefact))
        for artefact in schematron:
            run.append(artefact.layer)
            used[artefact.layer] = artefact.version
        outdated = _outdated(chosen, root)
        if outdated is not None:
            findings.append(outdated)

    return ValidationReport(
        findings=sort_findings(findings),
        layers_run=tuple(run),
        layers_skipped=skipped,
        artefacts=used,
        pack=chosen.label if chosen is not None else None,
    )
