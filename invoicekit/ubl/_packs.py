"""Rule packs: an official Peppol BIS release, compiled once, stored as versioned data.

A pack is a directory ``peppol-bis-<release>/`` under the rules directory holding:

* ``PEPPOL-EN16931-UBL.xsl`` and ``CEN-EN16931-UBL.xsl``, the release's two UBL schematron files compiled to
  XSLT 2 by SchXslt's ``pipeline-for-svrl.xsl`` under saxonche;
* ``pack.json``: the release number, the CEN release it bundles, the publication and mandatory dates (from
  :data:`invoicekit.ubl.RELEASES`), the sha256 of each source file and of each compiled file, the SchXslt
  version and when it was built.

The rules directory is ``$INVOICEKIT_RULES_DIR``, else the user's cache directory (XDG_CACHE_HOME on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) + ``invoicekit/rules``. A pack is built in a
temporary directory next to its final place and renamed into place, so a reader never sees half a pack.

:func:`fetch_pack` downloads the sources of a release and SchXslt from their upstream locations (GitHub),
each file pinned by sha256; a file whose digest differs is refused and nothing is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from invoicekit.ubl._artefacts import Artefact, RulePackError, compile_check, compile_schematron
from invoicekit.ubl._releases import release_info, version_key
from invoicekit.ubl._report import Layer
from invoicekit.xmlsafe import XmlError, parse_xml

__all__ = [
    "ENV_RULES_DIR",
    "FETCH_PINS",
    "RulePack",
    "RulePackError",
    "fetch_pack",
    "install_pack",
    "installed_packs",
    "newest_pack",
    "rules_dir",
]

ENV_RULES_DIR = "INVOICEKIT_RULES_DIR"
PACK_FORMAT = 1
PEPPOL_SCH = "PEPPOL-EN16931-UBL.sch"
CEN_SCH = "CEN-EN16931-UBL.sch"
_PIPELINE = "pipeline-for-svrl.xsl"
_MANIFEST = "pack.json"
_PACK_DIR = re.compile(r"^peppol-bis-([0-9]+(?:\.[0-9]+)*)$")
_PEPPOL_RELEASE = re.compile(r"\brelease\s+(3\.0\.[0-9]+)\b")
_CEN_RELEASE = re.compile(r"Schematron version ([0-9]+(?:\.[0-9]+)+)")
_SCHXSLT_IN_PATH = re.compile(r"^schxslt-([0-9]+(?:\.[0-9]+)+)$")
# A schematron source of an official release is ~300 KB; the bound only keeps a wrong path from being read.
_MAX_SOURCE_BYTES = 32 * 1024 * 1024

INSTALL_HINT = "invoicekit ubl rules install SOURCES --schxslt DIR (or: invoicekit ubl rules fetch VERSION)"


def rules_dir() -> Path:
    """Where packs live: ``$INVOICEKIT_RULES_DIR``, else ``<user cache dir>/invoicekit/rules``."""
    configured = os.environ.get(ENV_RULES_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    # Written by hand (three platform rules) rather than adding platformdirs for one directory.
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "invoicekit" / "rules"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class RulePack:
    """One installed pack (see the module docstring for its layout)."""

    path: Path
    release: str
    cen_release: str
    published: date | None
    mandatory: date | None
    sources: Mapping[str, str]
    compiled: Mapping[str, str]
    schxslt: str
    built: str

    @property
    def label(self) -> str:
        """``Peppol BIS 3.0.19 (CEN 1.3.14.1), sources sha256:2840f5158f7b``: what the report names."""
        return f"Peppol BIS {self.release} (CEN {self.cen_release}), sources sha256:{self.sources_digest[:12]}"

    @property
    def sources_digest(self) -> str:
        """One digest over the source digests, in name order: identifies exactly what the pack was built from."""
        joined = "\n".join(f"{name} {digest}" for name, digest in sorted(self.sources.items()))
        return hashlib.sha256(joined.encode()).hexdigest()

    def artefacts(self) -> list[Artefact]:
        """The CEN and Peppol layers of this pack, each compiled file checked against its recorded sha256."""
        result = []
        for layer, name in ((Layer.CEN, CEN_SCH), (Layer.PEPPOL, PEPPOL_SCH)):
            xsl = self.path / _xsl_name(name)
            _verify_once(xsl, self.compiled.get(xsl.name, ""))
            version = self.cen_release if layer is Layer.CEN else self.release
            kind = "CEN EN 16931 UBL" if layer is Layer.CEN else "Peppol BIS"
            result.append(Artefact(layer, xsl, f"{kind} {version} from rule pack {self.label}"))
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PACK_FORMAT,
            "release": self.release,
            "cen_release": self.cen_release,
            "published": self.published.isoformat() if self.published else None,
            "mandatory": self.mandatory.isoformat() if self.mandatory else None,
            "sources_sha256": dict(self.sources),
            "compiled_sha256": dict(self.compiled),
            "schxslt": self.schxslt,
            "built": self.built,
        }


def _xsl_name(sch_name: str) -> str:
    return sch_name.removesuffix(".sch") + ".xsl"


_verified: dict[tuple[Path, int, int], None] = {}


def _verify_once(path: Path, expected: str) -> None:
    try:
        stat = path.stat()
    except OSError as exc:
        raise RulePackError(f"the rule pack file {path} cannot be read: {exc.strerror}") from None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key in _verified:
        return
    if _sha256(path) != expected:
        raise RulePackError(f"{path} does not match the sha256 its pack.json records: reinstall the pack")
    _verified[key] = None


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _load(path: Path) -> RulePack:
    manifest = path / _MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("format") != PACK_FORMAT:
            raise RulePackError(f"{manifest}: unknown pack format {data.get('format')!r}: reinstall the pack")
        pack = RulePack(
            path=path,
            release=str(data["release"]),
            cen_release=str(data["cen_release"]),
            published=_date(data.get("published")),
            mandatory=_date(data.get("mandatory")),
            sources=dict(data["sources_sha256"]),
            compiled=dict(data["compiled_sha256"]),
            schxslt=str(data["schxslt"]),
            built=str(data["built"]),
        )
        version_key(pack.release)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RulePackError(f"{manifest} is not a readable rule pack manifest ({exc}): reinstall the pack") from None
    return pack


def installed_packs(directory: Path | None = None) -> list[RulePack]:
    """Every pack in the rules directory, newest release first. A broken pack is an error, not skipped."""
    base = directory if directory is not None else rules_dir()
    if not base.is_dir():
        return []
    packs = [_load(child) for child in base.iterdir() if _PACK_DIR.match(child.name) and child.is_dir()]
    return sorted(packs, key=lambda pack: version_key(pack.release), reverse=True)


def newest_pack(directory: Path | None = None) -> RulePack | None:
    packs = installed_packs(directory)
    return packs[0] if packs else None


# --- building ---------------------------------------------------------------------------------------------


def _find_sources(sources: Path) -> Path:
    """The folder holding the two UBL .sch files: SOURCES itself, or its sch/ (a release's rules/ tree)."""
    for candidate in (sources, sources / "sch", sources / "rules" / "sch"):
        if (candidate / PEPPOL_SCH).is_file() and (candidate / CEN_SCH).is_file():
            return candidate
    raise RulePackError(f"{sources} holds no {PEPPOL_SCH} and {CEN_SCH} (give a release's rules/ or rules/sch/ folder)")


def _find_pipeline(schxslt: Path) -> Path:
    for candidate in (
        schxslt,
        schxslt / "xslt" / "2.0",
        schxslt / "core" / "src" / "main" / "resources" / "xslt" / "2.0",
    ):
        if (candidate / _PIPELINE).is_file():
            return candidate / _PIPELINE
    raise RulePackError(f"{schxslt} holds no SchXslt XSLT 2.0 {_PIPELINE} (give SchXslt's folder or its xslt/2.0/)")


def _schxslt_version(pipeline: Path) -> str:
    digest = _sha256(pipeline)
    for version, pins in _SCHXSLT_PINS.items():
        if pins.get(_PIPELINE) == digest:
            return version
    for part in reversed(pipeline.parts):
        found = _SCHXSLT_IN_PATH.match(part)
        if found:
            return found.group(1)
    return f"unknown (pipeline sha256:{digest[:12]})"


def _read_source(path: Path, header: re.Pattern[str], what: str) -> tuple[str, str, str]:
    """(text for saxon, sha256, the version its header states).

    Saxon gets the hardened parser's re-serialisation, so no DTD or entity of a source reaches it.
    """
    data = path.read_bytes()
    try:
        root = parse_xml(data, max_bytes=_MAX_SOURCE_BYTES)
    except XmlError as exc:
        raise RulePackError(f"{path}: {exc}") from None
    found = header.search(data[:4096].decode("utf-8", errors="replace"))
    if found is None:
        raise RulePackError(f"{path} does not state its {what} in its header")
    return etree.tostring(root, encoding="unicode"), hashlib.sha256(data).hexdigest(), found.group(1)


def install_pack(sources: Path, schxslt: Path, *, directory: Path | None = None) -> RulePack:
    """Build a pack from an official release's ``rules/`` (or ``rules/sch/``) folder with SchXslt; returns it.

    The release number and the bundled CEN release are read from the sources themselves; an existing pack of
    the same release is replaced.
    """
    sch = _find_sources(sources)
    pipeline = _find_pipeline(schxslt)
    peppol_text, peppol_digest, release = _read_source(sch / PEPPOL_SCH, _PEPPOL_RELEASE, "release ('release 3.0.x')")
    cen_text, cen_digest, cen_release = _read_source(sch / CEN_SCH, _CEN_RELEASE, "version ('Schematron version x')")
    known = release_info(release)

    base = directory if directory is not None else rules_dir()
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=base))
    try:
        compiled: dict[str, str] = {}
        for name, text in ((PEPPOL_SCH, peppol_text), (CEN_SCH, cen_text)):
            xsl = staging / _xsl_name(name)
            xsl.write_text(compile_schematron(pipeline, text, name), encoding="utf-8")
            compile_check(xsl)
            compiled[xsl.name] = _sha256(xsl)
        final = base / f"peppol-bis-{release}"
        pack = RulePack(
            path=final,
            release=release,
            cen_release=cen_release,
            published=known.published if known else None,
            mandatory=known.mandatory if known else None,
            sources={PEPPOL_SCH: peppol_digest, CEN_SCH: cen_digest},
            compiled=compiled,
            schxslt=_schxslt_version(pipeline),
            built=datetime.now(UTC).replace(microsecond=0).isoformat(),
        )
        (staging / _MANIFEST).write_text(json.dumps(pack.to_json(), indent=2) + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return pack


# --- fetching ---------------------------------------------------------------------------------------------

_PEPPOL_RAW = "https://raw.githubusercontent.com/OpenPEPPOL/peppol-bis-invoice-3/v{version}/rules/sch/"
_SCHXSLT_RAW = "https://raw.githubusercontent.com/schxslt/schxslt/v{version}/core/src/main/resources/xslt/2.0/"

# sha256 of the official files, computed from copies of the tagged releases (OpenPEPPOL/peppol-bis-invoice-3
# tag v3.0.19, rules/sch; schxslt/schxslt tag v1.9.5, core/src/main/resources/xslt/2.0). A release is
# fetchable once its digests are added here; until then, download it yourself and use install_pack.
_RELEASE_PINS: dict[str, dict[str, str]] = {
    "3.0.19": {
        PEPPOL_SCH: "2840f5158f7bbdbf3b3f5d2ea391b9ac9e649e1fdbba8502bd8c15ec52924f23",
        CEN_SCH: "3c4d9d9161eca5f0a7e02d8a83975a90838439364d7c34007e8e4a32f342be1e",
    },
}
_SCHXSLT_PINS: dict[str, dict[str, str]] = {
    "1.9.5": {
        _PIPELINE: "64a535e6d0f0baa809f987d27d9e5b825d420e9ebda7344ef53edf136cdd42fa",
        "pipeline.xsl": "5efa3e2f73f5c8a08da891cc32ae91e5ff80a8b72ea5c9028b3cdac4dafc46d9",
        "svrl.xsl": "11dcc84821999878761498d4ffd92d79496b3b9a3e6bea8171eaf71b86ec7d72",
        "include.xsl": "2dc512fedc266855c86bfd8cbd05d58e3a58105a5e96cdcf528de2b864a25f4d",
        "expand.xsl": "3226d5655899e4b296649f2e47fa31a845ba6ae2d6f711c559a324ca651e1210",
        "version.xsl": "58e1b29b21df2be5233739fa9787fe2316b0438d03cad380e17acd3af4481582",
        "compile/compile-2.0.xsl": "3ad970b64b335105ccdf603ecc7edc8b1ad03795dd4e8a784444ac91c8d469d1",
        "compile/api-2.0.xsl": "d4df046564af3ba3d9f10976e29cbea1a6c45c746e3e53efcea8377c42c3c8e9",
        "compile/functions.xsl": "8c3cb8edc4c377ab84c8b087ca895e4db9d943963ca15a9bceb8822c92771e6e",
        "compile/templates.xsl": "afd07c44eeb70b8e9daf0feb1319ca655468f06543437c8ecf0e5a232b3038c8",
    },
}
#: The SchXslt release each fetchable Peppol release is compiled with.
_SCHXSLT_FOR = {"3.0.19": "1.9.5"}
_MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Pinned:
    url: str
    sha256: str
    target: str


def _pinned_files(version: str) -> list[_Pinned]:
    release = _RELEASE_PINS.get(version)
    if release is None:
        known = ", ".join(sorted(_RELEASE_PINS, key=version_key))
        raise RulePackError(
            f"no pinned sha256 for Peppol BIS {version} (fetchable: {known}); download its rules/ folder and "
            "SchXslt yourself and run: invoicekit ubl rules install SOURCES --schxslt DIR"
        )
    schxslt = _SCHXSLT_FOR[version]
    files = [
        _Pinned(_PEPPOL_RAW.format(version=version) + name, digest, f"sch/{name}") for name, digest in release.items()
    ]
    files += [
        _Pinned(_SCHXSLT_RAW.format(version=schxslt) + name, digest, f"schxslt/{name}")
        for name, digest in _SCHXSLT_PINS[schxslt].items()
    ]
    return files


#: What :func:`fetch_pack` downloads for each fetchable release: (url, sha256).
FETCH_PINS: dict[str, tuple[tuple[str, str], ...]] = {
    version: tuple((pinned.url, pinned.sha256) for pinned in _pinned_files(version)) for version in _RELEASE_PINS
}


def _mirrored(url: str, mirror: str | None) -> str:
    """With a mirror, ``https://host/path`` is fetched from ``<mirror>/host/path`` (an offline copy)."""
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + url.split("://", 1)[1]


def _download(client: httpx.Client, url: str, target: Path) -> str:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise RulePackError(f"{url}: HTTP {response.status_code}")
            digest = hashlib.sha256()
            size = 0
            with target.open("wb") as handle:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > _MAX_DOWNLOAD_BYTES:
                        raise RulePackError(f"{url}: larger than {_MAX_DOWNLOAD_BYTES:,} bytes, refused")
                    digest.update(chunk)
                    handle.write(chunk)
    except httpx.HTTPError as exc:
        raise RulePackError(f"{url}: {type(exc).__name__}: {exc}") from None
    return digest.hexdigest()


def fetch_pack(
    version: str,
    *,
    directory: Path | None = None,
    mirror: str | None = None,
    timeout: float = 60.0,
) -> RulePack:
    """Download Peppol BIS ``version`` and its SchXslt, check every file's pinned sha256, build the pack.

    ``mirror`` replaces the upstream hosts by a base URL holding the same paths (``<mirror>/<host>/<path>``).
    A file whose sha256 differs from its pin is refused (:class:`RulePackError`) and nothing is installed.
    """
    files = _pinned_files(version)
    with tempfile.TemporaryDirectory(prefix="invoicekit-fetch-") as scratch:
        root = Path(scratch)
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            for pinned in files:
                target = root / pinned.target
                target.parent.mkdir(parents=True, exist_ok=True)
                url = _mirrored(pinned.url, mirror)
                got = _download(client, url, target)
                if got != pinned.sha256:
                    raise RulePackError(
                        f"{url}: sha256 {got} differs from the pinned {pinned.sha256}; refused, nothing installed"
                    )
        return install_pack(root / "sch", root / "schxslt", directory=directory)
