"""``invoicekit ubl export|validate``: Peppol BIS 3.0 UBL from the command line.

``export`` reads a JSON file describing one document::

    {
      "seller":  {"name": "...", "vat_number": "BE0403019261", "address": {...}, "iban": "..."},
      "invoice": {"number": "2026-0001", "issue_date": "2026-01-15", "client": {...}, "rows": [...]},
      "extras":  {"billing_references": [{"id": "2026-0001"}]}
    }

``"invoice"`` or ``"credit_note"`` holds the neutral document with the fields of
:class:`invoicekit.model.Invoice` / :class:`~invoicekit.model.CreditNote` (amounts as strings or integers,
never floats; dates as ``YYYY-MM-DD``); ``"seller"`` the fields of :class:`~invoicekit.model.Seller`;
the optional ``"extras"`` the fields of :class:`invoicekit.ubl.UblExtras` (endpoints as
``{"scheme": "0208", "identifier": "0403019261"}``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from invoicekit.errors import ValidationError
from invoicekit.model import CreditNote, Invoice, Seller
from invoicekit.ubl._artefacts import ArtefactUnavailable, StaleArtefactWarning
from invoicekit.ubl._export import to_ubl
from invoicekit.ubl._extras import UblExtras
from invoicekit.ubl._preflight import preflight
from invoicekit.ubl._report import Finding, Layer, ValidationReport
from invoicekit.ubl._validate import DEFAULT_LAYERS, validate

__all__ = ["load_document", "ubl_app"]

ubl_app = typer.Typer(
    help="Export and validate Peppol BIS Billing 3.0 UBL documents, offline.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False)

_FLAG_STYLE = {"fatal": "bold red", "warning": "yellow", "information": "cyan"}


class DocumentFileError(ValueError):
    """The export JSON file does not describe a document."""


def load_document(data: dict[str, Any]) -> tuple[Invoice | CreditNote, Seller, UblExtras]:
    """Build the neutral document, seller and extras from the export JSON shape (see the module docstring)."""
    kinds = [key for key in ("invoice", "credit_note") if key in data]
    if len(kinds) != 1:
        raise DocumentFileError('the file needs exactly one of "invoice" or "credit_note"')
    if "seller" not in data:
        raise DocumentFileError('the file needs a "seller"')
    seller = Seller.model_validate(data["seller"])
    document_class: type[Invoice] | type[CreditNote] = Invoice if kinds[0] == "invoice" else CreditNote
    document = document_class.model_validate(data[kinds[0]])
    try:
        extras = TypeAdapter(UblExtras).validate_python(data.get("extras") or {})
    except PydanticValidationError as exc:
        raise DocumentFileError(f"extras: {exc}") from None
    return document, seller, extras


def _findings_table(title: str, findings: list[tuple[str, Finding]], *, show_file: bool) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    if show_file:
        table.add_column("file", overflow="fold")
    table.add_column("layer")
    table.add_column("flag")
    table.add_column("rule", no_wrap=True)
    table.add_column("message", overflow="fold")
    table.add_column("location", overflow="fold")
    for name, finding in findings:
        style = _FLAG_STYLE.get(finding.flag.value, "")
        row = [
            finding.layer.value,
            f"[{style}]{finding.flag.value}[/]",
            escape(finding.rule_id),
            escape(finding.message),
            escape(finding.location),
        ]
        table.add_row(*([escape(name)] if show_file else []), *row)
    return table


def _output_path(source: Path, output: Path | None, many: bool) -> Path:
    if output is None:
        return source.with_suffix(".xml")
    if many or output.is_dir():
        return output / source.with_suffix(".xml").name
    return output


@ubl_app.command("export")
def export_command(
    files: Annotated[list[Path], typer.Argument(help="JSON files, one document each.", exists=True, dir_okay=False)],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file, or directory when several inputs. Default: FILE.xml."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write the UBL even when pre-flight finds fatal problems.")
    ] = False,
) -> None:
    """Write Peppol BIS 3.0 UBL for neutral documents described in JSON; pre-flight runs first."""
    failed = False
    for source in files:
        try:
            document, seller, extras = load_document(json.loads(source.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, DocumentFileError, ValidationError) as exc:
            console.print(f"[bold red]✗[/] {escape(str(source))}: {escape(str(exc))}")
            failed = True
            continue
        findings = preflight(document, seller, extras=extras)
        fatal = [f for f in findings if f.is_fatal]
        if findings:
            console.print(
                _findings_table(f"pre-flight: {source}", [(str(source), f) for f in findings], show_file=False)
            )
        if fatal and not force:
            console.print(f"[bold red]✗[/] {escape(str(source))}: not exported ({len(fatal)} fatal finding(s))")
            failed = True
            continue
        try:
            data = to_ubl(document, seller, extras=extras)
        except ValidationError as exc:
            console.print(f"[bold red]✗[/] {escape(str(source))}: {escape(str(exc))}")
            failed = True
            continue
        target = _output_path(source, output, len(files) > 1)
        target.write_bytes(data)
        console.print(f"[green]✓[/] {escape(str(source))} -> {escape(str(target))}")
    raise typer.Exit(1 if failed else 0)


def _parse_layers(value: str | None, with_preflight: bool) -> list[Layer] | None:
    if value is None:
        return [Layer.PREFLIGHT, *DEFAULT_LAYERS] if with_preflight else None
    try:
        layers = [Layer(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError:
        choices = ", ".join(layer.value for layer in Layer)
        raise typer.BadParameter(f"layers are a comma-separated subset of: {choices}") from None
    if with_preflight and Layer.PREFLIGHT not in layers:
        layers.insert(0, Layer.PREFLIGHT)
    return layers


@ubl_app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="UBL Invoice or CreditNote files.", exists=True, dir_okay=False)],
    layers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated layers (preflight,xsd,cen,peppol). Default: every installed official layer."
        ),
    ] = None,
    with_preflight: Annotated[bool, typer.Option("--preflight", help="Also run the pure-Python pre-flight.")] = False,
    show_warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="List non-fatal findings.")] = True,
) -> None:
    """Validate UBL files offline; exits with 1 when any file has a fatal finding."""
    chosen = _parse_layers(layers, with_preflight)
    rows: list[tuple[str, Finding]] = []
    reports: list[tuple[Path, ValidationReport]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StaleArtefactWarning)
        for source in files:
            try:
                report = validate(source.read_bytes(), layers=chosen)
            except ArtefactUnavailable as exc:
                console.print(f"[bold red]cannot run the requested layers:[/] {escape(str(exc))}")
                raise typer.Exit(2) from None
            reports.append((source, report))
            rows.extend((str(source), f) for f in report.findings if show_warnings or f.is_fatal)
    for warning in {str(w.message) for w in caught if issubclass(w.category, StaleArtefactWarning)}:
        console.print(f"[yellow]note:[/] {escape(warning)}")
    if rows:
        console.print(_findings_table("Validation findings", rows, show_file=len(files) > 1))
    any_fatal = False
    for source, report in reports:
        ran = ", ".join(layer.value for layer in report.layers_run) or "none"
        if report.ok:
            extra = f", {len(report.warnings)} warning(s)" if report.warnings else ""
            console.print(f"[green]✓[/] {escape(str(source))}: valid ({ran}){extra}")
        else:
            any_fatal = True
            console.print(f"[bold red]✗[/] {escape(str(source))}: {len(report.fatal)} fatal finding(s) ({ran})")
        for layer, why in report.layers_skipped.items():
            console.print(f"  [yellow]skipped {layer.value}:[/] {escape(why)}")
    if reports:
        for layer, version in reports[-1][1].artefacts.items():
            console.print(f"  [dim]{layer.value}: {escape(version)}[/]")
    raise typer.Exit(1 if any_fatal else 0)
