from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from invoicekit_conformance.matrix import ProviderRun, installed, run_provider
from invoicekit_conformance.profile import load_profile

from invoicekit.registry import installed_providers, load_provider

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parents[1]

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory that installs broken_providers.py and strict_toy_provider.py as providers, through
    real entry points."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "invoicekit_broken-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: invoicekit-broken\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text(
        "[invoicekit.providers]\n"
        "cashaca_drops_last_row = broken_providers:drops_last_row\n"
        "cashaca_blind_retry = broken_providers:blind_retry\n"
        "cashaca_leaky_repr = broken_providers:leaky_repr\n"
        "flowtly_blind_invoice_retry = broken_providers:flowtly_blind_invoice_retry\n"
        "ef_keyed = keyed_providers:keyed\n"
        "ef_lookup_by_number = keyed_providers:lookup_by_number\n"
        "toy_strict = strict_toy_provider:plugin\n"
        "toy_strict_old = strict_toy_provider:old_plugin\n"
    )
    return site


def _without_live_credentials() -> dict[str, str]:
    """This environment less every provider's live credentials: the runs here are about the sandboxes (the
    matrix counts sandbox results only), and a developer's token must not send them to a real account."""
    profiles = [load_profile(load_provider(name)) for name in installed_providers()]
    live = {var for profile in profiles for var in profile.live_credentials.values()}
    return {name: value for name, value in os.environ.items() if name not in live}


# Known strict-mode gaps: scenarios that fail against a strict sandbox because no public source shows a
# behaviour they need. A gap with a -k expression leaves only those scenarios out of the strict run, and
# test_known_strict_gaps_still_fail checks they do fail there (a fixed gap must be taken off this list); a
# gap without one marks the provider's whole strict run as an expected failure (strict xfail: passing fails).
STRICT_GAPS: dict[str, tuple[str, str]] = {
    "cashaca": (
        "(test_concurrent_creates_from_threads and credit_note) or test_concurrent_creates_from_processes",
        "no source shows Cashaca refusing a credit note number already taken, so in strict mode concurrent "
        "credit notes share numbers (docs/providers/cashaca.md)",
    ),
}

# The strict runs use Books only. Strict mode changes what the sandbox serves; the adapter reads it in the same
# flows whichever facade runs them (adapters are sans-I/O: the sync and async runners send the same requests),
# and the default pass proves sync and async alike. Running the whole suite strict a second time with
# AsyncBooks would repeat the same reads at the cost of a full run.
STRICT_MODE = ("--invoicekit-mode", "sync")


def strict_problem(name: str) -> str | None:
    """Asked of a fresh interpreter, like the suite run itself: what is installed, not this test session."""
    code = (
        "import json, sys; from invoicekit_conformance.plugin import strict_problem; "
        "print(json.dumps(strict_problem(sys.argv[1])))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code, name], capture_output=True, text=True, check=True
    )
    problem: str | None = json.loads(done.stdout.strip().splitlines()[-1])
    return problem


Job = tuple[str, str]  # ("default" | "strict" | "gap", provider)


@functools.cache
def _installed() -> list[str]:
    return installed()


def _run(job: Job, started: Callable[[subprocess.Popen[str]], None] | None = None) -> ProviderRun | str:
    """One run of the whole suite; for a strict job whose sandbox cannot be strict, the reason instead."""
    kind, name = job
    if kind == "default":
        # -rs: the output lists each skip's reason (test_conformance_breakage reads Cashaca's).
        return run_provider(name, extra_args=["-rs"], env=_without_live_credentials(), started=started)
    problem = strict_problem(name)
    if problem:
        return problem
    gap = STRICT_GAPS.get(name, ("", ""))[0]
    if kind == "gap":
        # -x: the verdict is "some scenario of the gap still fails", so the first failure settles it (both
        # modes, as before: a race that happens to pass in one still gets every chance to fail).
        return run_provider(name, extra_args=["--invoicekit-strict", "-x", "-k", gap], started=started)
    extra = ["--invoicekit-strict", *STRICT_MODE, *(["-k", f"not ({gap})"] if gap else [])]
    return run_provider(name, extra_args=extra, started=started)


class SuiteRuns:
    """The runs of the whole suite (minutes each) that this session's tests read, each run once.

    Started as soon as collection ends, one at a time in a thread beside the tests: the main pytest process
    keeps one core busy with the rest of the suite and the runs use the other, so on a two-core machine their
    minutes overlap the other tests instead of adding to them. A test asks for its run's result and waits for
    it if need be; a run nobody started (a test selected alone) is run then, in the test's own thread.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="invoicekit-suite-run")
        self._futures: dict[Job, Future[ProviderRun | str]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._current: subprocess.Popen[str] | None = None

    def start(self, jobs: list[Job]) -> None:
        with self._lock:
            for job in jobs:
                if job not in self._futures:
                    self._futures[job] = self._pool.submit(self._background, job)

    def _started(self, process: subprocess.Popen[str]) -> None:
        self._current = process
        if self._stopping:
            _end(process)

    def _background(self, job: Job) -> ProviderRun | str:
        if self._stopping:
            raise RuntimeError("the test session ended before this run started")
        return _run(job, self._started)

    def result(self, job: Job) -> ProviderRun | str:
        with self._lock:
            future = self._futures.get(job)
        return future.result() if future is not None else _run(job)

    def stop(self) -> None:
        """End the session's runs: none starts any more, the one under way is stopped with what it started."""
        self._stopping = True
        for future in self._futures.values():
            future.cancel()
        current = self._current
        if current is not None:
            _end(current)
        self._pool.shutdown(wait=True)


def _end(process: subprocess.Popen[str]) -> None:
    """Stop a run and everything it started (its own process group): SIGINT first, as a Ctrl-C would, so
    pytest tears its fixtures down; SIGKILL for what is left after 30 s (a process that ignores SIGINT, as
    one started in the background by a non-interactive shell does)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


_RUNS = SuiteRuns()


def _jobs_of(item: pytest.Item) -> list[Job]:
    names = item.fixturenames  # type: ignore[attr-defined]
    jobs: list[Job] = []
    if "default_runs" in names:
        jobs += [("default", name) for name in _installed()]
    callspec = getattr(item, "callspec", None)
    if "strict_run" in names and callspec is not None:
        jobs.append(("strict", str(callspec.params["provider"])))
    if "gap_run" in names and callspec is not None and callspec.params["gapped"] in _installed():
        jobs.append(("gap", str(callspec.params["gapped"])))
    return jobs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests that wait for a suite run go last (in their order): the others run meanwhile, beside it.
    items.sort(key=lambda item: bool(_waits(item)))


def _waits(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return any(name in names for name in ("default_runs", "strict_run", "gap_run"))


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    jobs = [job for item in session.items for job in _jobs_of(item)]
    if jobs:
        # Default runs first: the matrix and several tests wait for all of them.
        _RUNS.start(sorted(dict.fromkeys(jobs), key=lambda job: job[0] != "default"))


def pytest_unconfigure(config: pytest.Config) -> None:
    _RUNS.stop()


@pytest.fixture(scope="session")
def default_runs() -> dict[str, ProviderRun]:
    """The whole suite run once per installed provider against its default sandbox, sync and async, as
    `python -m invoicekit_conformance.matrix` runs it (plus ``-rs``, so the output lists each skip's reason).

    The one such pass of the session: the matrix is rendered from it, and the tests about what a bundled
    provider's run passes and skips read it instead of running the scenarios again.
    """
    runs = {name: _RUNS.result(("default", name)) for name in _installed()}
    return {name: run for name, run in runs.items() if isinstance(run, ProviderRun)}


@pytest.fixture
def strict_run(provider: str) -> ProviderRun | str:
    """The whole suite (less its known gaps) on ``provider``'s strict sandbox, or why it has no strict mode."""
    return _RUNS.result(("strict", provider))


@pytest.fixture
def gap_run(gapped: str) -> ProviderRun | str:
    """The scenarios of ``gapped``'s known strict gap, on its strict sandbox, up to the first failure."""
    if gapped not in _installed():
        pytest.skip(f"{gapped} is not installed")
    return _RUNS.result(("gap", gapped))


def outcomes(run: ProviderRun, scenario: str, **params: str) -> dict[str, str]:
    """``mode -> outcome`` of one scenario (with these parameters) in a provider's run, sandbox results only."""
    return {
        r["mode"]: r["outcome"]
        for r in run.sandbox_results
        if r["scenario"] == scenario and all(r["params"].get(k) == v for k, v in params.items())
    }


@pytest.fixture
def run_suite(broken_site: Path) -> Runner:
    """Run the conformance suite in a fresh interpreter, as an adapter author would."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken_site), str(TESTS)])}
        env.pop("INVOICEKIT_CASHACA_TOKEN", None)
        return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "pytest", "--pyargs", "invoicekit_conformance", "-p", "no:cacheprovider", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=False,
        )

    return run
