"""The core wheel plus one provider wheel, installed into a fresh environment, are the light install.

Both wheels are built from this checkout (``uv build``) and installed with the versions the lock pins for
them (``uv export --format pylock.toml``: the pins carry the lock's file URLs, which ``uv sync`` left in uv's
cache, so this runs offline; a plain requirements list would also need the index pages, which a synced
cache need not hold). The wheels go in with ``--no-deps`` beside exactly those pins, and ``uv pip check``
then proves the pins satisfy every requirement the wheels declare: so what is absent here is absent from a
``pip install invoicekit invoicekit-cashaca``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from invoicekit import __version__

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("starlette", "uvicorn", "typer", "rich", "saxonche", "lxml", "reportlab", "factur-x")

PROBE = """
import json, sys
import invoicekit
from invoicekit.errors import ConfigurationError
books = invoicekit.connect("cashaca", token="t0ken")
books.close()
lxml_after_connect = "lxml" in sys.modules
try:
    invoicekit.connect("cashaca", sandbox=True)
except ConfigurationError as exc:
    sandbox_error = str(exc)
else:
    sandbox_error = None
try:
    import invoicekit.sandbox
except ConfigurationError as exc:
    import_error = str(exc)
else:
    import_error = None
print(json.dumps({"provider": books.provider, "lxml": lxml_after_connect, "sandbox": sandbox_error,
                  "import": import_error}))
"""


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603


@pytest.fixture(scope="module")
def light_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the core and the cashaca wheels and their locked dependencies; its python."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH: it builds the wheels and the fresh environment")
    uv = str(shutil.which("uv"))
    tmp = tmp_path_factory.mktemp("light")
    for package in ("invoicekit", "invoicekit-cashaca"):
        built = _run([uv, "build", "-q", "--wheel", "--package", package, "-o", str(tmp / "dist")], ROOT)
        assert built.returncode == 0, built.stderr[-3000:]
    export = [uv, "export", "--frozen", "--no-emit-workspace", "--no-dev", "-q", "--format", "pylock.toml"]
    pins = _run([*export, "--package", "invoicekit-cashaca", "-o", str(tmp / "pylock.toml")], ROOT)
    assert pins.returncode == 0, pins.stderr
    made = _run([uv, "venv", "-q", "--python", "3.11", str(tmp / "venv")], tmp)
    assert made.returncode == 0, made.stderr
    python = tmp / "venv" / "bin" / "python"
    wheels = sorted(str(wheel) for wheel in (tmp / "dist").glob("*.whl"))
    install = [uv, "pip", "install", "-q", "--offline", "--python", str(python)]
    installed = _run([*install, "-r", "pylock.toml"], tmp)
    assert installed.returncode == 0, installed.stderr[-3000:]
    installed = _run([*install, "--no-deps", *wheels], tmp)
    assert installed.returncode == 0, installed.stderr[-3000:]
    checked = _run([uv, "pip", "check", "--python", str(python)], tmp)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return python


def test_the_light_install_has_none_of_the_extras(light_env: Path) -> None:
    listed = _run([str(shutil.which("uv")), "pip", "list", "--format", "json", "--python", str(light_env)], ROOT)
    assert listed.returncode == 0, listed.stderr
    names = {item["name"].lower() for item in json.loads(listed.stdout)}
    assert {"invoicekit", "invoicekit-cashaca", "pydantic", "httpx"} <= names
    assert not names & set(HEAVY), names & set(HEAVY)


def test_connect_works_and_a_sandbox_names_its_extra(light_env: Path) -> None:
    done = _run([str(light_env), "-c", PROBE], light_env.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["provider"] == "cashaca"
    assert found["lxml"] is False
    expected = "pip install 'invoicekit[sandbox]'"
    assert expected in found["sandbox"]
    assert expected in found["import"]


def test_the_command_names_the_cli_extra(light_env: Path) -> None:
    done = _run([str(light_env.parent / "invoicekit"), "providers"], light_env.parent)
    assert done.returncode == 1
    assert done.stderr.strip() == "the invoicekit command needs the 'cli' extra: pip install 'invoicekit[cli]'"


def _requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [*project.get("dependencies", []), *(req for group in extras for req in group)]


@pytest.mark.parametrize(
    "pyproject", sorted([*ROOT.glob("providers/*/pyproject.toml"), ROOT / "conformance/pyproject.toml"]), ids=str
)
def test_every_distribution_pins_a_compatible_core_range(pyproject: Path) -> None:
    # A provider built against this core must not install beside a core whose next minor may break it (0.x
    # minors are breaking, as SemVer allows), nor beside an older one that lacks what it uses.
    current = Version(__version__)
    cores = [Requirement(text) for text in _requirements(pyproject) if Requirement(text).name == "invoicekit"]
    assert cores, f"{pyproject} does not depend on invoicekit"
    for core in cores:
        assert core.specifier.contains(current), f"{core} excludes this core ({current})"
        assert not core.specifier.contains(Version(f"{current.major}.{current.minor + 1}.0")), f"{core} is open-ended"
        assert not core.specifier.contains(Version("0.0.1")), f"{core} has no lower bound"
