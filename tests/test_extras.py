"""A submodule whose extra is missing: not an attribute of the package, and an import error naming the extra."""

from __future__ import annotations

import importlib
import sys

import pytest

import invoicekit
from invoicekit.errors import ConfigurationError


@pytest.fixture
def without_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a core-only install: typer cannot be imported, and invoicekit.cli was never imported."""
    monkeypatch.setitem(sys.modules, "typer", None)  # find_spec answers None, `import typer` fails
    monkeypatch.delitem(sys.modules, "invoicekit.cli", raising=False)
    monkeypatch.delattr(invoicekit, "cli", raising=False)


@pytest.mark.usefixtures("without_typer")
def test_hasattr_answers_false_and_the_import_names_the_extra() -> None:
    assert hasattr(invoicekit, "cli") is False
    with pytest.raises(AttributeError, match=r"pip install 'invoicekit\[cli\]'"):
        invoicekit.cli  # noqa: B018
    with pytest.raises(ConfigurationError, match=r"^the invoicekit command needs the 'cli' extra"):
        importlib.import_module("invoicekit.cli")
    assert "invoicekit.cli" not in sys.modules


def test_an_installed_extra_is_reached_as_an_attribute() -> None:
    assert invoicekit.cli.__name__ == "invoicekit.cli"  # the dev install has every extra
    assert hasattr(invoicekit, "no_such_module") is False
