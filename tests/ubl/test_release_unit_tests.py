"""The Peppol BIS 3.0.19 release's own unit tests, run against a rule pack built from that release.

Each file of ``../shared/peppol-rules/bis-3.0.19/unit-UBL-*`` is a vefa ``testSet``: small UBL documents,
each with the rule ids that must fire as an error (``<error>``) or a warning (``<warning>``), or must not
fire at all (``<success>``). Their expectations are the maintainers', so this checks our compiled pack, our
saxon plumbing and our SVRL reading against the release itself, not against ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from invoicekit.ubl import Flag, Layer, RulePack
from invoicekit.ubl._artefacts import run_xslt
from invoicekit.ubl._validate import _svrl_findings
from invoicekit.xmlsafe import parse_xml

from .conftest import shared_dir

VEFA = "http://difi.no/xsd/vefa/validator/1.0"
_EXPECT = {"error": Flag.FATAL, "warning": Flag.WARNING, "success": None}


@dataclass(frozen=True)
class Case:
    description: str
    expected: tuple[tuple[str, Flag | None], ...]  # (rule id, flag it fires with, or None: must not fire)
    document: str


def _unit_files() -> list[Path]:
    base = shared_dir()
    release = base / "peppol-rules" / "bis-3.0.19" if base is not None else None
    if release is None or not release.is_dir():
        return []
    # One file of the release is named PEPPOL-COMMON-R048.xm: take every file, whatever its suffix.
    return sorted(path for path in release.glob("unit-UBL-*/*") if path.is_file())


def _cases(path: Path) -> list[Case]:
    root = parse_xml(path.read_bytes())
    cases = []
    for test in root.iter(f"{{{VEFA}}}test"):
        assertion = test.find(f"{{{VEFA}}}assert")
        assert assertion is not None, f"{path.name}: a test without <assert>"
        expected = tuple(
            ((child.text or "").strip(), _EXPECT[etree.QName(child).localname])
            for child in assertion
            if etree.QName(child).localname in _EXPECT
        )
        [document] = [child for child in test if isinstance(child.tag, str) and etree.QName(child).namespace != VEFA]
        description = " ".join((assertion.findtext(f"{{{VEFA}}}description") or "").split())
        cases.append(Case(description, expected, etree.tostring(document, encoding="unicode")))
    return cases


UNIT_FILES = _unit_files()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", UNIT_FILES or [None], ids=[_id(p) for p in UNIT_FILES] or ["absent"])
def test_release_unit_test_file(path: Path | None, rule_pack: RulePack) -> None:
    if path is None:
        pytest.skip("the release's unit tests are not available here (../shared/peppol-rules/bis-3.0.19 is absent)")
    [peppol] = [artefact for artefact in rule_pack.artefacts() if artefact.layer is Layer.PEPPOL]
    cases = _cases(path)
    if not cases:
        pytest.skip(f"{path.name} has no active test: the release comments them out")
    failures = []
    for case in cases:
        [svrl] = run_xslt([peppol], case.document)
        fired = {(f.rule_id, f.flag) for f in _svrl_findings(svrl, peppol)}
        fired_ids = {rule for rule, _ in fired}
        for rule, flag in case.expected:
            ok = (rule, flag) in fired if flag is not None else rule not in fired_ids
            if not ok:
                want = f"fire as {flag}" if flag is not None else "not fire"
                failures.append(f"{rule} should {want} ({case.description}); fired: {sorted(fired)}")
    assert not failures, "\n".join(failures)


def test_the_release_unit_tests_are_all_there() -> None:
    """Guards the glob and the parsing above: 3.0.19 has 145 unit-test files, 543 documents, 552 expectations."""
    if not UNIT_FILES:
        pytest.skip("the release's unit tests are not available here")
    cases = [case for path in UNIT_FILES for case in _cases(path)]
    assert len(UNIT_FILES) == 145
    assert len(cases) == 543
    assert sum(len(case.expected) for case in cases) == 552
    assert all(case.expected for case in cases)
