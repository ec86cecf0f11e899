"""The provider feature matrix, generated from an actual run of the conformance suite.

::

    python -m invoicekit_conformance.matrix --output docs/providers.md    # run the suite, write the matrix
    python -m invoicekit_conformance.matrix --check docs/providers.md     # fail if it is out of date

For every installed provider it runs ``pytest --pyargs invoicekit_conformance --invoicekit-provider NAME``
in a subprocess (sandbox, sync and async), reads the JSON report and renders one Markdown table:
capabilities grouped by resource, then behaviour, client field fidelity and invoice content. Only
sandbox results count: live runs depend on whose credentials are in the environment, and the committed
matrix must not.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicekit.capabilities import Capability
from invoicekit_conformance._compare import CLIENT_FIELDS, INVOICE_FEATURES

__all__ = ["COMMAND", "ProviderRun", "main", "render", "run_provider", "run_providers"]

COMMAND = "uv run python -m invoicekit_conformance.matrix --output docs/providers.md"

PASSED, FAILED, UNSUPPORTED, UNVERIFIED = "✅ passed", "❌ failed", "➖ not supported", "⚠️ not verified"
# Books builds an invoice's UBL itself when the provider has none but can fetch the invoice and the
# connection knows the seller (invoicekit.books.ubl_flow): "not supported" would be wrong there.
BUILT_UBL = "➖ not by the provider; built by invoicekit with `seller=`"


@dataclass
class ProviderRun:
    """One provider's run of the suite: its report, the pytest exit status and output, how long it took."""

    name: str
    title: str = ""
    declared: list[str] = field(default_factory=list)
    key_fields: dict[str, str] = field(default_factory=dict)  # Adapter.reconciliation_fields
    results: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0
    output: str = ""
    seconds: float = 0.0

    @property
    def sandbox_results(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("where") == "sandbox"]

    def failures(self) -> list[str]:
        return [
            f"{r['scenario']}{_params(r)} [{r['mode']}]: {r['message']}"
            for r in self.results
            if r["outcome"] == "failed"
        ]


def _params(result: Mapping[str, Any]) -> str:
    params = result.get("params") or {}
    return "[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]" if params else ""


# --- running -------------------------------------------------------------------------------------------
def run_provider(
    name: str,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    started: Callable[[subprocess.Popen[str]], None] | None = None,
) -> ProviderRun:
    """Run the whole suite against ``name`` in a fresh interpreter and collect its report.

    With ``started``, the interpreter leads a process group of its own (with the servers and workers it
    starts) and ``started(process)`` is called once it runs, for a caller that may have to stop them all."""
    with tempfile.TemporaryDirectory(prefix="invoicekit-conformance-") as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "invoicekit_conformance",
            "--invoicekit-provider",
            name,
            "--invoicekit-report",
            str(report),
            "-p",
            "no:cacheprovider",
            "-q",
            *extra_args,
        ]
        began = time.monotonic()
        with subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env) if env is not None else None,
            start_new_session=started is not None,
        ) as process:
            if started is not None:
                started(process)
            out, err = process.communicate()
        run = ProviderRun(name=name, exit_code=process.returncode, output=out + err)
        run.seconds = time.monotonic() - began
        if report.exists():
            data = json.loads(report.read_text(encoding="utf-8"))
            info = data.get("providers", {}).get(name, {})
            run.title = info.get("title", name)
            run.declared = list(info.get("declared", []))
            run.key_fields = dict(info.get("key_fields", {}))
            run.results = list(data.get("results", []))
    return run


def installed() -> list[str]:
    """The providers installed in this environment, asked of a fresh interpreter.

    Not of this process: a test session may have put extra providers on ``sys.path`` that a subprocess
    running the suite would not see, and the matrix must only depend on what is installed.
    """
    code = (
        "import json; from invoicekit.registry import installed_providers; "
        "print(json.dumps(list(installed_providers())))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def run_providers(names: Iterable[str] | None = None, **options: Any) -> list[ProviderRun]:
    """Run the suite for ``names`` (default: every installed provider), one fresh interpreter each."""
    return [run_provider(name, **options) for name in (installed() if names is None else names)]


# --- rendering -----------------------------------------------------------------------------------------
def _capability_cell(run: ProviderRun, capability: Capability) -> str:
    results = run.sandbox_results
    if capability.value not in run.declared:
        refusal = [r for r in results if r["scenario"] == "test_undeclared_operations_are_refused"]
        verdicts = [r.get("properties", {}).get("undeclared", {}) for r in refusal]
        if refusal and any(
            r["outcome"] == "failed" and capability.value not in v for r, v in zip(refusal, verdicts, strict=True)
        ):
            return "❌ not declared, yet not refused"
        if capability is Capability.INVOICES_UBL and Capability.INVOICES_GET.value in run.declared:
            return BUILT_UBL
        return UNSUPPORTED
    covering = [r for r in results if capability.value in r.get("covers", [])]
    failed = sorted({r["mode"] for r in covering if r["outcome"] == "failed"})
    # A create by key names the provider field that carries the key.
    carried = run.key_fields.get(capability.resource) if capability.value.endswith(".create_by_key") else None
    suffix = f" (key in `{carried}`)" if carried else ""
    if failed:
        return f"{FAILED} ({', '.join(failed)}){suffix}"
    if any(r["outcome"] == "passed" for r in covering):
        return PASSED + suffix
    return UNVERIFIED + suffix


def _behaviour_cell(results: list[dict[str, Any]]) -> str:
    if not results:
        return "—"
    failed = sorted({r["mode"] for r in results if r["outcome"] == "failed"})
    if failed:
        return f"{FAILED} ({', '.join(failed)})"
    if any(r["outcome"] == "passed" for r in results):
        return PASSED
    return "— skipped"


_FIDELITY_ICONS = {
    "kept": "✅ kept",
    "normalised": "✅ normalised",
    "dropped (declared)": "➖ dropped (declared)",
    "changed (declared)": "➖ changed (declared)",
    "dropped (undeclared)": "❌ dropped (undeclared)",
    "changed (undeclared)": "❌ changed (undeclared)",
    "failed": "❌ failed",
    "not tested": "— not tested",
    "not kept": "➖ not kept",
}


def _merged(run: ProviderRun, key: str) -> dict[str, str]:
    """A report property merged over modes; a value that differs between sync and async shows both."""
    seen: dict[str, dict[str, str]] = {}
    for result in run.sandbox_results:
        for name, label in (result.get("properties", {}).get(key) or {}).items():
            seen.setdefault(name, {})[result["mode"]] = str(label)
    merged = {}
    for name, by_mode in seen.items():
        labels = set(by_mode.values())
        merged[name] = (
            _FIDELITY_ICONS.get(labels.pop(), "?")
            if len(labels) == 1
            else " / ".join(f"{mode}: {_FIDELITY_ICONS.get(label, label)}" for mode, label in sorted(by_mode.items()))
        )
    return merged


def _table(header: str, runs: Sequence[ProviderRun], rows: list[tuple[str, list[str]]]) -> list[str]:
    lines = [
        f"| {header} | " + " | ".join(f"{run.title} (`{run.name}`)" for run in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    return lines


def render(runs: Sequence[ProviderRun]) -> str:
    runs = sorted(runs, key=lambda r: r.name)
    out = [
        "<!-- Generated by the invoicekit conformance suite: do not edit. Regenerate with:",
        f"     {COMMAND} -->",
        "",
        "# Provider feature matrix",
        "",
        "> **Generated, do not edit.** Every cell comes from an actual run of the conformance suite",
        "> (`invoicekit-conformance`) against each installed provider's sandbox, in sync and async mode.",
        "> Regenerate it with",
        ">",
        f"> `{COMMAND}`",
        ">",
        "> CI runs the suite again and fails when this file differs from a fresh run",
        "> (`conformance/tests/test_conformance_matrix.py`).",
        "",
        f"Legend: {PASSED}: declared, and its scenarios passed · {FAILED}: declared, and a scenario failed (in",
        f"the modes named) · {UNSUPPORTED}: not declared; calling it raises `UnsupportedOperation` before any request",
        f"· {UNVERIFIED}: declared, but every scenario covering it was skipped. `invoices.ubl` of a provider",
        "without it but with `invoices.get`: `books.invoices.ubl()` builds the UBL from the fetched invoice when",
        "the connection knows the seller (`connect(..., seller=Seller(...))`), and refuses without one.",
        "",
        "## Capabilities",
        "",
    ]
    rows: list[tuple[str, list[str]]] = []
    resource = ""
    for capability in Capability:
        if capability.resource != resource:
            resource = capability.resource
            rows.append((f"**{resource.replace('_', ' ')}**", [""] * len(runs)))
        rows.append((f"`{capability.value}`", [_capability_cell(run, capability) for run in runs]))
    out += _table("capability", runs, rows)

    behaviours = sorted(
        {
            r["behaviour"]
            for run in runs
            for r in run.sandbox_results
            if r.get("behaviour") and r["scenario"] != "test_live_account"
        }
    )
    out += ["", "## Behaviour", "", "Checked for every provider, whatever it declares.", ""]
    out += _table(
        "behaviour",
        runs,
        [
            (b, [_behaviour_cell([r for r in run.sandbox_results if r.get("behaviour") == b]) for run in runs])
            for b in behaviours
        ],
    )

    for key, title, intro, header in (
        (
            "client_fidelity",
            "Client field fidelity",
            "What happens to each neutral client field on create -> get. *Declared* losses are the ones the adapter "
            "announces (`Adapter.unsupported_fields`): invoicekit refuses such a client unless the connection "
            "allows field loss.",
            "field",
        ),
        (
            "invoice_features",
            "Invoice content",
            "What survives an invoice's create -> get, with totals equal to invoicekit's totals engine to the cent.",
            "content",
        ),
    ):
        merged = [_merged(run, key) for run in runs]
        order = list(CLIENT_FIELDS if key == "client_fidelity" else INVOICE_FEATURES)
        found = {name for m in merged for name in m}
        names = [n for n in order if n in found] + sorted(found - set(order))
        out += ["", f"## {title}", "", intro, ""]
        label = (lambda n: f"`{n}`") if key == "client_fidelity" else (lambda n: n)
        out += _table(header, runs, [(label(n), [m.get(n, "—") for m in merged]) for n in names])
    out.append("")
    return "\n".join(out)


# --- command line --------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invoicekit_conformance.matrix",
        description="Run the conformance suite for every installed provider and write the feature matrix.",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--output", "-o", metavar="PATH", help="write the matrix here (default: print it)")
    target.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from a fresh run")
    parser.add_argument("--provider", action="append", metavar="NAME", help="only this provider (repeatable)")
    args = parser.parse_args(argv)

    runs = run_providers(args.provider)
    status = 0
    for run in runs:
        print(f"{run.name}: suite exit status {run.exit_code} in {run.seconds:.1f} s", file=sys.stderr)
        if run.exit_code != 0:
            status = 1
            failures = run.failures() or [run.output[-3000:]]
            print("\n".join(f"  FAILED {f}" for f in failures), file=sys.stderr)
    text = render(runs)
    if args.check:
        path = Path(args.check)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True), text.splitlines(keepends=True), str(path), "fresh run"
                )
            )
            print(f"\n{path} is out of date: regenerate it with\n  {COMMAND}", file=sys.stderr)
            status = 1
    elif args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
