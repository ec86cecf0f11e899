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
    "served sandbox, 2nd request on a kept-alive connection",
    "sandbox create at 200 stored invoices",
    "sandbox list page (100) at 500 stored invoices",
    "64 invoice creates, 50 ms latency, concurrency 16 (sync, threads; Cashaca sandbox)",
    "64 invoice creates, 50 ms latency, concurrency 16 (async, task group; Cashaca sandbox)",
    "64 invoice creates, 50 ms latency, concurrency 16 (sync, threads; helper alone, canned answers)",
    "64 invoice creates, 50 ms latency, concurrency 16 (async, task group; helper alone, canned answers)",
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
        assert isinstance(row["met"], bool), row
        assert row["target"], row
    growth = {row["figure"]: row["extra"]["growth_ms"] for row in rows if "growth_ms" in row["extra"]}
    assert [list(series) for series in growth.values()] == [["100", "200", "500"]] * 2


def test_the_table_renders_each_row_once() -> None:
    lines = _quick("--only", "startup").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("figure"))
    assert [cell.strip() for cell in lines[header].split("|")] == ["figure", "ours", "floor", "ratio", "target", "met"]
    body = lines[header + 2]
    assert body.startswith("import invoicekit + connect('cashaca')")
    assert body.count("|") == 5
