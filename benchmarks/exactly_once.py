"""The acceptance run of issue 10, per provider: 4 OS processes x 50 concurrent creates of clients, invoices,
credit notes and payments against one served sandbox with 20 % injected 429/5xx/drop-after-commit, and the
other exactly-once races (threads, one key from five workers, equal payments, a failed read after a write),
sync and async. Prints one line per scenario, kind and mode: outcome, creates/ok/errors, first problems.

    uv run python benchmarks/exactly_once.py                             # every installed provider
    uv run python benchmarks/exactly_once.py cashaca --race 2,4,2,0.2     # a quicker race
    uv run python benchmarks/exactly_once.py --ungated                    # score adapters without key support

Without ``--ungated`` a provider that declares no ``<resource>.create_by_key`` skips, saying so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from invoicekit.registry import installed_providers


def _line(result: dict[str, Any]) -> str:
    kind = result.get("params", {}).get("kind", "all")
    faulty = result.get("params", {}).get("faulty")
    name = result["scenario"].removeprefix("test_") + (
        "" if faulty is None else f"[{'faults' if faulty == 'True' else 'calm'}]"
    )
    races = {k: v for k, v in result.get("properties", {}).items() if k.startswith("race")}
    counts = "; ".join(f"{v['kind']}: {v['ok']}/{v['creates']} ok {v['errors'] or ''}".strip() for v in races.values())
    problems = [p.strip() for p in result.get("message", "").splitlines() if p.strip().startswith("- ")][:3]
    head = f"{result['mode']:5} {name:75} {kind:11} {result['outcome']:7} {counts}"
    return head + "".join(f"\n        {p[:220]}" for p in problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("providers", nargs="*", help="default: every installed provider")
    parser.add_argument("--race", default="4,50,1,0.2", help="PROCESSES,THREADS,CREATES,FAULT_RATE")
    parser.add_argument("--mode", default="both", choices=("sync", "async", "both"))
    parser.add_argument("--ungated", action="store_true", help="run the races for adapters without key support")
    args = parser.parse_args()
    worst = 0
    for name in args.providers or installed_providers():
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            command = [sys.executable, "-m", "pytest", "--pyargs", "invoicekit_conformance", "-p", "no:cacheprovider",
                       "--invoicekit-provider", name, "--invoicekit-race", args.race, "--invoicekit-mode", args.mode,
                       "--invoicekit-report", str(report), "-k", "test_exactly_once", "-q", "--tb=no"]  # fmt: skip
            if args.ungated:
                command.append("--invoicekit-race-ungated")
            print(f"== {name}: {' '.join(command[5:])}", flush=True)
            done = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603 - fixed arguments
            worst = max(worst, done.returncode)
            print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
            if report.exists():
                for result in json.loads(report.read_text(encoding="utf-8"))["results"]:
                    print(_line(result))
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
