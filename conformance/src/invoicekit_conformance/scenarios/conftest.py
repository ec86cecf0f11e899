"""Fixtures of the scenarios: one :class:`~invoicekit_conformance._target.Target` per scenario and case.

Every scenario runs once per (provider, place, mode): place is the provider's sandbox, or a live account
when its credentials are in the environment (marked ``live``, skipped otherwise); mode is sync (Books) or
async (AsyncBooks). Without ``--invoicekit-provider`` every scenario is skipped, with the reason.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from invoicekit.registry import installed_providers, load_provider
from invoicekit_conformance._secrets import SecretWatch
from invoicekit_conformance._target import Case, Mode, Target, Where
from invoicekit_conformance.plugin import PROVIDERS_KEY
from invoicekit_conformance.profile import load_profile


def _live_ready(provider: str) -> bool:
    """Whether every live credential variable of the provider's profile is set."""
    try:
        profile = load_profile(load_provider(provider))
    except Exception:  # an unknown provider fails in the target fixture, with the registry's message
        return False
    variables = profile.live_credentials.values()
    return bool(variables) and all(os.environ.get(var) for var in variables)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    providers: list[str] = metafunc.config.getoption("invoicekit_provider")
    if not providers:
        metafunc.parametrize("conformance_case", [None], ids=["no-provider"], indirect=True)
        return
    chosen = metafunc.config.getoption("invoicekit_mode")
    modes: tuple[Mode, ...] = ("sync", "async") if chosen == "both" else (chosen,)
    probe = metafunc.definition.get_closest_marker("invoicekit_live_probe") is not None
    cases: list[Case] = []
    for provider in providers:
        # Without live credentials only the probe gets a live case, so the run shows one skip that says
        # which variables to set, instead of one per scenario.
        places: tuple[Where, ...] = (
            ("live",) if probe else ("sandbox", "live") if _live_ready(provider) else ("sandbox",)
        )
        cases += [Case(provider, where, mode) for where in places for mode in modes]
    params = [
        pytest.param(case, id=case.id, marks=[pytest.mark.live] if case.where == "live" else []) for case in cases
    ]
    metafunc.parametrize("conformance_case", params, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The secrets scenario searches everything the run logged and raised: it goes last.
    items.sort(key=lambda item: item.get_closest_marker("invoicekit_last") is not None)


@pytest.fixture
def conformance_case(request: pytest.FixtureRequest) -> Case | None:
    case: Case | None = request.param
    return case


@pytest.fixture(scope="session")
def conformance_watch() -> Iterator[SecretWatch]:
    watch = SecretWatch()
    watch.start_logging()
    try:
        yield watch
    finally:
        watch.stop_logging()


@pytest.fixture(scope="session")
def conformance_portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as portal:
        yield portal


@pytest.fixture
def target(
    request: pytest.FixtureRequest,
    conformance_case: Case | None,
    conformance_watch: SecretWatch,
    conformance_portal: BlockingPortal,
) -> Iterator[Target]:
    if conformance_case is None:
        installed = ", ".join(installed_providers()) or "none"
        pytest.skip(f"no provider given: run with --invoicekit-provider NAME (installed: {installed})")
    case = conformance_case
    marker = request.node.get_closest_marker("invoicekit_scenario")
    plugin = load_provider(case.provider)
    profile = load_profile(plugin)
    if case.where == "live":
        if marker is not None and marker.kwargs.get("sandbox_only"):
            pytest.skip(f"sandbox only: {marker.kwargs['sandbox_only']}")
        if not profile.live_credentials:
            pytest.skip(f"live: the conformance profile of {case.provider} names no credential variables")
        missing = [var for var in profile.live_credentials.values() if not os.environ.get(var)]
        if missing:
            pytest.skip(f"live: set {', '.join(sorted(missing))} to run against a real {case.provider} account")
    seed = request.config.getoption("invoicekit_seed") + zlib.crc32(request.node.name.encode())
    made = Target(
        case,
        plugin,
        profile,
        watch=conformance_watch,
        portal=conformance_portal,
        seed=seed,
        node=request.node,
        strict=bool(request.config.getoption("invoicekit_strict")),
    )
    try:
        request.config.stash[PROVIDERS_KEY].setdefault(
            case.provider,
            {
                "title": plugin.title,
                "declared": sorted(c.value for c in made.capabilities),
                "key_fields": dict(made.books.adapter.reconciliation_fields),
            },
        )
        if marker is not None:
            needed = marker.kwargs.get("requires", ())
            if request.config.getoption("invoicekit_race_ungated"):
                # Scoring an adapter without key support: its races run, without keys (see test_exactly_once).
                needed = [c for c in needed if not c.value.endswith(".create_by_key")]
            made.need(*needed)
        yield made
    finally:
        made.close()
