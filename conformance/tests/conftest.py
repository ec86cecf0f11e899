from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parents[1]

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory that installs broken_providers.py and strict_toy_provider.py as providers, through
    real entry points."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "invoicekit_broken-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: invoicekit-broken\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text(
        "[invoicekit.providers]\n"
        "cashaca_drops_last_row = broken_providers:drops_last_row\n"
        "cashaca_blind_retry = broken_providers:blind_retry\n"
        "cashaca_leaky_repr = broken_providers:leaky_repr\n"
        "flowtly_blind_invoice_retry = broken_providers:flowtly_blind_invoice_retry\n"
        "ef_keyed = keyed_providers:keyed\n"
        "ef_lookup_by_number = keyed_providers:lookup_by_number\n"
        "toy_strict = strict_toy_provider:plugin\n"
        "toy_strict_old = strict_toy_provider:old_plugin\n"
    )
    return site


@pytest.fixture
def run_suite(broken_site: Path) -> Runner:
    """Run the conformance suite in a fresh interpreter, as an adapter author would."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken_site), str(TESTS)])}
        env.pop("INVOICEKIT_CASHACA_TOKEN", None)
        return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "pytest", "--pyargs", "invoicekit_conformance", "-p", "no:cacheprovider", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=False,
        )

    return run
