"""Move a whole book from one provider to another: resumable, verified, nothing lost or doubled.

``invoicekit.migrate(source, target, journal="book.db")`` (this package is callable: it runs
:func:`migrate`). The journal (:class:`Journal`, embedded default :class:`SQLiteJournal`) maps every source
document to its target document; see docs/migration.md.
"""

import sys
import types
from typing import Any

from invoicekit.migrate._journal import (
    KINDS,
    Entry,
    EntryState,
    Journal,
    Kind,
    LostClaim,
    RunSpec,
    reconciliation_key,
)
from invoicekit.migrate._report import DocumentNote, KindCheck, KindCounts, MigrationProgress, MigrationReport
from invoicekit.migrate._run import migrate
from invoicekit.migrate._sql import SQLiteJournal

__all__ = [
    "KINDS",
    "DocumentNote",
    "Entry",
    "EntryState",
    "Journal",
    "Kind",
    "KindCheck",
    "KindCounts",
    "LostClaim",
    "MigrationProgress",
    "MigrationReport",
    "RunSpec",
    "SQLiteJournal",
    "migrate",
    "reconciliation_key",
]


class _CallableModule(types.ModuleType):
    """``invoicekit.migrate(...)`` is :func:`migrate`, and ``invoicekit.migrate.Journal`` the journal."""

    def __call__(self, *args: Any, **kwargs: Any) -> MigrationReport:
        return migrate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
