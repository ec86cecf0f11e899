"""Strict mode: the whole suite runs for every installed provider against its strict sandbox, and an
adapter that reads a field only our sandbox invents fails there, naming the field."""

from __future__ import annotations

import pytest
from invoicekit_conformance.matrix import ProviderRun, installed

from conftest import STRICT_GAPS, Runner


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "provider" in metafunc.fixturenames:
        metafunc.parametrize("provider", installed())


def test_every_provider_passes_the_suite_against_its_strict_sandbox(
    provider: str, strict_run: ProviderRun | str, request: pytest.FixtureRequest
) -> None:
    """The run comes from conftest.SuiteRuns (started when collection ends, beside the other tests); it uses
    Books only (conftest.STRICT_MODE says why)."""
    if isinstance(strict_run, str):
        pytest.skip(f"strict mode: {strict_run}")
    gap, reason = STRICT_GAPS.get(provider, ("", ""))
    if not gap and reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    run = strict_run
    assert run.results, run.output[-3000:]
    assert all(result["strict"] for result in run.results)
    assert {result["mode"] for result in run.results} == {"sync"}
    assert run.exit_code == 0, f"{provider} fails against its strict sandbox:\n  " + "\n  ".join(
        run.failures() or [run.output[-3000:]]
    )


@pytest.mark.parametrize("gapped", [name for name, (gap, _) in STRICT_GAPS.items() if gap])
def test_known_strict_gaps_still_fail(gapped: str, gap_run: ProviderRun | str) -> None:
    if isinstance(gap_run, str):
        pytest.skip(f"strict mode: {gap_run}")
    reason = STRICT_GAPS[gapped][1]
    assert gap_run.results, gap_run.output[-3000:]
    assert gap_run.exit_code != 0, f"{gapped}: the strict gap '{reason}' is gone: take it off STRICT_GAPS"


def test_an_adapter_reading_an_assumed_field_passes_by_default_and_fails_in_strict_mode(run_suite: Runner) -> None:
    scenario = "test_clients_list_each_client_once"
    default = run_suite("--invoicekit-provider", "toy_strict", "-k", scenario)
    assert default.returncode == 0, default.stdout[-4000:]
    assert "2 passed" in default.stdout  # sync and async

    strict = run_suite("--invoicekit-provider", "toy_strict", "--invoicekit-strict", "-k", scenario)
    assert strict.returncode == 1, strict.stdout[-4000:]
    assert "KeyError: 'reference'" in strict.stdout
    assert "2 failed" in strict.stdout


def test_strict_mode_for_a_provider_without_it_is_one_clear_usage_error(run_suite: Runner) -> None:
    done = run_suite("--invoicekit-provider", "toy_strict_old", "--invoicekit-strict")
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert (
        "--invoicekit-strict: the sandbox of provider 'toy_strict_old' has no strict mode yet: "
        "its create_sandbox takes no strict= option" in done.stderr
    )
