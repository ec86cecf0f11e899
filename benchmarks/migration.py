"""Migration figures (issue 14): every ordered pair of bundled providers, the rate under a target's limit,
peak memory against book size.

* **pairs**: a seeded book of 300 clients, 1,000 invoices, 50 credit notes and 600 payments migrates between
  every ordered pair of sandboxes served over loopback; counts and totals (sum of payable amounts, of
  payment amounts) read back from each side through its own API must be equal, for every kind the pair
  can carry (Cashaca cannot list payments: as a source it has none to give, as a target they are written
  but cannot be read back). Row: pairs equal / pairs; per-pair seconds and counts in ``extra``.
* **rate**: the target answers 429 + Retry-After above 20 requests/s (a token bucket); the requests it
  answers with anything but 429, per second over the migration, against the limit: at least 90 %.
* **memory**: the peak RSS of a ``invoicekit migrate`` process moving 20,000 invoices, against the same
  for 1,000: within 50 MB.

The sandboxes run in this process (uvicorn threads, ``invoicekit.sandbox.running``); the memory runs are
child processes running the CLI, each reporting the high-water mark of its own address space (``VmHWM``
as it exits; see ``_CHILD`` for why not ``os.wait4``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

import invoicekit
from benchmarks._harness import TIMEOUT, Row, Settings
from invoicekit import Books, Capability
from invoicekit._environ import env_name
from invoicekit.hooks import hookimpl
from invoicekit.migrate import migrate
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox, running
from invoicekit.sandbox._book import BookSize, seed_book

__all__ = ["figures"]

PROVIDERS = ("cashaca", "eenvoudigfactureren", "flowtly")
LIMIT = 20.0
RATE_TARGET = 0.90
MEMORY_BUDGET_MB = 50.0


@contextmanager
def _served(box: Sandbox) -> Iterator[dict[str, Any]]:
    with running(box) as base_url:
        yield {**box.credentials(), "base_url": base_url}


def _totals(books: Books) -> dict[str, Any]:
    """Counts and totals of a book, read through the provider's API."""
    out: dict[str, Any] = {"clients": sum(1 for _ in books.clients.list())}
    invoices = payable = paid = Decimal(0)
    payments = 0
    for invoice in books.invoices.list():
        invoices += 1
        payable += invoice.totals.payable
        if Capability.PAYMENTS_LIST in books.capabilities:
            assert invoice.provider_id is not None
            for payment in books.payments.list(invoice.provider_id):
                payments += 1
                paid += payment.amount
    out |= {"invoices": int(invoices), "invoices_payable": str(payable)}
    if Capability.PAYMENTS_LIST in books.capabilities:
        out |= {"payments": payments, "payments_amount": str(paid)}
    if Capability.CREDIT_NOTES_LIST not in books.capabilities:  # Flowtly: reported as not carried
        return out
    credit_notes = credit_total = Decimal(0)
    for credit_note in books.credit_notes.list():
        credit_notes += 1
        credit_total += credit_note.totals.payable
    return out | {"credit_notes": int(credit_notes), "credit_notes_payable": str(credit_total)}


def _pair(source_name: str, target_name: str, size: BookSize) -> dict[str, Any]:
    source_box, target_box = create_sandbox(source_name), create_sandbox(target_name)
    seed_book(source_box, size)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        source_credentials = stack.enter_context(_served(source_box))
        target_credentials = stack.enter_context(_served(target_box))
        source = stack.enter_context(invoicekit.connect(source_name, timeout=TIMEOUT, **source_credentials))
        target = stack.enter_context(invoicekit.connect(target_name, timeout=TIMEOUT, **target_credentials))
        started = time.perf_counter()
        report = migrate(source, target, journal=Path(folder) / "journal.db", concurrency=8)
        seconds = time.perf_counter() - started
        before, after = _totals(source), _totals(target)
    # What both sides can list: Cashaca lists no payments and Flowtly no credit notes, so those are compared
    # where both can (the report names what was not carried).
    carried = {key: value for key, value in before.items() if key in after}
    equal = report.ok and all(after.get(key) == value for key, value in carried.items())
    source_box.close()
    target_box.close()
    return {
        "pair": f"{source_name} -> {target_name}",
        "seconds": round(seconds, 1),
        "equal": equal,
        "source": before,
        "target": after,
        "unsupported": report.unsupported,
    }


def _pairs(settings: Settings) -> Row:
    size = BookSize(3, 8, 1, 4) if settings.quick else BookSize(300, 1000, 50, 600)
    results = [_pair(a, b, size) for a in PROVIDERS for b in PROVIDERS if a != b]
    equal = sum(1 for r in results if r["equal"])
    note = "; ".join(f"{r['pair']} {r['seconds']} s{'' if r['equal'] else ' DIFFERS'}" for r in results)
    return Row(
        f"migration, every ordered pair, {size.clients}/{size.invoices}/{size.credit_notes}/{size.payments} book",
        float(equal),
        float(len(results)),
        "pairs",
        equal / len(results),
        "= 1.00x (all equal)",
        equal == len(results),
        note,
        {"pairs": results},
    )


class _Counter:
    """Counts the target's answers other than 429, with the time of the first and the last."""

    def __init__(self) -> None:
        self.answered = 0
        self.limited = 0
        self.first = self.last = 0.0
        self._lock = threading.Lock()

    @hookimpl
    def invoicekit_after_response(self, provider: str, request: httpx.Request, response: httpx.Response) -> None:
        now = time.perf_counter()
        with self._lock:
            if response.status_code == 429:
                self.limited += 1
                return
            self.answered += 1
            self.first = self.first or now
            self.last = now


def _rate(settings: Settings) -> Row:
    size = BookSize(5, 40, 0, 0) if settings.quick else BookSize(20, 500, 0, 0)
    source_box, target_box = create_sandbox("eenvoudigfactureren"), create_sandbox("cashaca")
    seed_book(source_box, size)
    target_box.faults.add(FaultRule.rate_limited(LIMIT, burst=int(LIMIT)))
    counter = _Counter()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        source_credentials = stack.enter_context(_served(source_box))
        target_credentials = stack.enter_context(_served(target_box))
        source = stack.enter_context(invoicekit.connect("eenvoudigfactureren", timeout=TIMEOUT, **source_credentials))
        target = stack.enter_context(
            invoicekit.connect("cashaca", timeout=TIMEOUT, plugins=[counter], **target_credentials)
        )
        report = migrate(source, target, journal=Path(folder) / "journal.db", concurrency=8)
    source_box.close()
    target_box.close()
    elapsed = max(counter.last - counter.first, 1e-9)
    rate = (counter.answered - 1) / elapsed  # n answers span n - 1 intervals
    ratio = rate / LIMIT
    return Row(
        f"migration against a {LIMIT:.0f} requests/s target limit (429 + Retry-After), {size.invoices} invoices",
        rate,
        LIMIT,
        "/s",
        ratio,
        f">= {RATE_TARGET:.2f}x",
        ratio >= RATE_TARGET and report.ok,
        f"{counter.answered} answered, {counter.limited} answered 429, over {elapsed:.1f} s; report ok={report.ok}",
    )


#: The child's own peak, read as it exits. Not ``os.wait4``'s ``ru_maxrss``: Linux carries the peak of the
#: process image an ``execve`` replaces into the new one, and the child is forked from this process, which
#: holds both seeded sandboxes, so ``ru_maxrss`` was this process's size (about 38 KB per seeded invoice)
#: whatever the migration used. ``VmHWM`` is the high-water mark of the child's own address space.
_CHILD = """
import atexit, os, sys

def _peak():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCHMARK_PEAK_FILE"], "w") as out:
        out.write(peak)

atexit.register(_peak)
from invoicekit.cli import main
sys.argv[0] = "invoicekit"
main()
"""


def _peak_mb(invoices: int) -> tuple[float, float, float]:
    """Peak RSS (MB) and seconds of one ``invoicekit migrate`` process moving a book of ``invoices``, and
    the seconds seeding the source took."""
    source_box, target_box = create_sandbox("cashaca"), create_sandbox("eenvoudigfactureren")
    started = time.perf_counter()
    seed_book(source_box, BookSize(50, invoices, 0, 0))
    seeding = time.perf_counter() - started
    env = dict(os.environ)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        for box in (source_box, target_box):
            credentials = stack.enter_context(_served(box))
            env |= {env_name(box.name, key): str(value) for key, value in credentials.items()}
        peak_file = Path(folder) / "peak"
        env["BENCHMARK_PEAK_FILE"] = str(peak_file)
        command = [
            sys.executable,
            "-c",
            _CHILD,
            *("migrate", "--from", "cashaca", "--to", "eenvoudigfactureren"),
            *("--journal", str(Path(folder) / "journal.db"), "--json"),
        ]
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our interpreter, our CLI
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False
        )
        seconds = time.perf_counter() - started
        peak_kb = float(peak_file.read_text()) if peak_file.exists() else None
    source_box.close()
    target_box.close()
    report = json.loads(done.stdout)
    if done.returncode != 0 or report["counts"]["invoice"]["written"] != invoices or peak_kb is None:
        raise RuntimeError(f"the {invoices}-invoice migration did not complete: {report.get('counts')}")
    return peak_kb / 1024, seconds, seeding


def _memory(settings: Settings) -> Row:
    small, large = (20, 400) if settings.quick else (1_000, 20_000)
    small_mb, small_s, small_seed = _peak_mb(small)
    large_mb, large_s, large_seed = _peak_mb(large)
    grew = large_mb - small_mb
    return Row(
        f"migration peak RSS, {large:,} vs {small:,} invoices",
        large_mb,
        small_mb,
        "MB",
        large_mb / small_mb,
        f"<= +{MEMORY_BUDGET_MB:.0f} MB",
        grew <= MEMORY_BUDGET_MB,
        f"+{grew:.1f} MB (the child's VmHWM); {small:,} in {small_s:.0f} s, {large:,} in {large_s:.0f} s "
        f"(seeding {small_seed:.0f} s and {large_seed:.0f} s)",
    )


def figures(settings: Settings) -> list[Row]:
    """Every figure, or those ``--figure`` names (``pairs``, ``rate``, ``memory``)."""
    named = {"pairs": _pairs, "rate": _rate, "memory": _memory}
    return [figure(settings) for name, figure in named.items() if settings.wants(name)]
