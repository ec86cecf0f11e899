"""Migration figures: the hook issue 14 fills in.

Return rows from :func:`figures` (build them with :class:`benchmarks._harness.Row` or ``ratio_row``); the
runner already calls it, in its place in the table, in full and in ``--quick`` mode. Migration builds on
:class:`invoicekit.Bulk`, so its figures will look like those in ``creates.py``.
"""

from __future__ import annotations

from benchmarks._harness import Row, Settings

__all__ = ["figures"]


def figures(settings: Settings) -> list[Row]:
    return []
