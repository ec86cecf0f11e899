"""The pytest plugin of the conformance suite (entry point ``invoicekit_conformance`` in ``pytest11``).

It only adds command-line options, markers and the JSON report; the scenarios and their fixtures live in
:mod:`invoicekit_conformance.scenarios` and run with::

    pytest --pyargs invoicekit_conformance --invoicekit-provider NAME
    pytest --pyargs invoicekit_conformance --invoicekit-provider NAME --invoicekit-strict

With ``--invoicekit-strict`` every sandbox is built with ``strict=True``: assumed fields, refusals and
endpoints of its provenance data are off, so an adapter that leans on something only our sandbox invents
fails there (see :mod:`invoicekit.sandbox._provenance`).

Being loaded in every pytest run of an environment where the suite is installed, it does nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PROVIDERS_KEY", "RESULTS_KEY", "strict_problem"]

#: Per provider: title and declared capabilities, filled in by the scenarios' fixtures.
PROVIDERS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
#: Per test item: what the feature matrix needs to know about its outcome.
RESULTS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("invoicekit-conformance", "invoicekit conformance suite")
    group.addoption(
        "--invoicekit-provider",
        action="append",
        default=[],
        metavar="NAME",
        help="run the conformance scenarios against this installed provider (repeat for several)",
    )
    group.addoption(
        "--invoicekit-mode",
        choices=("sync", "async", "both"),
        default="both",
        help="run each scenario with Books, AsyncBooks or both (default: both)",
    )
    group.addoption(
        "--invoicekit-seed",
        type=int,
        default=2026,
        help="base seed of the sandboxes' fault injection (default: 2026)",
    )
    group.addoption(
        "--invoicekit-strict",
        action="store_true",
        default=False,
        help="build each provider's sandbox in strict mode: only what its docs or a public client show is served",
    )
    group.addoption(
        "--invoicekit-race",
        metavar="PROCESSES,THREADS,CREATES,FAULT_RATE",
        default="2,3,2,0.2",
        help="size of the exactly-once races: OS processes, threads each, creates per thread, fault rate "
        "(default 2,3,2,0.2, quick; the issue's acceptance run is 4,50,1,0.2: see benchmarks/exactly_once.py)",
    )
    group.addoption(
        "--invoicekit-race-servers",
        metavar="N",
        type=int,
        default=2,
        help="how many `invoicekit sandbox serve NAME --db FILE` processes on one SQLite file serve the race "
        "from OS processes (default 2)",
    )
    group.addoption(
        "--invoicekit-race-deadline",
        metavar="SECONDS",
        type=float,
        default=120.0,
        help="how long a worker process of a race may take before it counts as a hang (default 120)",
    )
    group.addoption(
        "--invoicekit-race-ungated",
        action="store_true",
        default=False,
        help="also run the exactly-once races for kinds whose create_by_key is not declared (without keys): a "
        "score for an adapter on its way to key support, not a conformance verdict",
    )
    group.addoption(
        "--invoicekit-report",
        metavar="PATH",
        default=None,
        help="write the results as JSON to PATH (what `python -m invoicekit_conformance.matrix` reads)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live: talks to a real provider account (skipped unless credentials are in the environment)"
    )
    config.addinivalue_line(
        "markers",
        "invoicekit_scenario(covers, requires, sandbox_only): a conformance scenario, gated on capabilities",
    )
    config.addinivalue_line("markers", "invoicekit_last: run after every other conformance scenario")
    config.addinivalue_line("markers", "invoicekit_live_probe: always runs live (says why it cannot)")
    config.stash[PROVIDERS_KEY] = {}
    config.stash[RESULTS_KEY] = {}
    wanted = config.getoption("invoicekit_provider", default=None) or []
    if wanted:
        # Checked up front: a typo should be one clear message, not an error in every scenario.
        from invoicekit.registry import installed_providers

        installed = installed_providers()
        unknown = [name for name in wanted if name not in installed]
        if unknown:
            raise pytest.UsageError(
                f"no invoicekit provider named {unknown[0]!r}; installed: {', '.join(installed) or 'none'}"
            )
        if config.getoption("invoicekit_strict", default=False):
            for name in wanted:
                problem = strict_problem(name)
                if problem:
                    raise pytest.UsageError(f"--invoicekit-strict: {problem}")


def strict_problem(name: str) -> str | None:
    """Why the sandbox of provider ``name`` cannot run in strict mode, or None when it can.

    Checked once up front, so a provider that is not ready says so in one clear line instead of one error
    per scenario.
    """
    from invoicekit.errors import InvoicekitError
    from invoicekit.sandbox import create_sandbox

    try:
        sandbox = create_sandbox(name, strict=True)
    except InvoicekitError as exc:
        return str(exc)
    sandbox.close()
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    marker = item.get_closest_marker("invoicekit_scenario")
    callspec = getattr(item, "callspec", None)
    if marker is None or callspec is None or callspec.params.get("conformance_case") is None:
        return
    case = callspec.params["conformance_case"]
    results = item.config.stash[RESULTS_KEY]
    entry = results.setdefault(
        item.nodeid,
        {
            "provider": case.provider,
            "where": case.where,
            "mode": case.mode,
            "strict": bool(item.config.getoption("invoicekit_strict", default=False)),
            "scenario": getattr(item, "originalname", item.name),
            "params": {k: str(v) for k, v in callspec.params.items() if k != "conformance_case"},
            "covers": [str(c) for c in marker.kwargs.get("covers", ())],
            "behaviour": marker.kwargs.get("behaviour"),
            "outcome": "passed",
            "message": "",
        },
    )
    if report.failed:
        entry["outcome"] = "failed"
        excinfo = call.excinfo
        text = excinfo.exconly() if excinfo is not None else str(report.longrepr)
        entry["message"] = (entry["message"] + "\n" if entry["message"] else "") + text[:2000]
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
        longrepr = report.longrepr
        entry["message"] = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    entry["properties"] = {key: value for key, value in item.user_properties}


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("invoicekit_report")
    if not path:
        return
    data = {
        "providers": session.config.stash[PROVIDERS_KEY],
        "results": sorted(session.config.stash[RESULTS_KEY].values(), key=lambda r: (r["provider"], r["scenario"])),
    }
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")
