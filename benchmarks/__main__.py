"""``python -m benchmarks``: run every figure, print the table (or ``--json``)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from benchmarks import calls, creates, migration, served, startup, store_growth, ubl_throughput
from benchmarks._harness import Row, Settings

#: The figure groups, in table order. A new group is a module with ``figures(settings) -> list[Row]``.
GROUPS: dict[str, Callable[[Settings], list[Row]]] = {
    "calls": calls.figures,
    "startup": startup.figures,
    "served": served.figures,
    "creates": creates.figures,
    "growth": store_growth.figures,
    "ubl": ubl_throughput.figures,
    "migration": migration.figures,
}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:,.{1 if value >= 100 else 2}f} {unit}"


def render(rows: list[Row]) -> str:
    header = ("figure", "ours", "floor", "ratio", "target", "met")
    lines = [
        (
            row.figure,
            _number(row.ours, row.unit),
            _number(row.floor, row.unit),
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target,
            {True: "yes", False: "NO", None: "-"}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *lines]]
    out.insert(1, "-+-".join("-" * width for width in widths))
    notes = [f"  {row.figure}: {row.note}" for row in rows if row.note]
    return "\n".join([*out, "", "notes:", *notes])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the harness runs, judges nothing")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 5, quick 2)")
    parser.add_argument("--only", action="append", choices=sorted(GROUPS), help="run only these groups")
    parser.add_argument(
        "--figure",
        action="append",
        default=[],
        help="run only these figures of a group that names them (migration: pairs, rate, memory)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        quick=args.quick, rounds=args.rounds or (2 if args.quick else 5), figures=frozenset(args.figure)
    )
    started = time.perf_counter()
    rows: list[Row] = []
    failed: list[str] = []
    for name, figures in GROUPS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows += figures(settings)
        except Exception as exc:  # one broken group must not cost the figures of the others
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(f"{name}: failed", None, None, "", None, "-", False, f"{type(exc).__name__}: {exc}"))
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "quick": settings.quick,
        "rounds": settings.rounds,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": [row.as_json() for row in rows]}, indent=2))
    else:
        print(
            f"python {meta['python']}, {meta['machine']}, {meta['cpus']} cpus, load {meta['load_average']}, "
            f"{'quick' if settings.quick else 'full'} run, {settings.rounds} rounds, {meta['seconds']} s\n"
        )
        print(render(rows))
    # A quick run only proves the harness works; a full run also reports missed targets in its exit status.
    if failed:
        return 1
    return 0 if settings.quick or all(row.met is not False for row in rows) else 2


if __name__ == "__main__":
    raise SystemExit(main())
