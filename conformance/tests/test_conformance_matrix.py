"""CI's run of the conformance suite: every bundled provider passes, and docs/providers.md is what a fresh
run generates."""

from __future__ import annotations

import difflib

from invoicekit_conformance.matrix import COMMAND, ProviderRun, render

from conftest import ROOT


def test_every_provider_passes_and_the_committed_matrix_is_fresh(default_runs: dict[str, ProviderRun]) -> None:
    runs = list(default_runs.values())
    assert runs, "no provider is installed"
    failed = {run.name: run.failures() or [run.output[-3000:]] for run in runs if run.exit_code != 0}
    assert not failed, "the conformance suite failed:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(failures) for name, failures in failed.items()
    )
    # No time limit here: speed targets live in benchmarks/, never in timed tests.

    fresh = render(runs)
    committed_path = ROOT / "docs" / "providers.md"
    committed = committed_path.read_text(encoding="utf-8") if committed_path.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True), fresh.splitlines(keepends=True), "docs/providers.md", "fresh run"
        )
    )
    assert not diff, f"docs/providers.md is out of date; regenerate it with\n  {COMMAND}\n\n{diff}"
