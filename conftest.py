"""Session-wide test setup, seen by every test directory (tests, providers, conformance/tests).

When the official Peppol sources are here (``../shared/peppol-rules``, read in place), a rule pack is built
from them once per session into a temporary directory, and ``INVOICEKIT_RULES_DIR`` points at that directory
for the whole session: every ``invoicekit.ubl.validate()`` call, a provider test's included, then runs the
CEN and Peppol layers as well as XSD. Without the sources or saxonche nothing is set, and validate() runs
the XSD layer and the pre-flight as it would for a user with no pack installed. Tests about running without
a pack point ``INVOICEKIT_RULES_DIR`` elsewhere themselves (monkeypatch), which still works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from invoicekit.ubl import RulePack, install_pack
from invoicekit.ubl._packs import ENV_RULES_DIR
from tests.ubl._shared import missing_modules, shared_path


@pytest.fixture(scope="session")
def session_rule_pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    """A rule pack built from the official 3.0.19 sources with SchXslt 1.9.5, once per session."""
    if missing_modules("saxonche"):
        pytest.skip("building a rule pack needs saxonche, part of the 'validate' extra, which is not installed")
    sources = shared_path("peppol-rules", "bis-3.0.19")
    schxslt = shared_path("peppol-rules", "schxslt-1.9.5")
    started = time.perf_counter()
    pack = install_pack(sources, schxslt, directory=tmp_path_factory.mktemp("rules"))
    print(f"\nrule pack {pack.label} built in {time.perf_counter() - started:.2f} s")  # visible with -s
    return pack


@pytest.fixture(scope="session", autouse=True)
def _session_rules_dir(request: pytest.FixtureRequest) -> Iterator[None]:
    try:
        pack: RulePack = request.getfixturevalue("session_rule_pack")
    except pytest.skip.Exception:
        yield  # no sources or no saxonche: validate() runs without a pack, as for a user who installed none
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_RULES_DIR, str(pack.path.parent))
        yield
