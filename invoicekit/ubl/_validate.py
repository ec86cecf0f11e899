"""Offline, layered validation of UBL documents: XSD, then the CEN and Peppol schematron rules."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from invoicekit.ubl._artefacts import (
    Artefact,
    ArtefactUnavailable,
    cen_artefact,
    peppol_artefact,
    run_xslt,
    saxon_unavailable_reason,
    xsd_artefact,
    xsd_errors,
)
from invoicekit.ubl._ns import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS, SVRL
from invoicekit.ubl._report import Finding, Flag, Layer, ValidationReport, sort_findings
from invoicekit.xmlsafe import UnsafeXml, XmlError, parse_xml

__all__ = ["DEFAULT_LAYERS", "validate"]

#: The three layers an access point runs. Pre-flight is opt-in here (it repeats rules CEN and Peppol check).
DEFAULT_LAYERS: tuple[Layer, ...] = (Layer.XSD, Layer.CEN, Layer.PEPPOL)

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


def validate(
    data: bytes,
    *,
    layers: Iterable[Layer | str] | None = None,
) -> ValidationReport:
    """Validate UBL Invoice or CreditNote bytes offline and return every finding.

    With ``layers=None`` the XSD, CEN and Peppol layers run when their artefacts are installed; a layer that
    cannot run is listed in ``report.layers_skipped`` with the reason. Naming layers explicitly (``layers=
    ["xsd"]``, or ``["preflight", "xsd", "cen", "peppol"]``) runs exactly those, and raises
    :class:`ArtefactUnavailable` if one cannot run, so a CI job cannot silently check less than it asked.

    A document that is not well-formed, or is refused by the hardened parser, yields a single fatal finding
    in the XSD layer instead of an exception.
    """
    wanted, strict = _normalise_layers(layers)
    try:
        root = parse_xml(data)
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

    schematron: list[Artefact] = []
    for layer, locate in ((Layer.CEN, cen_artefact), (Layer.PEPPOL, peppol_artefact)):
        if layer not in wanted:
            continue
        reason = saxon_unavailable_reason()
        try:
            if reason is not None:
                raise ArtefactUnavailable(reason)
            schematron.append(locate())
        except ArtefactUnavailable as exc:
            if strict:
                raise
            skipped[layer] = str(exc)
    if schematron:
        # Saxon gets our re-serialisation of the tree the hardened parser accepted, never the raw bytes: no
        # DOCTYPE or entity can reach it.
        text = etree.tostring(root, encoding="unicode")
        for artefact, svrl in zip(schematron, run_xslt(schematron, text), strict=True):
            findings.extend(_svrl_findings(svrl, artefact))
            run.append(artefact.layer)
            used[artefact.layer] = artefact.version

    return ValidationReport(
        findings=sort_findings(findings),
        layers_run=tuple(run),
        layers_skipped=skipped,
        artefacts=used,
    )
