"""Rule packs: the release table, fetching pinned files from a loopback copy of upstream, the rules dir."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from invoicekit.ubl import (
    Layer,
    RulePack,
    RulePackError,
    fetch_pack,
    installed_packs,
    mandatory_release,
    rules_dir,
    to_ubl,
    validate,
)
from invoicekit.ubl._packs import FETCH_PINS

from ._golden import seller, standard_21_6
from .conftest import shared_path


def test_validate_without_a_pack_argument_runs_the_session_pack(rule_pack: RulePack) -> None:
    # The root conftest.py points INVOICEKIT_RULES_DIR at the session's pack, for every test directory.
    assert rules_dir() == rule_pack.path.parent
    report = validate(to_ubl(standard_21_6(), seller()))
    assert report.pack == rule_pack.label
    assert {Layer.XSD, Layer.CEN, Layer.PEPPOL} <= set(report.layers_run)
    assert report.ok, report


def test_mandatory_release_follows_the_table() -> None:
    assert mandatory_release(date(2025, 8, 20)) is None
    assert mandatory_release(date(2025, 8, 21)).version == "3.0.19"  # type: ignore[union-attr]
    assert mandatory_release(date(2026, 2, 23)).version == "3.0.20"  # type: ignore[union-attr]
    assert mandatory_release(date(2026, 12, 1)).version == "3.0.21"  # type: ignore[union-attr]
    assert mandatory_release(date(2027, 2, 24)).version == "3.0.22"  # type: ignore[union-attr]


def test_rules_dir_is_the_setting_else_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INVOICEKIT_RULES_DIR", str(tmp_path / "mine"))
    assert rules_dir() == tmp_path / "mine"
    monkeypatch.delenv("INVOICEKIT_RULES_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert rules_dir() == tmp_path / "cache" / "invoicekit" / "rules"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream_copy(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback server holding the pinned upstream files at <host>/<path>, copied from ../shared."""
    sources = shared_path("peppol-rules", "bis-3.0.19", "sch")
    schxslt = shared_path("peppol-rules", "schxslt-1.9.5", "xslt", "2.0")
    root = tmp_path / "mirror"
    for url, _digest in FETCH_PINS["3.0.19"]:
        target = root / url.split("://", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        relative = url.split("/xslt/2.0/", 1)[1] if "/xslt/2.0/" in url else None
        source = schxslt / relative if relative else sources / url.rsplit("/", 1)[1]
        shutil.copyfile(source, target)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_installs_a_pack_from_the_pinned_files(
    upstream_copy: tuple[str, Path], tmp_path: Path, rule_pack: RulePack
) -> None:
    mirror, _ = upstream_copy
    pack = fetch_pack("3.0.19", directory=tmp_path / "rules", mirror=mirror)
    assert pack.release == "3.0.19"
    assert pack.cen_release == "1.3.14.1"
    assert pack.schxslt == "1.9.5"
    assert pack.mandatory == date(2025, 8, 21)
    assert pack.sources == rule_pack.sources  # the same official bytes as the session's pack
    assert [p.release for p in installed_packs(tmp_path / "rules")] == ["3.0.19"]


def test_fetch_refuses_a_file_whose_sha256_differs(upstream_copy: tuple[str, Path], tmp_path: Path) -> None:
    mirror, root = upstream_copy
    [sch] = root.rglob("PEPPOL-EN16931-UBL.sch")
    sch.write_bytes(sch.read_bytes().replace(b"PEPPOL-EN16931-R003", b"PEPPOL-EN16931-R00X"))
    with pytest.raises(RulePackError, match=r"PEPPOL-EN16931-UBL\.sch: sha256 [0-9a-f]{64} differs from the pinned"):
        fetch_pack("3.0.19", directory=tmp_path / "rules", mirror=mirror)
    assert installed_packs(tmp_path / "rules") == []


def test_fetch_of_an_unpinned_release_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match=r"no pinned sha256 for Peppol BIS 3\.0\.22.*rules install"):
        fetch_pack("3.0.22", directory=tmp_path)


def test_fetch_reports_a_missing_upstream_file(upstream_copy: tuple[str, Path], tmp_path: Path) -> None:
    mirror, root = upstream_copy
    [pipeline] = root.rglob("pipeline-for-svrl.xsl")
    pipeline.unlink()
    with pytest.raises(RulePackError, match=r"pipeline-for-svrl\.xsl: HTTP 404"):
        fetch_pack("3.0.19", directory=tmp_path / "rules", mirror=mirror)


def test_rules_fetch_command(upstream_copy: tuple[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from invoicekit.ubl._cli import ubl_app

    mirror, root = upstream_copy
    target = tmp_path / "rules"
    args = ["rules", "fetch", "3.0.19", "--rules-dir", str(target), "--mirror", mirror]
    result = CliRunner().invoke(ubl_app, args)
    assert result.exit_code == 0, result.output
    assert "installed Peppol BIS 3.0.19 (CEN 1.3.14.1)" in " ".join(result.output.split())
    [svrl] = root.rglob("svrl.xsl")
    svrl.write_bytes(svrl.read_bytes() + b"\n")
    refused = CliRunner().invoke(ubl_app, args)
    assert refused.exit_code == 1
    assert "differs from the pinned" in " ".join(refused.output.split())
