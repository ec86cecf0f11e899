"""The measuring rules every figure follows: ours and its floor alternate in one run, medians of rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

#: Generous on purpose: on a busy machine a page of a 20,000-invoice sandbox can take seconds.
TIMEOUT = httpx.Timeout(300.0)

__all__ = [
    "TIMEOUT",
    "Row",
    "Settings",
    "alternate",
    "alternate_async",
    "interleave",
    "interleave_async",
    "interleave_sides",
    "median_time",
    "ratio_row",
]


@dataclass(frozen=True)
class Settings:
    """``quick`` shrinks every figure so the whole run takes seconds (CI: it keeps working, it judges nothing)."""

    quick: bool = False
    rounds: int = 5
    #: ``--figure`` names: a group that names its figures runs only these (empty: every figure).
    figures: frozenset[str] = frozenset()

    def pick(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def wants(self, figure: str) -> bool:
        return not self.figures or figure in self.figures


@dataclass
class Row:
    """One line of the table. ``ratio`` is ours / floor (or ours / target where the floor is an ideal)."""

    figure: str
    ours: float | None
    floor: float | None
    unit: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def interleave(ours: Callable[[], float], floor: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Run ``ours`` and ``floor`` (each returns one round's figure) alternately, ABBA, and return both medians.

    Alternating inside one run means a busy neighbour or a warming cache hits both sides alike.
    """
    mine, base = interleave_sides((ours, floor), rounds)
    return mine, base


def interleave_sides(sides: Sequence[Callable[[], float]], rounds: int) -> list[float]:
    """:func:`interleave` for any number of sides: each round runs them all, in order and then in reverse
    (ABC CBA ...), and the result is each side's median, in the order given.

    Three sides in one run (ours, a floor and a floor under it) give both ratios from the same rounds, so a
    ratio between the two floors is not the quotient of two runs' medians taken at different loads.
    """
    figures: list[list[float]] = [[] for _ in sides]
    for index in range(rounds):
        order = range(len(sides)) if index % 2 == 0 else reversed(range(len(sides)))
        for side in order:
            figures[side].append(sides[side]())
    return [statistics.median(values) for values in figures]


async def interleave_async(
    ours: Callable[[], Awaitable[float]], floor: Callable[[], Awaitable[float]], rounds: int
) -> tuple[float, float]:
    """:func:`interleave` for coroutines, all in one event loop."""
    mine: list[float] = []
    base: list[float] = []
    for index in range(rounds):
        if index % 2 == 0:
            mine.append(await ours())
            base.append(await floor())
        else:
            base.append(await floor())
            mine.append(await ours())
    return statistics.median(mine), statistics.median(base)


def median_time(action: Callable[[], object], count: int) -> float:
    """The median of ``count`` timed calls of ``action``, in seconds."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _calls(count: int) -> list[int]:
    """Which side makes each call of a round: 0 (ours) and 1 (the floor), in pairs, ABBA."""
    return [side for index in range(count) for side in ((0, 1) if index % 2 == 0 else (1, 0))]


def _medians(rounds: list[tuple[list[float], list[float]]]) -> tuple[float, float]:
    """Each side's median call per round, then the medians over rounds."""
    return (
        statistics.median(statistics.median(ours) for ours, _ in rounds),
        statistics.median(statistics.median(floor) for _, floor in rounds),
    )


def alternate(ours: Callable[[], object], floor: Callable[[], object], count: int, rounds: int) -> tuple[float, float]:
    """Per-call figures: within each round the two operations alternate call by call (ABBA), each call timed;
    a round's figure for each side is its median call, and the result the medians over rounds.

    On a busy machine a burst of load lands on both sides' calls alike, where whole rounds of one side would
    catch it alone; and a median call is not moved by the few calls a burst hits.
    """
    operations = (ours, floor)
    results = []
    for _ in range(rounds):
        times: tuple[list[float], list[float]] = ([], [])
        for side in _calls(count):
            start = time.perf_counter()
            operations[side]()
            times[side].append(time.perf_counter() - start)
        results.append(times)
    return _medians(results)


async def alternate_async(
    ours: Callable[[], Awaitable[object]], floor: Callable[[], Awaitable[object]], count: int, rounds: int
) -> tuple[float, float]:
    """:func:`alternate` for coroutines, all in one event loop."""
    operations = (ours, floor)
    results = []
    for _ in range(rounds):
        times: tuple[list[float], list[float]] = ([], [])
        for side in _calls(count):
            start = time.perf_counter()
            await operations[side]()
            times[side].append(time.perf_counter() - start)
        results.append(times)
    return _medians(results)


def ratio_row(figure: str, ours: float, floor: float, *, limit: float, unit: str = "ms", note: str = "") -> Row:
    """A row whose target is ``ours / floor <= limit``; times given in seconds, shown in ``unit``."""
    scale = {"ms": 1000.0, "s": 1.0}[unit]
    ratio = ours / floor
    return Row(figure, ours * scale, floor * scale, unit, ratio, f"<= {limit:.2f}x", ratio <= limit, note)
