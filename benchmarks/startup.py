"""Start-up: ``import invoicekit`` + ``connect()`` in a fresh interpreter, against importing what it builds on.

Each interpreter reads compiled bytecode, as an installed package does (pip and uv compile on install):
with ``PYTHONDONTWRITEBYTECODE`` set, as in some CI and sandbox shells, every start would compile every
module from source, which measures the compiler instead. The bytecode goes to a temporary
``PYTHONPYCACHEPREFIX``, so the run leaves nothing in the source tree.

A second row puts ours against what any client of pydantic and httpx pays before its first request: one
model defined and validated (pydantic's schema machinery is imported then, not by ``import pydantic``), and
one ``httpx.Client`` (which imports httpcore and loads the CA bundle). It has no target: it shows how much
of the first row's ratio the named floor leaves out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks._harness import Row, Settings, interleave, ratio_row

__all__ = ["CLIENT_FIGURE", "OURS", "figures"]

LIMIT = 1.30
OURS = "import invoicekit; invoicekit.connect('cashaca', token='benchmark').close()"
FLOOR = "import pydantic, httpx, pluggy, stevedore"
CLIENT_FIGURE = "import invoicekit + connect('cashaca') vs a pydantic model + an httpx.Client"
CLIENT_FLOOR = (
    "import pydantic, httpx, pluggy, stevedore\n"
    "class M(pydantic.BaseModel):\n    x: int\n"
    "M(x=1)\n"
    "httpx.Client().close()"
)


def _fresh(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # noqa: S603 (our own interpreter)
    return time.perf_counter() - start


def figures(settings: Settings) -> list[Row]:
    rounds = settings.pick(max(settings.rounds, 10), 2)
    with tempfile.TemporaryDirectory(prefix="invoicekit-bench-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for code in (FLOOR, OURS, CLIENT_FLOOR):  # compile once and warm the OS file cache, for every side
            _fresh(code, env)
        ours, floor = interleave(lambda: _fresh(OURS, env), lambda: _fresh(FLOOR, env), rounds)
        rows = [ratio_row("import invoicekit + connect('cashaca')", ours, floor, limit=LIMIT, note=f"vs {FLOOR}")]
        ours, client_floor = interleave(lambda: _fresh(OURS, env), lambda: _fresh(CLIENT_FLOOR, env), rounds)
    row = ratio_row(CLIENT_FIGURE, ours, client_floor, limit=LIMIT)
    row.target, row.met = "(no target)", None
    row.note = (
        f"the named floor alone is {client_floor / floor:.2f}x below this one: defining a pydantic model and "
        "building an httpx.Client (httpcore, CA bundle) are paid by any client before its first request"
    )
    rows.append(row)
    return rows
