"""The ``invoicekit`` command: ``providers``, ``demo``, ``new-provider``, ``migrate``, ``sandbox serve``, ``ubl ...``.

Commands that print data take ``--json`` (one JSON document on stdout, for scripts); ``--version`` prints
the installed version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from invoicekit._extras import require_extra

# Before typer and rich: a core-only install gets an error naming the extra, not a ModuleNotFoundError.
require_extra("cli", "the invoicekit command")

import typer
from rich.console import Console
from rich.table import Table

from invoicekit._version import __version__
from invoicekit.capabilities import Capability
from invoicekit.plugin import ProviderPlugin
from invoicekit.registry import installed_providers

app = typer.Typer(
    name="invoicekit",
    help="One typed API over Belgian invoicing providers, with Peppol BIS 3.0 built in.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"invoicekit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """One typed API over Belgian invoicing providers, with Peppol BIS 3.0 built in."""


def _describe(name: str, plugin: ProviderPlugin) -> dict[str, Any]:
    declared: frozenset[Capability] = getattr(plugin.create_adapter, "capabilities", frozenset())
    return {
        "name": name,
        "title": plugin.title,
        "description": plugin.description,
        "docs_url": plugin.docs_url,
        "sandbox": plugin.create_sandbox is not None,
        "credentials": list(plugin.credentials),
        "capabilities": sorted(c.value for c in declared),
    }


@app.command()
def providers(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """List the installed provider adapters and what each can do."""
    found = [_describe(name, plugin) for name, plugin in installed_providers().items()]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        raise typer.Exit(0 if found else 1)
    if not found:
        console.print("No provider adapters are installed (pip install invoicekit-cashaca, ...).")
        raise typer.Exit(1)
    table = Table(title="Installed invoicekit providers")
    table.add_column("name", style="bold")
    table.add_column("provider")
    table.add_column("sandbox")
    table.add_column("credentials")
    table.add_column("capabilities")
    for item in found:
        table.add_row(
            item["name"],
            item["title"],
            "yes" if item["sandbox"] else "no",
            ", ".join(item["credentials"]) or "?",
            ", ".join(item["capabilities"]) or "?",
        )
    console.print(table)


@app.command()
def demo(
    provider: str = typer.Option("cashaca", help="Which installed provider's sandbox to run against."),
) -> None:
    """Run a full invoicing round against an in-process sandbox: no account, no network."""
    from invoicekit._demo import run_demo
    from invoicekit._extras import missing_extra

    missing = missing_extra("sandbox", "invoicekit demo")
    if missing is not None:
        typer.echo(missing, err=True)
        raise typer.Exit(1)

    raise typer.Exit(run_demo(provider, console))


@app.command("new-provider")
def new_provider(
    name: Annotated[str, typer.Argument(help="The provider's name: a lower-case Python identifier, e.g. acme.")],
    path: Annotated[
        Path | None, typer.Option("--path", help="The distribution's folder (default: ./invoicekit-NAME).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that is not empty.")] = False,
) -> None:
    """Write a provider skeleton (adapter, sandbox, conformance profile) that passes the conformance suite."""
    from invoicekit._scaffold import write_provider
    from invoicekit.errors import ConfigurationError

    try:
        made = write_provider(name, path, force=force)
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"Wrote {len(made.files)} files to {made.folder}. Next:")
    console.print(f"  cd {made.folder}")
    console.print(f"  uv run pytest --pyargs invoicekit_conformance --invoicekit-provider {made.name}")
    console.print("Then fill in what its README lists (grep -rn SKELETON .).")


def _refuse(message: str) -> typer.Typer:
    stub = typer.Typer(invoke_without_command=True, add_completion=False)

    @stub.callback()
    def refused() -> None:
        typer.echo(message, err=True)
        raise typer.Exit(1)

    return stub


def _mount_optional() -> None:
    # Sub-apps live next to the code they drive; the CLI only mounts them. One whose extra is missing is
    # mounted as a stub that names the extra, so `--help` still lists it.
    from importlib import import_module

    from invoicekit._extras import missing_extra
    from invoicekit.migrate._cli import migrate_command

    app.command("migrate")(migrate_command)
    for name, module, help_text in (
        ("sandbox", "invoicekit.sandbox._cli", "Run a provider's local sandbox."),
        ("ubl", "invoicekit.ubl._cli", "Export and validate Peppol BIS 3.0 UBL documents."),
    ):
        missing = missing_extra(name, f"invoicekit {name}")
        sub_app = _refuse(missing) if missing else getattr(import_module(module), f"{name}_app")
        app.add_typer(sub_app, name=name, help=help_text)


_mount_optional()


def main() -> None:
    app()
