"""What a migration planned, did and verified: :class:`MigrationReport` and its parts, plain data with JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from invoicekit.migrate._journal import KINDS, Kind, RunSpec

__all__ = ["NOTES_KEPT", "DocumentNote", "KindCheck", "KindCounts", "MigrationProgress", "MigrationReport"]

#: Per-document notes a report keeps in memory (the first ones); the counts are whole, and every
#: document's losses and skip reason are in the journal (``Entry.facts["lost"]``, ``Entry.reason``).
NOTES_KEPT = 1000


@dataclass
class DocumentNote:
    """One source document the target cannot take whole: the fields it would lose, or why it is skipped."""

    kind: Kind
    source_id: str
    number: str | None
    #: ``(field path, reason)``: ``("rows.0.unit", "Cashaca cannot store this: ...")``.
    lost: list[tuple[str, str]] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class KindCounts:
    """One kind of document: what the source has and what became of it."""

    source: int = 0  # read from the source (after ``since``)
    to_write: int = 0  # not yet done when the run started
    written: int = 0  # done by this run (created, or found on the target by key after a lost answer)
    found: int = 0  # of those, found on the target rather than created
    already_done: int = 0  # done by an earlier run (journal)
    skipped: int = 0
    failed: int = 0
    with_losses: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source id, reason), at most 100


@dataclass
class KindCheck:
    """The verification of one kind: what the target has against what the journal says it should."""

    kind: Kind
    expected: int  # distinct target documents the journal maps
    found: int  # target documents listed
    matched: int  # listed and mapped, with equal facts
    missing: list[str] = field(default_factory=list)  # source ids whose target document is not listed
    extra: list[str] = field(default_factory=list)  # target ids no entry maps (pre-existing or duplicates)
    #: ``(source id, fact, source value, target value)``
    differing: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: Why this kind could not be checked (the target cannot list it), or None.
    unverifiable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unverifiable is not None or not (self.missing or self.extra or self.differing)


@dataclass(frozen=True)
class MigrationProgress:
    """Progress of one kind during the write pass, as :func:`invoicekit.migrate.migrate` reports it."""

    kind: Kind
    phase: str  # "plan", "write" or "verify"
    total: int | None
    done: int
    failed: int
    rate: float  # per second
    limit: int  # the adaptive concurrency limit right now

    @property
    def eta(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.done) / self.rate


@dataclass
class MigrationReport:
    """The outcome of :func:`invoicekit.migrate.migrate`; ``ok`` is False when anything failed or differs."""

    run: RunSpec
    dry_run: bool
    counts: dict[Kind, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    #: kind -> why the target (or source) cannot carry that kind at all, for kinds it cannot.
    unsupported: dict[Kind, str] = field(default_factory=dict)
    #: The first :data:`NOTES_KEPT` documents that lose a field or are skipped (``notes_total``: all of them).
    notes: list[DocumentNote] = field(default_factory=list)
    notes_total: int = 0
    #: ``(kind, field path with list indexes as [])`` -> how many documents lose it.
    field_losses: dict[tuple[Kind, str], int] = field(default_factory=dict)
    #: The same keys -> why the target drops that field (the reason given for its first document).
    field_loss_reasons: dict[tuple[Kind, str], str] = field(default_factory=dict)
    checks: list[KindCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.counts.values()) and all(check.ok for check in self.checks)

    def note(self, note: DocumentNote) -> None:
        """Count a document's note; keep it while fewer than :data:`NOTES_KEPT` are kept."""
        self.notes_total += 1
        if len(self.notes) < NOTES_KEPT:
            self.notes.append(note)

    def lose(self, kind: Kind, path: str, reason: str) -> None:
        """Count one document losing the field ``path`` (list indexes as ``[]``)."""
        key = (kind, path)
        self.field_losses[key] = self.field_losses.get(key, 0) + 1
        self.field_loss_reasons.setdefault(key, reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": asdict(self.run) | {"run_id": self.run.run_id},
            "dry_run": self.dry_run,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "counts": {kind: asdict(counts) for kind, counts in self.counts.items()},
            "unsupported": dict(self.unsupported),
            "field_losses": [
                {"kind": kind, "field": path, "documents": n, "reason": self.field_loss_reasons.get((kind, path), "")}
                for (kind, path), n in sorted(self.field_losses.items())
            ],
            "notes": [asdict(note) for note in self.notes],
            "notes_total": self.notes_total,
            "verification": [asdict(check) | {"ok": check.ok} for check in self.checks],
        }
