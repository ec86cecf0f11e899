"""Exactly once under concurrency: many callers on one account, nothing duplicated, nothing lost, nobody
handed another caller's document (docs/idempotency.md).

Each scenario runs per kind (client, invoice, credit note, payment) and is gated on that kind's
``<resource>.create_by_key`` capability: an adapter that has not declared key support skips, saying so.
Every caller passes its own idempotency key and puts a marker in its document; afterwards each must hold a
document with its key, its marker and its totals, numbers never collide, and the sandbox holds each document
once (an honest UncertainOutcome or Conflict may account for an extra one, never silence).

The size of the races is ``--invoicekit-race PROCESSES,THREADS,CREATES,FAULT_RATE`` (quick by default; the
acceptance run of the issue is ``benchmarks/exactly_once.py``). Faults are seeded (``--invoicekit-seed``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicekit import Books, InvoicekitError, Payment
from invoicekit import Capability as C
from invoicekit.errors import Conflict, UncertainOutcome
from invoicekit.hooks import hookimpl
from invoicekit.sandbox import FaultRule, Sandbox, SqliteStore, running
from invoicekit_conformance import _exactly_once as eo
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Meter, Target
from invoicekit_conformance.profile import DocumentKind

SANDBOX = "needs the sandbox's fault injection and its state"


def _kinds(behaviour: str) -> list[Any]:
    return [
        pytest.param(
            kind,
            id=kind,
            marks=scenario(
                covers=[by_key], requires=[create], sandbox_only=SANDBOX, behaviour=f"exactly once: {behaviour}"
            ),
        )
        for kind, (create, by_key) in eo.KINDS.items()
    ]


def _race(target: Target) -> tuple[int, int, int, float]:
    raw = str(target._node.config.getoption("invoicekit_race"))
    processes, threads, creates, rate = raw.split(",")
    return int(processes), int(threads), int(creates), float(rate)


def _fetch_key(target: Target, kind: DocumentKind, books: Books | None = None) -> Callable[[str], Any] | None:
    """The key the provider holds for a document, read back through the API (None when it cannot be read)."""
    books = books or target.books
    readers: dict[str, tuple[C, Callable[[str], Any]]] = {
        "client": (C.CLIENTS_GET, books.clients.get),
        "invoice": (C.INVOICES_GET, books.invoices.get),
        "credit_note": (C.CREDIT_NOTES_GET, books.credit_notes.get),
    }
    if kind not in readers or not target.supports(readers[kind][0]):
        return None
    read = readers[kind][1]
    return lambda provider_id: read(provider_id).idempotency_key


def _assert_race(
    target: Target, kind: DocumentKind, outcomes: list[eo.Outcome], before: Any, what: str, *, calm: bool
) -> None:
    target.report("race", eo.summary(kind, outcomes))
    if target.sandbox is not None:
        target.sandbox.faults.clear()
    after = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    problems = eo.check(kind, outcomes, before, after, _fetch_key(target, kind), calm=calm)
    assert not problems, f"{what} on {target.provider} (seeded; see --invoicekit-seed):\n  - " + "\n  - ".join(
        problems[:20]
    )


@pytest.mark.parametrize(
    "kind", _kinds("concurrent creates from threads on one connection, each kind, with and without faults")
)
@pytest.mark.parametrize("faulty", [False, True], ids=["calm", "faults"])
def test_concurrent_creates_from_threads(target: Target, kind: DocumentKind, faulty: bool) -> None:
    """Concurrent creates of one kind on one connection (threads; async: tasks on one AsyncBooks)."""
    _, threads, creates, rate = _race(target)
    ctx = eo.context(target.books, kind, target.tag())
    jobs = eo.plan(kind, target.tag(), 0, threads * creates)
    before = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    if faulty and target.sandbox is not None:
        for rule in eo.faults(rate):
            target.sandbox.faults.add(rule)
    outcomes = eo.run_threads(target.books, kind, jobs, ctx, threads)
    _assert_race(
        target, kind, outcomes, before, f"{len(jobs)} concurrent {kind} creates from {threads} threads", calm=not faulty
    )


@scenario(
    covers=[],
    behaviour="exactly once: concurrent creates from several OS processes on several server processes "
    "sharing one --db file, with faults",
    sandbox_only=SANDBOX,
)
def test_concurrent_creates_from_processes(target: Target, tmp_path: Path) -> None:
    """Several OS processes, each with its own connection and threads, against several ``invoicekit sandbox
    serve NAME --db FILE`` processes on one SQLite file (as a provider's web workers share one database), each
    server injecting faults: every kind whose create_by_key is declared, in one run.

    A sandbox that cannot keep its state in a given store is served once, in-process, instead (and says so)."""
    assert target.sandbox is not None
    ungated = bool(target._node.config.getoption("invoicekit_race_ungated"))
    kinds = [
        k
        for k, (create, by_key) in eo.KINDS.items()
        if target.supports(create) and (ungated or target.supports(by_key))
    ]
    if not kinds:
        pytest.skip(f"{target.provider} declares no <resource>.create_by_key")
    processes, threads, creates, rate = _race(target)
    servers = int(target._node.config.getoption("invoicekit_race_servers"))
    tag = target.tag()
    db = tmp_path / "race.db"
    shared = _shared_sandbox(target, db)
    box = shared or target.sandbox
    books = target.connect(sandbox=shared) if shared is not None else target.books
    contexts = {kind: eo.context(books, kind, tag) for kind in kinds}
    before = {kind: eo.stored(box, kind, target.profile.stored_ids) for kind in kinds}
    if shared is None:
        target.report("servers", "1 in-process (the sandbox takes no store=)")
        for rule in eo.faults(rate):
            target.sandbox.faults.add(rule)
        serving: Any = running_urls(target.sandbox)
    else:
        target.report("servers", f"{servers} processes on one --db")
        serving = eo.served_processes(target.provider, db, servers, seed=target.seed, rate=rate, strict=target.strict)
    problems: list[str] = []
    # Clients alone, then the documents together: an invoice may create its client inline (Cashaca), which
    # would blur the count of clients, and each launch of processes costs seconds.
    launches: list[list[DocumentKind]] = [[k for k in kinds if k == "client"], [k for k in kinds if k != "client"]]
    with serving as base_urls:
        for launch in [launch for launch in launches if launch]:
            job: dict[str, Any] = {
                "provider": target.provider,
                "mode": target.case.mode,
                "base_urls": base_urls,
                "credentials": box.credentials(),
                "kinds": {kind: contexts[kind] for kind in launch},
                "tag": tag,
                "creates": creates * threads,
                "threads": threads,
                "seed": target.seed,
                "deadline": float(target._node.config.getoption("invoicekit_race_deadline")),
            }
            outcomes = eo.run_processes(job, processes)
            for kind in launch:
                done = outcomes.get(kind, [])
                after = eo.stored(box, kind, target.profile.stored_ids)
                fetch = _fetch_key(target, kind, books)
                target.report(
                    f"race {kind}", {**eo.summary(kind, done), **eo.tally(kind, done, before[kind], after, fetch)}
                )
                if len(done) != processes * creates * threads:
                    problems.append(f"{kind}: {len(done)} outcomes for {processes * creates * threads} creates")
                problems += eo.check(kind, done, before[kind], after, fetch)
    target.sandbox.faults.clear()
    if shared is not None:
        shared.close()
        shared.store.close()
    assert not problems, (
        f"{processes} processes x {threads} threads x {creates} creates per kind on {target.provider}, "
        f"{servers if shared is not None else 1} server(s) (seeded; see --invoicekit-seed):\n  - "
        + "\n  - ".join(problems[:30])
    )


def _shared_sandbox(target: Target, db: Path) -> Sandbox | None:
    """The provider's sandbox on an SQLite file the served processes open too (None: it takes no store)."""
    create = target.plugin.create_sandbox
    assert create is not None
    parameters = inspect.signature(create).parameters.values()
    if not any(p.name == "store" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    options = dict(target.profile.sandbox_options)
    if target.strict:
        options["strict"] = True
    store = SqliteStore(db)
    try:
        # The store outlives the sandbox: close() of a sandbox leaves a store it was given open.
        return create(store=store, seed=target.seed, **options)
    except TypeError:  # a **options that has no store after all
        store.close()
        return None


@contextlib.contextmanager
def running_urls(sandbox: Sandbox) -> Iterator[list[str]]:
    with running(sandbox) as base_url:
        yield [base_url]


@pytest.mark.parametrize("kind", _kinds("one key from five workers at once makes one document, each kind"))
def test_one_key_from_many_workers_creates_one_document(target: Target, kind: DocumentKind) -> None:
    """A webhook delivered five times at once: one key, five concurrent creates, one document."""
    ctx = eo.context(target.books, kind, target.tag())
    key, marker = eo.plan(kind, target.tag(), 0, 1)[0]
    before = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    outcomes = eo.run_threads(target.books, kind, [(key, marker)] * 5, ctx, 5)
    after = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    target.report("race", eo.summary(kind, outcomes))
    # On one connection the deliveries are told apart by nothing but the key, and nothing excuses a second
    # document: Books runs the creates of one key one after the other (between processes see docs/idempotency.md).
    problems = [f"{o.key}: failed: {o.error}" for o in outcomes if o.error]
    ids = {o.provider_id for o in outcomes if not o.error}
    if len(ids) > 1:
        problems.append(
            f"five deliveries of one key were handed {len(ids)} different documents: {sorted(map(str, ids))}"
        )
    if before is not None and after is not None and len(after) - len(before) != 1:
        problems.append(f"one key made {len(after) - len(before)} {kind}s, not one")
    assert not problems, f"one key from five workers on {target.provider}:\n  - " + "\n  - ".join(problems)


@scenario(
    covers=[C.PAYMENTS_CREATE_BY_KEY],
    requires=[C.INVOICES_CREATE, C.PAYMENTS_CREATE],
    sandbox_only=SANDBOX,
    behaviour="exactly once: two equal payments with the first answer lost",
)
def test_two_equal_payments_with_the_first_answer_lost(target: Target) -> None:
    """Two payments of the same amount on the same day: both are payments, even when the first answer is lost."""
    assert target.sandbox is not None
    ctx = eo.context(target.books, "payment", target.tag())
    tag = target.tag()
    target.sandbox.faults.add(FaultRule.drop_after_commit(method="POST", times=1))
    made: list[Payment | InvoicekitError] = []
    keyed = target.supports(C.PAYMENTS_CREATE_BY_KEY)  # not only when scoring (--invoicekit-race-ungated)
    for i in range(2):
        payment = Payment(invoice_id=ctx["invoice_id"], date=date.today(), amount=Decimal("25.00"))
        try:
            made.append(target.books.payments.create(payment, idempotency_key=f"{tag}-pay-{i}" if keyed else None))
        except (UncertainOutcome, Conflict) as exc:
            made.append(exc)
    target.sandbox.faults.clear()
    ids = [m.provider_id for m in made if isinstance(m, Payment)]
    assert None not in ids, f"a payment was returned without a provider id ({ids}): its caller cannot tell it apart"
    assert len(set(ids)) == len(ids), f"two equal payments were told they are the same payment: {ids}"
    stored = eo.stored(target.sandbox, "payment", target.profile.stored_ids)
    if stored is not None:
        missing = [i for i in ids if i not in stored]
        assert not missing, f"payments {missing} were returned, but the provider does not hold them"
    if target.supports(C.INVOICES_PAID_AMOUNT) and len(ids) == 2:
        paid = target.books.invoices.get(ctx["invoice_id"]).paid_amount
        assert paid == Decimal("50.00"), f"two payments of 25.00 told success, the invoice shows {paid} paid"


# The create's own POST, told from the ones on its way (EF creates an invoice's client first), unless the
# provider's profile names its own paths (ConformanceProfile.write_paths).
_WRITE_PATHS: dict[DocumentKind, tuple[str, ...]] = {
    "client": ("client",),
    "invoice": ("invoice",),
    "credit_note": ("credit", "invoice"),
    "payment": ("payment",),
}


def _write_paths(target: Target, kind: DocumentKind) -> tuple[str, ...]:
    return tuple(target.profile.write_paths.get(kind, _WRITE_PATHS[kind]))


class _BreakTheNextRead(Meter):
    """After the first accepted POST to one of ``paths``, the next GET gets a malformed answer."""

    def __init__(self, target: Target, paths: tuple[str, ...]) -> None:
        super().__init__()
        self._target = target
        self._paths = paths
        self.armed = False

    @hookimpl
    def invoicekit_after_response(self, provider: str, request: httpx.Request, response: httpx.Response) -> None:
        path = request.url.path
        if self.armed or request.method != "POST" or not response.is_success:
            return
        if any(part in path for part in self._paths) and self._target.sandbox is not None:
            self.armed = True
            self._target.sandbox.faults.add(FaultRule.malformed(method="GET", times=1))


@pytest.mark.parametrize("kind", _kinds("a failed read after an accepted write, retried with the same key, each kind"))
def test_a_failed_read_after_an_accepted_write_is_not_duplicated_by_a_retry(target: Target, kind: DocumentKind) -> None:
    """The create lands, the read that follows it fails (a malformed answer to the next GET): whatever the call
    says, the caller's natural retry with the same key gets the same document back and makes no second one."""
    assert target.sandbox is not None
    ctx = eo.context(target.books, kind, target.tag())
    key, marker = eo.plan(kind, target.tag(), 0, 1)[0]
    before = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    paths = _write_paths(target, kind)
    breaker = _BreakTheNextRead(target, paths)
    first = eo.create_one(target.connect(meter=breaker), kind, key, marker, ctx)
    target.sandbox.faults.clear()
    assert breaker.armed, f"no successful POST to a path with {paths} was seen: the scenario proved nothing"
    retry = eo.create_one(target.books, kind, key, marker, ctx)
    after = eo.stored(target.sandbox, kind, target.profile.stored_ids)
    problems = eo.check(kind, [retry], None, None, _fetch_key(target, kind))
    if first.provider_id and retry.provider_id and first.provider_id != retry.provider_id:
        problems.append(f"the first call returned {first.provider_id}, the retry {retry.provider_id}")
    if before is not None and after is not None and len(after) - len(before) != 1:
        problems.append(
            f"the provider holds {len(after) - len(before)} {kind}s for one key (first call: {first.error})"
        )
    assert not problems, f"a failed read after an accepted write on {target.provider}:\n  - " + "\n  - ".join(problems)
