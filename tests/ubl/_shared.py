"""Where the official test input is: ../shared, read in place and never copied into the repository."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """``$INVOICEKIT_SHARED_DIR``, else ``<repo>/../shared``, else the nearest parent's ``shared/`` with seeds/."""
    configured = os.environ.get("INVOICEKIT_SHARED_DIR", "").strip()
    if configured:
        return Path(configured)
    candidate = _REPO.parent / "shared"
    if candidate.is_dir():
        return candidate
    for parent in _REPO.parents:
        if (parent / "shared" / "seeds").is_dir():
            return parent / "shared"
    return None


def shared_path(*parts: str) -> Path:
    """A folder of ../shared, or a skip naming what is missing."""
    base = shared_dir()
    path = base.joinpath(*parts) if base is not None else None
    if path is None or not path.exists():
        where = path if path is not None else Path("../shared", *parts)
        pytest.skip(f"official test input not available here ({where} is absent)")
    return path


def missing_modules(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]
