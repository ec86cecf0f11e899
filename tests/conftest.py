from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicekit.registry import refresh

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def toy_entry_point(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Registers tests/toy_provider.py as provider "toy" the way an installed package would: a
    *.dist-info folder with an entry_points.txt on sys.path. invoicekit finds it only through the
    entry point group."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "invoicekit_toy-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: invoicekit-toy\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text("[invoicekit.providers]\ntoy = toy_provider:plugin\n")
    added = [str(site), str(TESTS)]
    sys.path[:0] = added
    refresh()
    try:
        yield "toy"
    finally:
        for entry in added:
            sys.path.remove(entry)
        refresh()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
