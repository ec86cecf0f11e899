"""``invoicekit new-provider NAME``: write the skeleton of a provider distribution.

The skeleton is an adapter (clients create, get and list, as flows), a sandbox built on the
:mod:`invoicekit.sandbox` kit with its ``provenance.toml``, a conformance profile, tests that run the
conformance suite, a README saying what to fill in, and a ``pyproject.toml`` with the
``invoicekit.providers`` entry point and a pin on the running invoicekit's release line. It passes the
suite as written, in assumed and in strict mode.

The files are package data (``invoicekit/_templates/provider``); their text and their paths are filled
with :class:`string.Template` (``src/invoicekit_$name/``), and the ``.tmpl`` suffix keeps the templates
away from linters and test collectors.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from invoicekit._version import __version__
from invoicekit.errors import ConfigurationError

__all__ = ["Scaffold", "compatible_pin", "write_provider"]

_TEMPLATES = ("invoicekit", "_templates/provider")
_SUFFIX = ".tmpl"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def compatible_pin(version: str) -> str:
    """``>=X.Y,<...`` up to the next release that may break plugins: the next minor before 1.0, else the next major."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ConfigurationError(f"cannot derive a version pin from invoicekit version {version!r}")
    major, minor = int(match[1]), int(match[2])
    upper = f"0.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


@dataclass(frozen=True)
class Scaffold:
    """What was written: the distribution's folder and its files, relative to it."""

    name: str
    folder: Path
    files: tuple[str, ...]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ConfigurationError(
            f"provider name {name!r} is not valid: use a lower-case Python identifier "
            "(letters, digits and underscores, starting with a letter, not a keyword), e.g. 'acme'"
        )


def _templates(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            found += _templates(entry, relative + "/")
        elif entry.name.endswith(_SUFFIX):
            found.append((relative.removesuffix(_SUFFIX), entry))
    return found


def write_provider(name: str, path: Path | None = None, *, force: bool = False) -> Scaffold:
    """Write the skeleton of provider ``name`` into ``path`` (default ``./invoicekit-NAME``).

    Refuses an invalid name, and a ``path`` that exists and is not empty unless ``force`` (then the
    skeleton's files are overwritten; other files are left alone), with a :class:`ConfigurationError`.
    """
    _check_name(name)
    dist = "invoicekit-" + name.replace("_", "-")
    folder = Path(path) if path is not None else Path.cwd() / dist
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ConfigurationError(f"{folder} exists and is not empty: choose another --path, or pass --force")
    values = {
        "name": name,
        "dist": dist,
        "folder": folder.name,
        "title": name.replace("_", " ").title(),
        "classname": "".join(part.title() for part in name.split("_")),
        "env_token": f"INVOICEKIT_{name.upper()}_TOKEN",
        "invoicekit_version": __version__,
        "invoicekit_pin": compatible_pin(__version__),
    }
    root = resources.files(_TEMPLATES[0]).joinpath(_TEMPLATES[1])
    written: list[str] = []
    for relative, template in _templates(root):
        target = Template(relative).substitute(values)
        text = Template(template.read_text(encoding="utf-8")).substitute(values)
        destination = folder / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(target)
    return Scaffold(name=name, folder=folder, files=tuple(written))
