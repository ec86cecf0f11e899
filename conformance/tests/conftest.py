from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from invoicekit_conformance.matrix import ProviderRun, run_providers
from invoicekit_conformance.profile import load_profile

from invoicekit.registry import installed_providers, load_provider

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


def _without_live_credentials() -> dict[str, str]:
    """This environment less every provider's live credentials: the runs here are about the sandboxes (the
    matrix counts sandbox results only), and a developer's token must not send them to a real account."""
    live = {
        var for name in installed_providers() for var in load_profile(load_provider(name)).live_credentials.values()
    }
    return {name: value for name, value in os.environ.items() if name not in live}


@pytest.fixture(scope="session")
def default_runs() -> dict[str, ProviderRun]:
    """The whole suite run once per installed provider against its default sandbox, sync and async, as
    `python -m invoicekit_conformance.matrix` runs it (plus ``-rs``, so the output lists each skip's reason).

    The one such pass of the session: the matrix is rendered from it, and the tests about what a bundled
    provider's run passes and skips read it instead of running the scenarios again.
    """
    return {run.name: run for run in run_providers(extra_args=["-rs"], env=_without_live_credentials())}


def outcomes(run: ProviderRun, scenario: str, **params: str) -> dict[str, str]:
    """``mode -> outcome`` of one scenario (with these parameters) in a provider's run, sandbox results only."""
    return {
        r["mode"]: r["outcome"]
        for r in run.sandbox_results
        if r["scenario"] == scenario and all(r["params"].get(k) == v for k, v in params.items())
    }


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
