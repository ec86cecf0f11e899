"""The acceptance run of issue 10: per provider, 4 OS processes x 50 concurrent creates of clients, invoices,
credit notes and payments against one served sandbox with 20 % injected 429/5xx/drop-after-commit, plus
the other exactly-once races, sync and async. Prints pytest's verdict per scenario and kind.

    uv run python benchmarks/exactly_once.py                       # every installed provider
    uv run python benchmarks/exactly_once.py cashaca --race 4,50,1,0.2

A provider that declares no ``<resource>.create_by_key`` skips, saying so (that is a score of "not supported").
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from invoicekit.registry import installed_providers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("providers", nargs="*", help="default: every installed provider")
    parser.add_argument("--race", default="4,50,1,0.2", help="PROCESSES,THREADS,CREATES,FAULT_RATE")
    parser.add_argument("--mode", default="both", choices=("sync", "async", "both"))
    args = parser.parse_args()
    worst = 0
    for name in args.providers or installed_providers():
        command = [sys.executable, "-m", "pytest", "--pyargs", "invoicekit_conformance", "-p", "no:cacheprovider",
                   "--invoicekit-provider", name, "--invoicekit-race", args.race, "--invoicekit-mode", args.mode,
                   "-k", "test_exactly_once", "-q", "-rA", "--tb=line"]  # fmt: skip
        print(f"== {name}: {' '.join(command[3:])}", flush=True)
        done = subprocess.run(command, check=False)  # noqa: S603 - our own interpreter, fixed arguments
        worst = max(worst, done.returncode)
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
