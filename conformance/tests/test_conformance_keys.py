"""The exactly-once scenarios pass for an adapter that carries its key and fail, saying why, for one that
looks a lost create up by number. Both are EF adapters (keyed_providers.py), run as third-party ones."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

Runner = Callable[..., subprocess.CompletedProcess[str]]

QUICK = ("--invoicekit-mode", "sync", "--invoicekit-race", "2,2,2,0.2")


def test_an_adapter_that_carries_its_key_passes_every_race(run_suite: Runner) -> None:
    done = run_suite(
        "--invoicekit-provider", "ef_keyed", *QUICK, "-k", "test_exactly_once and (invoice or processes)", "-rs"
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout
    assert " failed" not in done.stdout
    assert "SKIPPED" not in done.stdout  # the process race ran too


def test_a_lookup_by_number_hands_callers_each_others_invoices_and_fails(run_suite: Runner) -> None:
    done = run_suite(
        "--invoicekit-provider", "ef_lookup_by_number", *QUICK, "-k", "test_concurrent_creates_from_threads and invoice"
    )
    assert done.returncode == 1, done.stdout[-4000:]
    out = done.stdout
    assert "concurrent invoice creates from 2 threads on ef_lookup_by_number" in out
    assert "the caller was handed another document" in out
    assert "a lookup matched something other than the key" in out


def test_kinds_without_key_support_skip_with_the_reason_and_the_others_race(run_suite: Runner) -> None:
    """Flowtly carries a client's key (externalPaymentCustomerId), no invoice's or payment's."""
    done = run_suite("--invoicekit-provider", "flowtly", *QUICK, "-k", "test_exactly_once", "-rs", "-v")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "flowtly does not declare invoices.create_by_key" in done.stdout
    assert "flowtly does not declare payments.create_by_key" in done.stdout
    assert "test_concurrent_creates_from_threads[flowtly-sandbox-sync-faults-client] PASSED" in done.stdout
    assert "test_concurrent_creates_from_processes[flowtly-sandbox-sync] PASSED" in done.stdout
