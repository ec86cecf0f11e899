"""The acceptance test of issue 15: twenty accounts migrating at once on four Celery workers, one killed.

Twenty account pairs, each its own pair of sandboxes served over loopback (EenvoudigFactureren -> Cashaca for
half, Cashaca -> EenvoudigFactureren for the other half), every account limited to LIMIT requests per
second at the sandbox and in the shared limit. Four worker processes (solo pool) take the twenty
``migrate_account`` tasks; once one of them has written part of its book, it is SIGKILLed. Its message comes
back after the (shortened) visibility timeout, another worker takes the run's lock once the dead one's has
lapsed, and the migration resumes from the PostgreSQL journal.

Checked from the sandboxes' own state and request logs, not from what the tasks report: every source
document exists exactly once on its target (no duplicate, none missing), and no account, source or target,
ever saw more than LIMIT requests in any one-second window. The book is small so the test fits the suite's
budget; docs/scale-out.md gives the numbers of a bigger run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis
from invoicekit_conformance.profile import load_profile

from invoicekit.contrib.postgres import PostgresJournal
from invoicekit.migrate import KINDS, EntryState, RunSpec
from invoicekit.registry import load_provider
from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox
from invoicekit.sandbox._book import BookSize, seed_book
from tests.scale._cluster import everything_in, worker_env, workers
from tests.scale._measure import peak_rate
from tests.scale._served import serve_all
from tests.scale._services import Postgres, Redis
from tests.scale.celery_app import make_app

# Small enough for the suite's time budget; a bigger run is the same test with these set, e.g.
# INVOICEKIT_SCALE_BOOK=30,100,5,60 uv run pytest tests/scale/test_celery_migrations.py -s (docs/scale-out.md).
ACCOUNTS = int(os.environ.get("INVOICEKIT_SCALE_ACCOUNTS", "20"))
BOOK = BookSize.parse(os.environ.get("INVOICEKIT_SCALE_BOOK", "3,5,1,2"))
LIMIT = int(os.environ.get("INVOICEKIT_SCALE_LIMIT", "20"))  # requests per second per account
PAIRS = (("eenvoudigfactureren", "cashaca"), ("cashaca", "eenvoudigfactureren"))


def _stored(sandbox: Sandbox, kind: str) -> list[str] | None:
    stored = load_profile(load_provider(sandbox.name)).stored_ids
    assert stored is not None
    found = stored(sandbox, kind)  # type: ignore[arg-type]
    return None if found is None else list(found)


def _in_the_middle(
    client: redis.Redis, journal: PostgresJournal, runs: dict[str, RunSpec], timeout: float
) -> tuple[int, RunSpec, int]:
    """A worker holding a run's lock whose journal shows part, not all, of the book done; (pid, run, done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in client.scan_iter(match="invoicekit:migration:*"):
            token = client.get(key)
            run = runs[key.decode().rsplit(":", 1)[1]]
            counts = journal.counts(run).values()
            done = sum(n.get(EntryState.DONE, 0) for n in counts)
            if token is not None and 2 <= done < sum(sum(n.values()) for n in counts):
                return int(token.decode().split(":")[1]), run, done
        time.sleep(0.02)
    raise TimeoutError("no migration got under way")


def _own(document_id: str) -> str:
    return document_id.rsplit("/", 1)[-1]


def test_twenty_accounts_migrate_on_four_workers_one_sigkilled_nothing_lost_or_doubled(
    redis_service: Redis, postgres_service: Postgres, tmp_path: Path
) -> None:
    redis_url = f"redis://127.0.0.1:{redis_service.port}"
    pairs = [PAIRS[i % len(PAIRS)] for i in range(ACCOUNTS)]
    sources = [create_sandbox(source) for source, _ in pairs]
    targets = [create_sandbox(target) for _, target in pairs]
    seeded = [seed_book(box, BOOK, seed=2026 + i) for i, box in enumerate(sources)]
    for box in (*sources, *targets):
        box.request_log.clear()
        box.faults.add(FaultRule.rate_limited(LIMIT, burst=LIMIT))
    journal_dsn = postgres_service.dsn()
    with serve_all([*sources, *targets]) as urls:
        accounts: dict[str, dict[str, dict[str, str]]] = {}
        for i, box in enumerate([*sources, *targets]):
            side = "src" if i < ACCOUNTS else "dst"
            accounts.setdefault(box.name, {})[f"{side}{i % ACCOUNTS}"] = {**box.credentials(), "base_url": urls[i]}
        secrets = [value for box in (*sources, *targets) for value in box.credentials().values()]
        limits = {"cashaca": LIMIT, "eenvoudigfactureren": LIMIT}
        env = worker_env(redis_url, 4, accounts, limits, tmp_path, journal=journal_dsn)
        runs = [RunSpec(source, f"src{i}", target, f"dst{i}") for i, (source, target) in enumerate(pairs)]
        by_id = {run.run_id: run for run in runs}
        journal = PostgresJournal(journal_dsn)
        app, tasks = make_app(env)
        started = time.monotonic()
        with workers({**os.environ, **env}, 4, tmp_path) as group:
            results = [
                tasks.migrate_account.delay(
                    *(run.source_provider, run.source_account), run.target_provider, run.target_account
                )
                for run in runs
            ]
            # Kill a worker in the middle of a migration: it holds the run's lock and has written part of the book.
            pid, killed, done_at_kill = _in_the_middle(
                redis.Redis.from_url(f"{redis_url}/6"), journal, by_id, timeout=60
            )
            group.kill(pid)
            killed_at = time.monotonic() - started
            reports = [result.get(timeout=1800) for result in results]
            elapsed = time.monotonic() - started
            logs = group.log_text()
            # Messages, results, locks and markers too: with a message still queued, tasks' arguments are there.
            stored = "\n".join(everything_in(redis.Redis.from_url(f"{redis_url}/{db}")) for db in (4, 5, 6))
        app.close()

    documents = sum(sum(size) for size in seeded)
    requests = sum(len(box.request_log) for box in (*sources, *targets))
    print(f"\n{documents} documents, {requests} requests ({requests / elapsed:.0f}/s over all accounts)")
    print(f"{ACCOUNTS} accounts of {BOOK} migrated on 4 workers in {elapsed:.1f} s; worker {pid} SIGKILLed")
    print(
        f"in run {killed.source_account}->{killed.target_account} at {killed_at:.1f} s, {done_at_kill} documents done"
    )
    peaks: dict[str, int] = {}
    for i, (run, report) in enumerate(zip(runs, reports, strict=True)):
        assert report["ok"], (run, report)
        source, target = sources[i], targets[i]
        for kind in KINDS:
            entries = list(journal.entries(run, kind))
            done = [entry for entry in entries if entry.state is EntryState.DONE]
            stored_source, stored_target = _stored(source, kind), _stored(target, kind)
            if kind in report["unsupported"]:
                assert not done
                continue
            assert stored_source is not None
            assert stored_target is not None
            # Nothing missing: every source document is done; nothing doubled: the target holds exactly those.
            # (A payment's journal id is "invoice/payment"; the sandbox's store knows the payment's own id.)
            assert sorted(_own(entry.source_id) for entry in done) == sorted(stored_source), (run, kind)
            assert sorted(_own(entry.target_id or "") for entry in done) == sorted(stored_target), (run, kind)
        assert len(_stored(source, "invoice") or []) == seeded[i].invoices
        for side, box in (("source", source), ("target", target)):
            peaks[f"{side} {i}"] = peak_rate(box.request_log.recent())
    journal.close()
    # The report of the killed run comes from the worker that took it over: it found part of the book done.
    resumed = reports[runs.index(killed)]["counts"]
    print(f"killed run, as resumed: {resumed}")
    assert sum(counts["already_done"] for counts in resumed.values()) >= done_at_kill
    worst = max(peaks, key=peaks.__getitem__)
    print(f"peak requests in any 1 s window: {peaks[worst]} ({worst}; limit {LIMIT})")
    assert max(peaks.values()) <= LIMIT
    assert not any(secret in logs or secret in stored for secret in secrets)
