"""The ``invoicekit`` command: ``providers``, ``demo``, ``sandbox serve``, ``ubl export|validate``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from invoicekit.capabilities import Capability
from invoicekit.registry import installed_providers

app = typer.Typer(
    name="invoicekit",
    help="One typed API over Belgian invoicing providers, with Peppol BIS 3.0 built in.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.command()
def providers() -> None:
    """List the installed provider adapters and what each can do."""
    found = installed_providers()
    if not found:
        console.print("No provider adapters are installed (pip install invoicekit-cashaca, ...).")
        raise typer.Exit(1)
    table = Table(title="Installed invoicekit providers")
    table.add_column("name", style="bold")
    table.add_column("provider")
    table.add_column("sandbox")
    table.add_column("capabilities")
    for name, plugin in found.items():
        adapter_class = plugin.create_adapter
        declared: frozenset[Capability] = getattr(adapter_class, "capabilities", frozenset())
        table.add_row(
            name,
            plugin.title,
            "yes" if plugin.create_sandbox else "no",
            ", ".join(sorted(c.value for c in declared)) or "?",
        )
    console.print(table)


@app.command()
def demo(
    provider: str = typer.Option("cashaca", help="Which installed provider's sandbox to run against."),
) -> None:
    """Run a full invoicing round against an in-process sandbox: no account, no network."""
    from invoicekit._demo import run_demo

    raise typer.Exit(run_demo(provider, console))


def _mount_optional() -> None:
    # Sub-apps live next to the code they drive; the CLI only mounts them.
    from invoicekit.sandbox._cli import sandbox_app
    from invoicekit.ubl._cli import ubl_app

    app.add_typer(sandbox_app, name="sandbox", help="Run a provider's local sandbox.")
    app.add_typer(ubl_app, name="ubl", help="Export and validate Peppol BIS 3.0 UBL documents.")


_mount_optional()


def main() -> None:
    app()
