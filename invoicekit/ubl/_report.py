"""Validation findings and the report that collects them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Finding", "Flag", "Layer", "ValidationReport"]


class Layer(StrEnum):
    """Where a finding comes from, in the order the layers run."""

    #: invoicekit's own pure-Python checks of the rules users hit most (no saxon needed).
    PREFLIGHT = "preflight"
    #: Well-formedness and the OASIS UBL 2.1 XSD (lxml).
    XSD = "xsd"
    #: The CEN EN 16931 schematron rules (BR-*, BR-CO-*, BR-CL-*, UBL-CR-*) of a rule pack, through saxonche.
    CEN = "cen"
    #: The Peppol BIS Billing 3.0 schematron rules (PEPPOL-EN16931-*, PEPPOL-COMMON-*) of a rule pack.
    PEPPOL = "peppol"


class Flag(StrEnum):
    """Severity, as the schematron ``flag`` attribute spells it."""

    FATAL = "fatal"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed rule.

    ``location`` is an XPath into the UBL document for XML checks, or a dotted field path of the neutral
    model (``client.enterprise_number``) when pre-flight checked a document; ``artefact_version`` names the
    rule set that produced the finding, so archived reports stay interpretable after artefacts change.
    """

    layer: Layer
    rule_id: str
    flag: Flag
    message: str
    location: str
    artefact_version: str

    @property
    def is_fatal(self) -> bool:
        return self.flag is Flag.FATAL

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"[{self.layer}] {self.flag} {self.rule_id}: {self.message}{where}"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What :func:`invoicekit.ubl.validate` found. ``ok`` is True when no finding is fatal.

    ``layers_run`` lists the layers that actually ran; ``layers_skipped`` maps a layer that did not run to
    the reason (no rule pack installed, saxonche missing), so "no findings" is never mistaken for "all
    checked". ``pack`` names the rule pack the CEN and Peppol layers came from (None when they did not run).
    """

    findings: tuple[Finding, ...] = ()
    layers_run: tuple[Layer, ...] = ()
    layers_skipped: dict[Layer, str] = field(default_factory=dict)
    artefacts: dict[Layer, str] = field(default_factory=dict)
    pack: str | None = None

    @property
    def fatal(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.flag is Flag.FATAL)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.flag is not Flag.FATAL)

    @property
    def ok(self) -> bool:
        return not self.fatal

    def rule_ids(self, *, layer: Layer | str | None = None, fatal_only: bool = False) -> set[str]:
        """The ids of the rules that failed, optionally for one layer or only fatal ones."""
        return {
            f.rule_id for f in self.findings if (layer is None or f.layer == layer) and (not fatal_only or f.is_fatal)
        }

    def by_layer(self, layer: Layer | str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.layer == layer)

    def merged(self, other: ValidationReport) -> ValidationReport:
        return ValidationReport(
            findings=self.findings + other.findings,
            layers_run=self.layers_run + tuple(x for x in other.layers_run if x not in self.layers_run),
            layers_skipped={**self.layers_skipped, **other.layers_skipped},
            artefacts={**self.artefacts, **other.artefacts},
            pack=self.pack or other.pack,
        )

    def __str__(self) -> str:
        head = "valid" if self.ok else f"{len(self.fatal)} fatal finding(s)"
        lines = [f"{head}; layers run: {', '.join(self.layers_run) or 'none'}"]
        if self.pack:
            lines.append(f"  rule pack: {self.pack}")
        lines.extend(f"  {finding}" for finding in self.findings)
        lines.extend(f"  [{layer}] skipped: {why}" for layer, why in self.layers_skipped.items())
        return "\n".join(lines)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    order = {layer: i for i, layer in enumerate(Layer)}
    flags = {flag: i for i, flag in enumerate(Flag)}
    return tuple(sorted(findings, key=lambda f: (order[f.layer], flags[f.flag])))
