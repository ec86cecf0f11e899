"""What the sandboxes saw: peak requests in any sliding window, from their request logs."""

from __future__ import annotations

from collections.abc import Iterable

from invoicekit.sandbox import LoggedRequest


def peak_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most arrivals in any half-open window ``[t, t + window)``; every window start that matters is an arrival."""
    ordered = sorted(times)
    peak = 0
    first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def peak_rate(log: Iterable[LoggedRequest], window: float = 1.0) -> int:
    return peak_in_window((entry.at for entry in log), window)
