"""``invoicekit new-provider NAME``: the skeleton it writes installs on its own and passes the conformance suite.

The end-to-end test does what a plugin author does: run the command, install the new distribution next
to invoicekit and the suite in a fresh virtual environment (``uv venv`` + ``uv pip install -e``, offline,
with the versions of this repository's lockfile), then run the suite's own command, in assumed and in
strict mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from invoicekit._scaffold import compatible_pin, write_provider
from invoicekit._version import __version__
from invoicekit.cli import app
from invoicekit.errors import ConfigurationError
from invoicekit.sandbox import Provenance

ROOT = Path(__file__).resolve().parents[1]

# The scenarios that run for every provider whatever it declares (covers=[], a behaviour of their own);
# test_live_account is the live probe, skipped without live credentials.
ALWAYS_ON = {
    "test_bad_credentials",
    "test_unknown_id_is_not_found",
    "test_invalid_input_sends_nothing",
    "test_undeclared_operations_are_refused",
    "test_exactly_once_under_faults",
    "test_credentials_never_leak",
}
# Gated on clients.create / clients.get / clients.list, which the skeleton declares.
DECLARED = {"test_client_round_trip", "test_clients_list_each_client_once"}


def test_the_command_writes_a_distribution_under_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["new-provider", "acme"])
    assert done.exit_code == 0, done.output
    folder = tmp_path / "invoicekit-acme"
    assert "uv run pytest --pyargs invoicekit_conformance --invoicekit-provider acme" in done.output
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "invoicekit-acme"
    assert project["entry-points"]["invoicekit.providers"] == {"acme": "invoicekit_acme:plugin"}
    assert project["dependencies"] == [f"invoicekit{compatible_pin(__version__)}"]
    package = folder / "src" / "invoicekit_acme"
    for name in ("__init__.py", "_adapter.py", "sandbox.py", "conformance.py", "provenance.toml", "py.typed"):
        assert (package / name).is_file(), name
    assert (folder / "tests" / "conftest.py").is_file()
    assert "$" not in (package / "_adapter.py").read_text(encoding="utf-8")  # every placeholder filled in


def test_the_provenance_cites_the_skeleton_api_and_marks_the_rest_assumed(tmp_path: Path) -> None:
    made = write_provider("acme", tmp_path / "dist")
    path = made.folder / "src" / "invoicekit_acme" / "provenance.toml"
    provenance = Provenance.from_toml(path.read_text(encoding="utf-8"))
    assert provenance.provider == "acme"
    documented = [o for o in provenance if not o.assumed]
    assert documented
    assert all(o.source == "seed" and o.ref.startswith("docs/api.md#") for o in documented)
    assumed = provenance.assumed()
    assert assumed
    assert all("replace with your provider's docs" in o.why for o in assumed)
    anchors = {o.ref.split("#", 1)[1] for o in documented}
    api = (made.folder / "docs" / "api.md").read_text(encoding="utf-8").lower()
    for anchor in anchors:
        assert "## " + anchor.replace("-", " ") in api, f"docs/api.md has no section for #{anchor}"


@pytest.mark.parametrize("name", ["Acme", "1acme", "acme-books", "class", "", "acme books"])
def test_a_name_that_is_not_a_lower_case_identifier_is_refused(tmp_path: Path, name: str) -> None:
    done = CliRunner().invoke(app, ["new-provider", name, "--path", str(tmp_path / "out")])
    assert done.exit_code == 2
    assert f"provider name {name!r} is not valid" in " ".join(done.output.split())
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "invoicekit-acme"
    target.mkdir()
    (target / "NOTES.md").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"exists and is not empty.*--force"):
        write_provider("acme", target)
    assert sorted(p.name for p in target.iterdir()) == ["NOTES.md"]
    made = write_provider("acme", target, force=True)
    assert (target / "NOTES.md").read_text(encoding="utf-8") == "mine"
    assert "src/invoicekit_acme/_adapter.py" in made.files


def test_a_name_with_underscores_makes_a_hyphenated_distribution(tmp_path: Path) -> None:
    made = write_provider("my_books", tmp_path / "x")
    text = (made.folder / "pyproject.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["project"]["name"] == "invoicekit-my-books"
    assert "class MyBooksAdapter(Adapter):" in (made.folder / "src/invoicekit_my_books/_adapter.py").read_text()


def test_the_skeleton_is_clean_under_its_own_ruff_config(tmp_path: Path) -> None:
    made = write_provider("acme", tmp_path / "invoicekit-acme")
    for command in (["ruff", "check", "--no-cache", "."], ["ruff", "format", "--no-cache", "--check", "."]):
        done = _run([sys.executable, "-m", *command], made.folder)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("version", "pin"),
    [("0.1.0", ">=0.1,<0.2"), ("0.12.3rc1", ">=0.12,<0.13"), ("1.4.2", ">=1.4,<2"), ("2.0.0", ">=2.0,<3")],
)
def test_the_pin_allows_the_running_release_line_only(version: str, pin: str) -> None:
    assert compatible_pin(version) == pin


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "INVOICEKIT_ACME_TOKEN", "PYTHONPATH")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603


def _suite(python: Path, cwd: Path, *options: str) -> dict[str, Any]:
    report = cwd / f"report{len(options)}.json"
    command = [str(python), "-m", "pytest", "--pyargs", "invoicekit_conformance", "-p", "no:cacheprovider", "-q"]
    done = _run([*command, "--invoicekit-provider", "acme", "--invoicekit-report", str(report), *options], cwd)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def _outcomes(report: dict[str, Any]) -> dict[str, set[str]]:
    by_scenario: dict[str, set[str]] = {}
    for result in report["results"]:
        by_scenario.setdefault(result["scenario"], set()).add(result["outcome"])
    return by_scenario


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH: it builds the fresh environment")
def test_the_skeleton_passes_the_suite_from_a_fresh_environment(tmp_path: Path) -> None:
    uv = str(shutil.which("uv"))
    done = CliRunner().invoke(app, ["new-provider", "acme", "--path", str(tmp_path / "invoicekit-acme")])
    assert done.exit_code == 0, done.output

    # The versions this repository is locked to, as pylock.toml files: they carry the lock's file URLs, which
    # `uv sync` left in uv's cache, so they install offline (a plain requirements list would also need index
    # pages, which a synced cache need not hold).
    export = [uv, "export", "--frozen", "--no-emit-workspace", "--no-dev", "-q", "--format", "pylock.toml"]
    pins = _run([*export, "--package", "invoicekit-conformance", "-o", str(tmp_path / "pylock.toml")], ROOT)
    assert pins.returncode == 0, pins.stderr
    # The `invoicekit` command below needs the core's cli extra, and the repository's conftest.py (which
    # pytest loads above the editable conformance package) imports invoicekit.ubl: neither comes with the suite.
    cli = ["--package", "invoicekit", "--extra", "cli", "--extra", "ubl", "-o", str(tmp_path / "pylock.cli.toml")]
    cli_pins = _run([*export, *cli], ROOT)
    assert cli_pins.returncode == 0, cli_pins.stderr
    made = _run([uv, "venv", "-q", "--python", "3.11", str(tmp_path / "venv")], tmp_path)
    assert made.returncode == 0, made.stderr
    python = tmp_path / "venv" / "bin" / "python"
    install = [uv, "pip", "install", "-q", "--offline", "--python", str(python)]
    for locked in ("pylock.toml", "pylock.cli.toml"):
        installed = _run([*install, "-r", locked], tmp_path)
        assert installed.returncode == 0, installed.stderr[-3000:]
    editable = ["-e", str(ROOT), "-e", str(ROOT / "conformance"), "-e", str(tmp_path / "invoicekit-acme")]
    installed = _run([*install, "--no-deps", *editable], tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # The projects go in with --no-deps beside exactly the pins; `uv pip check` proves the pins satisfy every
    # requirement, the skeleton's `invoicekit>=X,<Y` included.
    checked = _run([uv, "pip", "check", "--python", str(python)], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    listed = _run([str(tmp_path / "venv" / "bin" / "invoicekit"), "providers", "--json"], tmp_path)
    assert "acme" in [p["name"] for p in json.loads(listed.stdout)], listed.stdout + listed.stderr

    for options in ((), ("--invoicekit-strict",)):
        report = _suite(python, tmp_path, *options)
        assert all(r["strict"] is bool(options) for r in report["results"])
        outcomes = _outcomes(report)
        assert not [s for s, o in outcomes.items() if "failed" in o], outcomes
        for scenario in ALWAYS_ON | DECLARED:
            assert "passed" in outcomes[scenario], f"{scenario} {options}: {outcomes[scenario]}"
        # Everything else is skipped, each saying why (a capability acme does not declare, or live).
        skipped = [r for r in report["results"] if r["outcome"] == "skipped"]
        assert skipped
        because = ("does not declare", "declares no", "live")
        assert all(any(reason in r["message"] for reason in because) for r in skipped), skipped
