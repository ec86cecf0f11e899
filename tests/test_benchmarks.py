"""The benchmark command keeps working: ``python -m benchmarks --quick --json`` prints the whole table.

Only the table's shape is checked, never a number: speed targets live in benchmarks/, not in timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "books.invoices.get, 10 rows (sync)",
    "books.invoices.get, 10 rows (async)",
    "iterate invoices.list(), 500 (sync)",
    "iterate invoices.list(), 500 (async)",
    "import invoicekit + connect('cashaca')",
    "import invoicekit + connect('cashaca') vs the named floor + one pydantic model",
    "import + connect + first invoices.get (loopback) vs floor + httpx.Client GET into a model",
    "the named floor + one pydantic model vs the named floor (no invoicekit code)",
    "served sandbox, 2nd request on a kept-alive connection",
    "sandbox create at 200 stored invoices",
    "sandbox list page (100) at 500 stored invoices",
    "64 invoice creates, 50 ms latency, concurrency 16 (sync, threads; Cashaca sandbox)",
    "64 invoice creates, 50 ms latency, concurrency 16 (async, task group; Cashaca sandbox)",
    "64 invoice creates, 50 ms latency, concurrency 16 (sync, threads; helper alone, canned answers)",
    "64 invoice creates, 50 ms latency, concurrency 16 (async, task group; helper alone, canned answers)",
    *(
        f"{provider} sandbox {what} at 600 stored invoices"
        for provider in ("cashaca", "eenvoudigfactureren", "flowtly")
        for what in ("create", "list page")
    ),
    "UBL export (to_ubl)",
    "UBL XSD validation",
    "UBL full validation (3 layers)",
    "migration, every ordered pair, 3/8/1/4 book",
    "migration against a 20 requests/s target limit (429 + Retry-After), 40 invoices",
    "migration peak RSS, 400 vs 20 invoices",
)


def _quick(*options: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "benchmarks", "--quick", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quick_run_prints_every_figure_with_ours_floor_ratio_target_and_met() -> None:
    report = json.loads(_quick("--json"))
    assert report["meta"]["quick"] is True
    rows = report["rows"]
    assert tuple(row["figure"] for row in rows) == FIGURES
    for row in rows:
        assert {"figure", "ours", "floor", "ratio", "target", "met", "unit"} <= row.keys()
        assert isinstance(row["ours"], float), row
        assert isinstance(row["floor"], float), row
        assert row["ours"] > 0, row
        assert row["floor"] > 0, row
        assert abs(row["ratio"] - row["ours"] / row["floor"]) < 1e-9 * max(1.0, row["ratio"]), row
        # A row without a target (it only explains another's floor) says so instead of met.
        assert isinstance(row["met"], bool) or (row["met"] is None and row["target"] == "(no target)"), row
        assert row["target"], row
    growth = {row["figure"]: row["extra"]["growth_ms"] for row in rows if "growth_ms" in row["extra"]}
    assert [list(series) for series in growth.values()] == [["100", "200", "500"]] * 2
    reads = [row["extra"]["records_read"] for row in rows if "records_read" in row["extra"]]
    assert [list(counts) for counts in reads] == [["150", "600"]] * 6


def test_the_exactly_once_acceptance_table_at_a_reduced_size() -> None:
    """benchmarks/exactly_once.py, the one command of issue 10's acceptance run, at a reduced size: client
    processes on two server processes sharing one --db, 20 % faults; its table must show no failure, no wrong
    hand-off, no duplicate, nothing missing, and no UncertainOutcome for a kind whose key the provider keeps."""
    size = ["--race", "2,4,1,0.2", "--servers", "2", "--mode", "sync", "--scenarios", "from_processes"]
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "benchmarks/exactly_once.py", "cashaca", "eenvoudigfactureren", *size],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("provider "))
    names = [cell.strip() for cell in lines[header].split("|")]
    rows = [dict(zip(names, (cell.strip() for cell in line.split("|")), strict=True)) for line in lines[header + 2 :]]
    keyed = {("cashaca", kind) for kind in ("client", "invoice", "credit_note")}
    keyed |= {("eenvoudigfactureren", kind) for kind in ("client", "invoice", "credit_note", "payment")}
    assert {(row["provider"], row["kind"]) for row in rows} >= keyed
    for row in rows:
        assert row["creates"] == "8", row  # 2 processes x 4 threads x 1 create
        assert (row["failures"], row["wrong"], row["duplicates"], row["missing"]) == ("0", "0", "0", "0"), row
        if (row["provider"], row["kind"]) in keyed:
            assert row["UncertainOutcome"] == "0", row


def test_the_table_renders_each_row_once() -> None:
    lines = _quick("--only", "startup").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("figure"))
    assert [cell.strip() for cell in lines[header].split("|")] == ["figure", "ours", "floor", "ratio", "target", "met"]
    body = lines[header + 2]
    assert body.startswith("import invoicekit + connect('cashaca')")
    assert body.count("|") == 5
