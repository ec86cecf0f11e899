"""Start-up: ``import invoicekit`` + ``connect()`` in a fresh interpreter, against importing what it builds on."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks._harness import Row, Settings, interleave, ratio_row

__all__ = ["OURS", "figures"]

LIMIT = 1.30
OURS = "import invoicekit; invoicekit.connect('cashaca', token='benchmark').close()"
FLOOR = "import pydantic, httpx, pluggy, stevedore"


def _fresh(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 (our own interpreter)
    return time.perf_counter() - start


def figures(settings: Settings) -> list[Row]:
    rounds = settings.pick(max(settings.rounds, 10), 2)
    _fresh(FLOOR)  # warm the OS file cache for both sides
    _fresh(OURS)
    ours, floor = interleave(lambda: _fresh(OURS), lambda: _fresh(FLOOR), rounds)
    return [ratio_row("import invoicekit + connect('cashaca')", ours, floor, limit=LIMIT, note=f"vs {FLOOR}")]
