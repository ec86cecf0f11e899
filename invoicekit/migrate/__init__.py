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

__all__ = [
    "KINDS",
    "Entry",
    "EntryState",
    "Journal",
    "Kind",
    "LostClaim",
    "RunSpec",
    "SQLiteJournal",
    "reconciliation_key",
]
