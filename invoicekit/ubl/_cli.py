"""``invoicekit ubl export|validate|rules``: Peppol BIS 3.0 UBL from the command line.

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
from collections.abc import Callable
from datetime import date
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
from invoicekit.ubl._artefacts import ArtefactUnavailable, RulePackError
from invoicekit.ubl._export import to_ubl
from invoicekit.ubl._extras import UblExtras
from invoicekit.ubl._packs import RulePack, fetch_pack, install_pack, installed_packs, rules_dir
from invoicekit.ubl._preflight import preflight
from invoicekit.ubl._releases import RELEASES, mandatory_release
from invoicekit.ubl._report import Finding, Layer, ValidationReport
from invoicekit.ubl._validate import validate
from invoicekit.xmlsafe import DEFAULT_MAX_BYTES

__all__ = ["load_document", "ubl_app"]

ubl_app = typer.Typer(
    help="Export and validate Peppol BIS Billing 3.0 UBL documents, offline.",
    no_args_is_help=True,
    add_completion=False,
)
rules_app = typer.Typer(
    help="Rule packs: official Peppol BIS releases compiled for offline validation.",
    no_args_is_help=True,
    add_completion=False,
)
ubl_app.add_typer(rules_app, name="rules")
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


def _parse_layers(value: str | None) -> list[Layer] | None:
    if value is None:
        return None
    try:
        return [Layer(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError:
        choices = ", ".join(layer.value for layer in Layer)
        raise typer.BadParameter(f"layers are a comma-separated subset of: {choices}") from None


@ubl_app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="UBL Invoice or CreditNote files.", exists=True, dir_okay=False)],
    layers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated layers (preflight,xsd,cen,peppol). Default: pre-flight, XSD, and the CEN and "
            "Peppol layers of the newest installed rule pack."
        ),
    ] = None,
    show_warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="List non-fatal findings.")] = True,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Refuse documents larger than this (default 10 MiB).")
    ] = DEFAULT_MAX_BYTES,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per run instead of tables.")] = False,
) -> None:
    """Validate UBL files offline; exits with 1 when any file has a fatal finding."""
    chosen = _parse_layers(layers)
    rows: list[tuple[str, Finding]] = []
    reports: list[tuple[Path, ValidationReport]] = []
    for source in files:
        try:
            report = validate(source.read_bytes(), layers=chosen, max_bytes=max_bytes)
        except (ArtefactUnavailable, RulePackError) as exc:
            console.print(f"[bold red]cannot run the requested layers:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        reports.append((source, report))
        rows.extend((str(source), f) for f in report.findings if show_warnings or f.is_fatal)
    if as_json:
        typer.echo(json.dumps({"files": [_report_json(source, report, show_warnings) for source, report in reports]}))
        raise typer.Exit(0 if all(report.ok for _, report in reports) else 1)
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
        last = reports[-1][1]
        if last.pack:
            console.print(f"  rule pack: {escape(last.pack)}")
        for layer, version in last.artefacts.items():
            console.print(f"  [dim]{layer.value}: {escape(version)}[/]")
    raise typer.Exit(1 if any_fatal else 0)


def _report_json(source: Path, report: ValidationReport, show_warnings: bool) -> dict[str, Any]:
    return {
        "file": str(source),
        "ok": report.ok,
        "layers_run": [layer.value for layer in report.layers_run],
        "layers_skipped": {layer.value: why for layer, why in report.layers_skipped.items()},
        "pack": report.pack,
        "artefacts": {layer.value: version for layer, version in report.artefacts.items()},
        "findings": [
            {
                "layer": f.layer.value,
                "rule": f.rule_id,
                "flag": str(f.flag.value if hasattr(f.flag, "value") else f.flag),
                "message": f.message,
                "location": f.location,
            }
            for f in report.findings
            if show_warnings or f.is_fatal
        ],
    }


def _report_install(build: Callable[[], RulePack]) -> None:
    try:
        pack = build()
    except (RulePackError, ArtefactUnavailable) as exc:
        console.print(f"[bold red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/] installed {escape(pack.label)} in {escape(str(pack.path))}")


_RULES_DIR_HELP = "Rule pack directory (default: $INVOICEKIT_RULES_DIR, else the user cache directory)."


@rules_app.command("install")
def rules_install_command(
    sources: Annotated[
        Path, typer.Argument(help="An official release's rules/ folder (or its sch/).", exists=True, file_okay=False)
    ],
    schxslt: Annotated[
        Path, typer.Option("--schxslt", help="SchXslt's folder (or its xslt/2.0/).", exists=True, file_okay=False)
    ],
    directory: Annotated[Path | None, typer.Option("--rules-dir", help=_RULES_DIR_HELP)] = None,
) -> None:
    """Build a rule pack from a Peppol BIS release's Schematron sources with SchXslt (needs saxonche)."""
    _report_install(lambda: install_pack(sources, schxslt, directory=directory))


@rules_app.command("fetch")
def rules_fetch_command(
    version: Annotated[str, typer.Argument(help="A Peppol BIS release, e.g. 3.0.19.")],
    directory: Annotated[Path | None, typer.Option("--rules-dir", help=_RULES_DIR_HELP)] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Fetch <mirror>/<host>/<path> instead of https://<host>/<path>.")
    ] = None,
) -> None:
    """Download a release and SchXslt from upstream, check each file's pinned sha256, build the pack."""
    _report_install(lambda: fetch_pack(version, directory=directory, mirror=mirror))


@rules_app.command("list")
def rules_list_command(
    directory: Annotated[Path | None, typer.Option("--rules-dir", help=_RULES_DIR_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the packs as JSON instead of a table.")] = False,
) -> None:
    """Show the installed packs (newest first, the one validate uses) and the release mandatory today."""
    where = directory if directory is not None else rules_dir()
    try:
        packs = installed_packs(directory)
    except RulePackError as exc:
        console.print(f"[bold red]✗[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    today = date.today()
    required = mandatory_release(today)
    if as_json:
        listed = [
            {
                "release": pack.release,
                "cen_release": pack.cen_release,
                "published": str(pack.published) if pack.published else None,
                "mandatory": str(pack.mandatory) if pack.mandatory else None,
                "schxslt": pack.schxslt,
                "built": pack.built,
                "sources_sha256": pack.sources_digest,
                "path": str(pack.path),
            }
            for pack in packs
        ]
        mandatory = required.version if required is not None else None
        typer.echo(json.dumps({"rules_dir": str(where), "packs": listed, "mandatory_today": mandatory}))
        return
    if not packs:
        console.print(f"no rule pack in {escape(str(where))}; install one: invoicekit ubl rules fetch VERSION")
    else:
        table = Table(title=f"rule packs in {where}")
        for column in ("release", "CEN", "published", "mandatory", "SchXslt", "built", "sources sha256"):
            table.add_column(column)
        for pack in packs:
            table.add_row(
                pack.release,
                pack.cen_release,
                str(pack.published or "?"),
                str(pack.mandatory or "?"),
                pack.schxslt,
                pack.built,
                pack.sources_digest[:12],
            )
        console.print(table)
    if required is not None:
        known = ", ".join(f"{r.version} (mandatory {r.mandatory})" for r in RELEASES)
        console.print(f"mandatory today ({today}): Peppol BIS {required.version}; known releases: {known}")
