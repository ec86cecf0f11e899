"""Every ```python block of README.md and docs/**/*.md runs, so the docs cannot rot.

Each block runs on its own, in a fresh namespace and a temporary working directory, as a reader would
paste it. Connections go to an embedded sandbox: ``invoicekit.connect`` / ``connect_async`` get
``sandbox=`` when a block did not pass one, and the environment variables of the providers' live
credentials (``INVOICEKIT_CASHACA_TOKEN``, ... from each conformance profile) hold the sandbox's, so a
block written for a real account runs unchanged. Nothing else is patched.

A block that defines ``test_*`` functions (a pytest module, as on docs/testing.md) has each of them
called after it ran, with the pytest fixtures their parameters name (``invoicekit_sandbox``,
``tmp_path``, ...), so a documented test is also a test that runs.

A block that cannot run on its own (an excerpt of a class, a placeholder for the reader's own data)
starts with ``# not run: <reason>``; the reason is required.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from invoicekit_conformance.profile import load_profile

import invoicekit
from invoicekit.registry import installed_providers
from invoicekit.sandbox import Sandbox, create_sandbox

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_NOT_RUN = re.compile(r"#\s*not run\b:?\s*(.*)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def not_run_reason(self) -> str | None:
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        match = _NOT_RUN.match(first)
        return match[1].strip() if match else None


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            found.append(Block(page, text.count("\n", 0, match.start()) + 1, match[1]))
    return found


BLOCKS = blocks()
RUNNABLE = [b for b in BLOCKS if b.not_run_reason is None]


def test_the_pages_have_examples() -> None:
    assert len(RUNNABLE) >= 3, [b.id for b in BLOCKS]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.not_run_reason is not None], ids=lambda b: b.id)
def test_a_block_that_is_not_run_says_why(block: Block) -> None:
    reason = block.not_run_reason or ""
    assert len(reason.split()) >= 3, f"{block.id}: '# not run:' needs a reason"


@pytest.fixture
def embedded_sandboxes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Sandbox]]:
    boxes: dict[str, Sandbox] = {}
    for name, plugin in installed_providers().items():
        if plugin.create_sandbox is None:
            continue
        box = boxes[name] = create_sandbox(name)
        for keyword, variable in load_profile(plugin).live_credentials.items():
            monkeypatch.setenv(variable, box.credentials()[keyword])

    real_connect, real_connect_async = invoicekit.connect, invoicekit.connect_async

    # A name without a sandbox (not installed: an example of UnknownProvider) goes through unchanged.
    def connect(name: str, **options: Any) -> Any:
        if name in boxes:
            options.setdefault("sandbox", boxes[name])
        return real_connect(name, **options)

    def connect_async(name: str, **options: Any) -> Any:
        if name in boxes:
            options.setdefault("sandbox", boxes[name])
        return real_connect_async(name, **options)

    monkeypatch.setattr(invoicekit, "connect", connect)
    monkeypatch.setattr(invoicekit, "connect_async", connect_async)
    monkeypatch.chdir(tmp_path)
    yield boxes
    for box in boxes.values():
        box.close()


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_example_runs(block: Block, embedded_sandboxes: dict[str, Sandbox], request: pytest.FixtureRequest) -> None:
    code = compile(block.code, block.id, "exec", flags=0, dont_inherit=True)
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    exec(code, namespace)  # noqa: S102 - the project's own documentation
    for name, function in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(function) and function.__module__ == "__docs_example__":
            fixtures = {
                parameter: request.getfixturevalue(parameter) for parameter in inspect.signature(function).parameters
            }
            function(**fixtures)
