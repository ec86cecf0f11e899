"""The suite run against the Cashaca adapter broken on purpose fails, and says what went wrong."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from invoicekit_conformance.matrix import ProviderRun

from conftest import outcomes

Runner = Callable[..., subprocess.CompletedProcess[str]]


def test_the_suite_passes_for_cashaca_with_skips_listed_by_reason(default_runs: dict[str, ProviderRun]) -> None:
    """Read from the session's one run of the whole suite on Cashaca (conftest.default_runs, with -rs)."""
    run = default_runs["cashaca"]
    assert run.exit_code == 0, run.output[-4000:]
    skips = [line for line in run.output.splitlines() if line.startswith("SKIPPED")]
    assert any(line.endswith("cashaca does not declare clients.delete") for line in skips), skips
    assert any(
        line.endswith("live: set INVOICEKIT_CASHACA_TOKEN to run against a real cashaca account") for line in skips
    ), skips
    assert outcomes(run, "test_client_delete") == {"sync": "skipped", "async": "skipped"}


def test_dropping_the_last_row_of_an_invoice_fails_the_round_trip(run_suite: Runner) -> None:
    done = run_suite("--invoicekit-provider", "cashaca_drops_last_row", "-k", "test_invoice_round_trip")
    assert done.returncode == 1, done.stdout[-4000:]
    out = done.stdout
    assert "invoice round trip on cashaca_drops_last_row (create -> get) changed what it claims to carry" in out
    assert "rows: sent 4 rows, got 3 back" in out
    assert "row 3 ('Newspapers', 2 x 2.50 at 0 % (category Z)) is missing" in out
    assert "amount payable: invoicekit's totals engine computes" in out
    assert "2 failed" in out  # sync and async


def test_retrying_a_create_blindly_fails_the_fault_scenario(run_suite: Runner) -> None:
    done = run_suite("--invoicekit-provider", "cashaca_blind_retry", "-k", "test_exactly_once_under_faults")
    assert done.returncode == 1, done.stdout[-4000:]
    out = done.stdout
    assert "under injected faults (seeded; see --invoicekit-seed)" in out
    assert "client: 6 created through the API, but the sandbox holds" in out
    assert "a create was retried blindly, or a lost response was not reconciled" in out


def test_retrying_an_unkeyed_create_blindly_fails_the_fault_scenario_though_uncertain_ones_may_land(
    run_suite: Runner,
) -> None:
    """Flowtly's invoices carry no key: an invoice that landed after an UncertainOutcome is allowed, one
    made twice by a blind retry is not."""
    done = run_suite("--invoicekit-provider", "flowtly_blind_invoice_retry", "-k", "test_exactly_once_under_faults")
    assert done.returncode == 1, done.stdout[-4000:]
    out = done.stdout
    assert "invoice: 12 created through the API, but invoices.list gives 1" in out
    assert "invoice: 12 created through the API, but the sandbox holds 1" in out
    assert "0 UncertainOutcome(s) or answers without an id): a create was retried blindly" in out
    assert "2 failed" in out  # sync and async


def test_a_credential_in_a_repr_fails_the_secrets_scenario(run_suite: Runner) -> None:
    done = run_suite("--invoicekit-provider", "cashaca_leaky_repr", "-k", "test_credentials_never_leak")
    assert done.returncode == 1, done.stdout[-4000:]
    assert "credentials leaked in" in done.stdout
    assert "repr of the adapter: ...<LeakyRepr token=<SECRET>>..." in done.stdout


def test_without_a_provider_every_scenario_skips_with_the_reason(run_suite: Runner) -> None:
    done = run_suite("-rs")
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" not in done.stdout
    assert " error" not in done.stdout
    assert "no provider given: run with --invoicekit-provider NAME (installed: cashaca" in done.stdout


def test_an_unknown_provider_is_a_usage_error(run_suite: Runner) -> None:
    done = run_suite("--invoicekit-provider", "nosuchprovider")
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no invoicekit provider named 'nosuchprovider'" in done.stderr
