"""The migration journal: which source document became which target document, and how far each one got.

A migration *run* moves one book from one account to another: it is named by ``(source provider, source
account, target provider, target account)`` (:class:`RunSpec`). Within a run, an *entry* stands for one
source document of one kind (client, invoice, credit note, payment), named by its source id. Its
reconciliation key is derived from the run and the source id (:func:`reconciliation_key`), so a run started
again finds, by that key on the target, a create whose answer was lost.

An entry's state moves like this::

    planned ──claim──> in_flight ──complete──> done
       ^                   │ ──fail──────> failed ──claim──> in_flight ...
       └──── (lease ends / release_owner) ─┘
    planned | failed ──skip──> skipped (with a reason; claim never returns it again)

``in_flight`` means "a create may have been sent": whoever claims such an entry again must search the
target by the entry's key before creating anything (:attr:`Entry.resumed` says so).

**Concurrency.** Several processes (on several hosts, for a database backend) may share one journal, for
different runs or for the same run. :meth:`Journal.claim` is the only way to get permission to write a
document, and it is atomic: two owners never hold the same entry at once. A claim holds for
``lease_seconds``; after that (the owner died, or hangs) another owner may claim it, and must then search
by key first. :meth:`Journal.release_owner` gives up every claim of an owner at once (a clean exit, or a
supervisor that knows the owner is dead). Only the owner holding a claim can complete, fail or skip the
entry (a stale owner's late ``complete`` is refused with :class:`LostClaim`), so the journal never records
two different target ids for one source document.

:class:`SQLiteJournal` is the embedded default (one file, WAL, every change in its own ``BEGIN IMMEDIATE``
transaction, so a SIGKILL loses at most the change under way and never leaves half of one). Other backends
implement :class:`Journal` and prove it with :class:`invoicekit.migrate.testing.JournalContract`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "KINDS",
    "Entry",
    "EntryState",
    "Journal",
    "Kind",
    "LostClaim",
    "RunSpec",
    "reconciliation_key",
]

Kind = Literal["client", "invoice", "credit_note", "payment"]
#: The kinds in the order a migration writes them: a document only points at kinds before it.
KINDS: tuple[Kind, ...] = ("client", "invoice", "credit_note", "payment")


class EntryState(StrEnum):
    PLANNED = "planned"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class LostClaim(RuntimeError):
    """An owner tried to finish an entry it no longer holds (its lease ended and another owner claimed it)."""


@dataclass(frozen=True)
class RunSpec:
    """One migration: from one account of one provider to one account of another (or the same) provider.

    ``*_account`` is whatever names the account without being a secret (a base URL, a company id, a
    login name; never a token): two runs with equal specs are the same run and share their entries.
    """

    source_provider: str
    source_account: str
    target_provider: str
    target_account: str

    @property
    def run_id(self) -> str:
        """A stable id of the run (32 hex digits), the same in every process and backend."""
        text = "\x1f".join((self.source_provider, self.source_account, self.target_provider, self.target_account))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def reconciliation_key(run_id: str, kind: Kind, source_id: str) -> str:
    """The key a run's create of this source document carries: ``mig-`` + 32 hex digits (36 characters,
    within every bundled provider's key field). Deterministic, so every attempt of the run uses the same."""
    digest = hashlib.sha256(f"{run_id}\x1f{kind}\x1f{source_id}".encode()).hexdigest()
    return "mig-" + digest[:32]


@dataclass(frozen=True)
class Entry:
    """One source document of a run, as the journal has it."""

    run_id: str
    kind: Kind
    source_id: str
    key: str
    state: EntryState
    target_id: str | None = None
    #: Why the entry failed or was skipped (a field the target cannot carry, an error's message).
    reason: str | None = None
    #: What verification compares, as strings (e.g. ``{"number": "2026-001", "total": "121.00"}``): the
    #: source's facts from :meth:`Journal.plan`, updated by :meth:`Journal.complete`'s ``facts``.
    facts: Mapping[str, str] = field(default_factory=dict)
    #: How many times the entry was claimed.
    attempts: int = 0
    #: Set by :meth:`Journal.claim` when the entry was already in flight: a create may have landed, so the
    #: target must be searched by :attr:`key` before anything is created.
    resumed: bool = False
    owner: str | None = None


@runtime_checkable
class Journal(Protocol):
    """Where a migration keeps its progress. Every method is atomic and safe from several threads and
    processes; see the module docstring for the states and the claim rules."""

    def plan(self, run: RunSpec, kind: Kind, source_id: str, facts: Mapping[str, str]) -> Entry:
        """Make sure the entry exists: a new one is ``planned`` with ``facts`` and its key; an existing one
        keeps its state and target id, and its facts are replaced only while it is ``planned`` or
        ``failed`` (what a done entry was verified against does not move). Returns the entry as stored."""
        ...

    def claim(self, run: RunSpec, kind: Kind, source_id: str, owner: str, lease_seconds: float) -> Entry | None:
        """Permission to write this document, for ``lease_seconds``: creates the entry (``planned``, no
        facts) if absent, then moves a ``planned`` or ``failed`` entry, an ``in_flight`` one of the same
        owner or one whose lease ended to ``in_flight`` for ``owner`` (attempts + 1; ``resumed`` when it
        was in flight before) and returns it. Returns None when the entry is ``done`` or ``skipped``, or
        held by another owner whose lease has not ended. Two owners never hold one entry at once."""
        ...

    def complete(
        self, run: RunSpec, kind: Kind, source_id: str, owner: str, target_id: str, facts: Mapping[str, str]
    ) -> Entry:
        """Record the target document: ``done`` with ``target_id``, ``facts`` merged into the entry's.
        The owner must hold the claim (else :class:`LostClaim`); completing a ``done`` entry again with
        the same target id is a no-op (a retry after a lost answer from a database)."""
        ...

    def fail(self, run: RunSpec, kind: Kind, source_id: str, owner: str, reason: str) -> Entry:
        """``failed`` with ``reason``; the claim ends and a later claim may try again. Holder only
        (:class:`LostClaim`). Fail only when the write is known not to have landed, or a search by key on
        the next attempt will find it (the key stays the same)."""
        ...

    def skip(self, run: RunSpec, kind: Kind, source_id: str, owner: str | None, reason: str) -> Entry:
        """``skipped`` with ``reason`` (the target cannot carry this kind, or the document depends on one
        that was skipped): creates the entry if absent. Refused (:class:`LostClaim`) for a ``done`` entry or
        one another owner holds; ``owner=None`` for an entry nobody holds."""
        ...

    def get(self, run: RunSpec, kind: Kind, source_id: str) -> Entry | None:
        """The entry, or None."""
        ...

    def by_target(self, run: RunSpec, kind: Kind, target_id: str) -> Entry | None:
        """The entry whose target document has this id (``done`` entries only), or None."""
        ...

    def entries(self, run: RunSpec, kind: Kind | None = None, state: EntryState | None = None) -> Iterator[Entry]:
        """The run's entries (of one kind, in one state), in source id order of insertion, read in pages
        (the iterator holds no lock and no more than a page in memory)."""
        ...

    def counts(self, run: RunSpec) -> dict[Kind, dict[EntryState, int]]:
        """How many entries of each kind are in each state (kinds and states with none are left out)."""
        ...

    def release_owner(self, owner: str) -> int:
        """End every claim ``owner`` holds, in every run (their entries stay ``in_flight``, claimable at
        once, ``resumed`` on the next claim). Returns how many claims ended."""
        ...

    def owners(self) -> list[str]:
        """Owners holding at least one claim, in any run (a supervisor checks whether they still live)."""
        ...

    def close(self) -> None:
        """Release connections; the journal's data stays."""
        ...


def _leased(holder: object, lease_until: object, now: float) -> bool:
    return holder is not None and lease_until is not None and float(str(lease_until)) > now


def may_claim(state: EntryState, holder: object, lease_until: object, owner: str, now: float) -> bool:
    """Whether ``owner`` may claim an entry in ``state``: never a finished one, nor one another live owner
    holds (its lease not yet run out). Shared by every backend, so they decide alike."""
    if state in (EntryState.DONE, EntryState.SKIPPED):
        return False
    return not (state is EntryState.IN_FLIGHT and _leased(holder, lease_until, now) and holder != owner)


def check_held(
    run_id: str,
    kind: str,
    source_id: str,
    state: EntryState,
    holder: object,
    lease_until: object,
    owner: str | None,
    now: float,
) -> None:
    """Raise :class:`LostClaim` unless ``owner`` may finish the entry: it holds the claim, or (``owner`` None,
    a skip decided before any claim) nobody holds a live one and it is not done."""
    if state is EntryState.IN_FLIGHT and owner is not None and holder == owner:
        return
    live = state is EntryState.IN_FLIGHT and _leased(holder, lease_until, now)
    if owner is None and not live and state is not EntryState.DONE:
        return
    raise LostClaim(f"{kind} {source_id!r} ({state.value}) is not held by {owner!r} in run {run_id}")
