"""The exactly-once scenarios pass for an adapter that carries its key (the bundled EF one, in the session's
shared run of the suite) and fail, saying why, for one that looks a lost create up by number (an EF adapter of
keyed_providers.py, run as a third-party one)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from invoicekit_conformance.matrix import ProviderRun

from conftest import outcomes

Runner = Callable[..., subprocess.CompletedProcess[str]]

QUICK = ("--invoicekit-mode", "sync", "--invoicekit-race", "2,2,2,0.2")


def test_an_adapter_that_carries_its_key_passes_every_race(default_runs: dict[str, ProviderRun]) -> None:
    """The bundled EF adapter carries every kind's key (the fields ef_keyed carries them in): its run of the whole
    suite, shared with the matrix (conftest.default_runs), passes every race, the one from processes included."""
    run = default_runs["eenvoudigfactureren"]
    races = [r for r in run.sandbox_results if r["scenario"].startswith(("test_concurrent", "test_one_key"))]
    assert {r["params"].get("kind") for r in races} >= {"client", "invoice", "credit_note", "payment", None}
    assert all(r["outcome"] == "passed" for r in races), [(r["scenario"], r["params"], r["message"]) for r in races]
    assert outcomes(run, "test_concurrent_creates_from_processes") == {"sync": "passed", "async": "passed"}


def test_a_lookup_by_number_hands_callers_each_others_invoices_and_fails(run_suite: Runner) -> None:
    done = run_suite(
        "--invoicekit-provider", "ef_lookup_by_number", *QUICK, "-k", "test_concurrent_creates_from_threads and invoice"
    )
    assert done.returncode == 1, done.stdout[-4000:]
    out = done.stdout
    assert "concurrent invoice creates from 2 threads on ef_lookup_by_number" in out
    assert "the caller was handed another document" in out
    assert "a lookup matched something other than the key" in out


def test_kinds_without_key_support_skip_with_the_reason_and_the_others_race(
    default_runs: dict[str, ProviderRun],
) -> None:
    """Flowtly carries a client's key (externalPaymentCustomerId), no invoice's or payment's (read from the
    session's one run of the whole suite on Flowtly, conftest.default_runs)."""
    run = default_runs["flowtly"]
    assert run.exit_code == 0, run.output[-4000:]
    threads = "test_concurrent_creates_from_threads"
    for kind in ("invoice", "payment"):
        skipped = [r for r in run.sandbox_results if r["scenario"] == threads and r["params"].get("kind") == kind]
        assert skipped, f"no {kind} race in the run"
        assert all(r["outcome"] == "skipped" for r in skipped), skipped
        assert all(f"flowtly does not declare {kind}s.create_by_key" in r["message"] for r in skipped), skipped
    assert outcomes(run, threads, kind="client", faulty="True") == {"sync": "passed", "async": "passed"}
    assert outcomes(run, "test_concurrent_creates_from_processes") == {"sync": "passed", "async": "passed"}
