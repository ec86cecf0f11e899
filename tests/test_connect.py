"""connect(): credentials checked against what the adapter declares, hook plugins checked against the specs."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit.errors import ConfigurationError
from invoicekit.hooks import hookimpl
from invoicekit.registry import installed_providers, refresh

NO_NETWORK = httpx.MockTransport(lambda request: httpx.Response(500))


def test_a_misspelt_credential_names_the_accepted_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        invoicekit.connect("cashaca", tokn="abc", transport=NO_NETWORK)
    message = str(info.value)
    assert "cashaca does not take tokn=" in message
    assert "did you mean token=?" in message
    assert "it accepts: token=, base_url=, money_account_id=" in message
    assert "abc" not in message  # the value may be a secret


def test_a_misspelt_credential_is_refused_next_to_a_sandbox_too() -> None:
    with pytest.raises(ConfigurationError, match="eenvoudigfactureren does not take apikey="):
        invoicekit.connect_async("eenvoudigfactureren", sandbox=True, apikey="abc")


def test_a_missing_credential_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"cashaca needs token=; it accepts: token="):
        invoicekit.connect("cashaca", transport=NO_NETWORK)


def test_the_sandbox_supplies_the_credentials() -> None:
    with invoicekit.connect("cashaca", sandbox=True) as books:
        assert list(books.clients.list()) == []


@pytest.mark.parametrize("name", sorted(installed_providers()))
def test_declared_credentials_match_create_adapter(name: str) -> None:
    """A declaration that drifted from the adapter's signature would refuse good keywords or pass bad ones."""
    plugin = installed_providers()[name]
    assert plugin.credentials, f"{name} declares no credential names"
    parameters = inspect.signature(plugin.create_adapter).parameters
    assert set(plugin.credentials) == {p for p in parameters if parameters[p].kind is not inspect.Parameter.VAR_KEYWORD}


# --- hooks -----------------------------------------------------------------------------------------------
class Misspelt:
    @hookimpl
    def invoicekit_before_requst(self, provider: str, request: httpx.Request) -> None:
        raise AssertionError("never called")


class MisspeltWithoutMarker:
    def invoicekit_after_respons(self, provider: str, request: httpx.Request, response: httpx.Response) -> None:
        raise AssertionError("never called")


class WrongArgument:
    @hookimpl
    def invoicekit_on_retry(self, provider: str, attempts: int) -> None:
        raise AssertionError("never called")


class Optional:
    @hookimpl(optionalhook=True)
    def invoicekit_from_the_future(self) -> None:
        raise AssertionError("never called")


class Unmarked:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def invoicekit_before_request(self, provider: str, request: httpx.Request) -> None:
        self.seen.append(request.url.path)


@pytest.mark.parametrize(
    ("plugin", "hook"),
    [
        (Misspelt(), "invoicekit_before_requst"),
        (MisspeltWithoutMarker(), "invoicekit_after_respons"),
        (WrongArgument(), "invoicekit_on_retry"),
    ],
)
def test_a_hook_that_matches_no_spec_is_refused(plugin: object, hook: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        invoicekit.connect("cashaca", sandbox=True, plugins=[plugin])
    message = str(info.value)
    assert type(plugin).__name__ in message
    assert hook in message
    assert "invoicekit_before_request" in message  # the hooks that exist are listed


def test_an_optional_hook_and_an_unmarked_valid_one_are_accepted() -> None:
    unmarked = Unmarked()
    with invoicekit.connect("cashaca", sandbox=True, plugins=[Optional(), unmarked]) as books:
        list(books.clients.list())
    assert unmarked.seen == ["/api/v2/clients.json"]


def _publish_hook(site: Path, source: str) -> None:
    """Publish module ik_hook_plugin in the invoicekit.hooks entry point group, as an installed package would."""
    (site / "ik_hook_plugin.py").write_text(source)
    dist = site / "ik_hook_plugin-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ik-hook-plugin\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text("[invoicekit.hooks]\ncounter = ik_hook_plugin\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    refresh()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("ik_hook_plugin", None)
        refresh()


def test_entry_point_hooks_load_unless_turned_off(site: Path) -> None:
    _publish_hook(
        site,
        "from invoicekit.hooks import hookimpl\n"
        "seen = []\n"
        "@hookimpl\n"
        "def invoicekit_before_request(provider, request):\n"
        "    seen.append(provider)\n",
    )
    with invoicekit.connect("cashaca", sandbox=True) as books:
        list(books.clients.list())
    published: Any = sys.modules["ik_hook_plugin"]
    assert published.seen == ["cashaca"]
    with invoicekit.connect("cashaca", sandbox=True, load_entry_point_hooks=False) as books:
        list(books.clients.list())
    assert published.seen == ["cashaca"]


def test_a_hook_installed_while_the_process_runs_is_seen_after_refresh(site: Path) -> None:
    with invoicekit.connect("cashaca", sandbox=True):
        pass  # the entry points of this sys.path are read (and kept) here
    _publish_hook(
        site,
        "seen = []\ndef invoicekit_before_request(provider, request):\n    seen.append(provider)\n",
    )
    refresh()
    with invoicekit.connect("cashaca", sandbox=True) as books:
        list(books.clients.list())
    published: Any = sys.modules["ik_hook_plugin"]
    assert published.seen == ["cashaca"]


def test_a_broken_entry_point_hook_is_a_configuration_error_that_can_be_turned_off(site: Path) -> None:
    _publish_hook(site, "import a_module_that_is_not_installed\n")
    with pytest.raises(ConfigurationError, match=r"'invoicekit.hooks'.*load_entry_point_hooks=False"):
        invoicekit.connect("cashaca", sandbox=True)
    with invoicekit.connect("cashaca", sandbox=True, load_entry_point_hooks=False) as books:
        assert list(books.clients.list()) == []


def test_connect_imports_only_the_named_provider() -> None:
    """connect("cashaca") loads Cashaca's entry point alone: not EF's adapter, and so not lxml (issue 13);
    nor httpcore, which its client's transport imports on the first request; nor the number and code
    tables (python-stdnum, iso3166, iso4217), which the models import when they first check a number or a
    code; nor anyio, which only an async retry's wait needs."""
    code = (
        "import sys, invoicekit\n"
        "with invoicekit.connect('cashaca', token='t'):\n"
        "    pass\n"
        "later = ('lxml', 'invoicekit_eenvoudigfactureren', 'httpcore', 'stdnum', 'iso3166', 'iso4217', 'anyio')\n"
        "print(sorted(m for m in later if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert out.strip() == "[]", f"connect('cashaca') imported {out.strip()}"
