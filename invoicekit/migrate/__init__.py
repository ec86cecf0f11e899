"""Move a whole book from one provider to another: resumable, verified, nothing lost or doubled.

The journal (:class:`Journal`, embedded default :class:`SQLiteJournal`) maps every source document to its
target document; see docs/migration.md.
"""

from invoicekit.migrate._journal import (
    KINDS,
    Entry,
    EntryState,
    Journal,
    Kind,
    LostClaim,
    RunSpec,
    SQLiteJournal,
    reconciliation_key,
)
from invoicekit.migrate._report import DocumentNote, KindCheck, KindCounts, MigrationProgress, MigrationReport
from invoicekit.migrate._run import migrate

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
