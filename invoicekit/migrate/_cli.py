"""``invoicekit migrate --from NAME --to NAME --journal FILE [--dry-run] [--since DATE] [--json]``.

Credentials come only from ``INVOICEKIT_<PROVIDER>_<CREDENTIAL>`` variables (invoicekit/_environ.py).
Human mode prints the plan, the field-loss report, one progress bar per kind and the verification;
``--json`` writes progress as JSON lines on stderr and the report as one JSON document on stdout.
Exit code 0 when everything was written and verified equal, 1 when anything failed or differs, 2 for a
configuration error.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from invoicekit._environ import account_credentials, borrowed_credentials, env_name
from invoicekit.errors import ConfigurationError, InvoicekitError
from invoicekit.migrate._journal import KINDS, Kind
from invoicekit.migrate._report import MigrationProgress, MigrationReport

__all__ = ["RichProgress", "migrate_command", "print_plan", "print_report"]

_NOTES_SHOWN = 20


class RichProgress:
    """One rich progress bar per kind (count, rate, ETA), fed by :class:`MigrationProgress` events."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7.1f}/s"),
            TextColumn("limit {task.fields[limit]:>2}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[tuple[Kind, str], TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: MigrationProgress) -> None:
        key = (event.kind, event.phase)
        verb = {"plan": "read", "write": "write", "verify": "check"}.get(event.phase, event.phase)
        label = f"{verb} {event.kind.replace('_', ' ')}s"
        if key not in self._tasks:
            self._tasks[key] = self.progress.add_task(label, total=event.total, rate=0.0, limit=event.limit)
        self.progress.update(
            self._tasks[key], completed=event.done, total=event.total, rate=event.rate, limit=event.limit
        )


class JsonProgress:
    """Progress as JSON lines on stderr, at most one per kind and phase every ``interval`` seconds."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def __call__(self, event: MigrationProgress) -> None:
        now = time.monotonic()
        key = (event.kind, event.phase)
        final = event.total is not None and event.done >= event.total
        if not final and now - self._last.get(key, 0.0) < self.interval:
            return
        self._last[key] = now
        line = {
            "event": "progress",
            "kind": event.kind,
            "phase": event.phase,
            "total": event.total,
            "done": event.done,
            "failed": event.failed,
            "rate": round(event.rate, 2),
            "limit": event.limit,
            "eta": None if event.eta is None else round(event.eta, 1),
        }
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()


def print_plan(report: MigrationReport, console: Console, *, notes: int = _NOTES_SHOWN) -> None:
    """The plan and the field-loss report, per kind, per field and per document."""
    table = Table(title=f"plan: {report.run.source_provider} -> {report.run.target_provider}")
    for column in ("kind", "source", "to write", "done before", "skipped", "losing fields"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in KINDS:
        c = report.counts[kind]
        table.add_row(kind, str(c.source), str(c.to_write), str(c.already_done), str(c.skipped), str(c.with_losses))
    console.print(table)
    for kind, reason in report.unsupported.items():
        console.print(f"[yellow]{kind}s not migrated:[/yellow] {reason}")
    if report.field_losses:
        losses = Table(title=f"field loss: what {report.run.target_provider} cannot carry")
        for column in ("kind", "field", "documents", "why"):
            losses.add_column(column)
        for (kind, path), n in sorted(report.field_losses.items()):
            losses.add_row(kind, path, str(n), report.field_loss_reasons.get((kind, path), ""))
        console.print(losses)
    shown = report.notes[:notes]
    for note in shown:
        what = note.skipped or "loses " + ", ".join(path for path, _ in note.lost)
        console.print(f"  {note.kind} {note.source_id}" + (f" ({note.number})" if note.number else "") + f": {what}")
    if report.notes_total > len(shown):
        more = report.notes_total - len(shown)
        kept = len(report.notes) - len(shown)
        where = "--json lists every one" if kept == more else f"--json lists {kept} more, the journal every one"
        console.print(f"  ... and {more} more documents ({where})")


def print_report(report: MigrationReport, console: Console) -> None:
    """What was written and the verification, for humans."""
    table = Table(title="written")
    for column in ("kind", "written", "found by key", "failed", "skipped"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in KINDS:
        c = report.counts[kind]
        table.add_row(kind, str(c.written), str(c.found), str(c.failed), str(c.skipped))
    console.print(table)
    for kind in KINDS:
        for source_id, reason in report.counts[kind].failures[:5]:
            console.print(f"  [red]failed[/red] {kind} {source_id}: {reason}")
    if report.checks:
        check_table = Table(title="verification (target against source)")
        for column in ("kind", "expected", "on target", "equal", "missing", "extra", "different", "ok"):
            check_table.add_column(column, justify="left" if column == "kind" else "right")
        for check in report.checks:
            ok = "[green]yes[/green]" if check.ok else "[red]NO[/red]"
            if check.unverifiable:
                ok = "[yellow]not verifiable[/yellow]"
            check_table.add_row(
                check.kind,
                str(check.expected),
                str(check.found),
                str(check.matched),
                str(len(check.missing)),
                str(len(check.extra)),
                str(len(check.differing)),
                ok,
            )
        console.print(check_table)
        for check in report.checks:
            if check.unverifiable:
                console.print(f"  [yellow]{check.kind}:[/yellow] {check.unverifiable}")
            for source_id, name, mine, theirs in check.differing[:5]:
                console.print(
                    f"  [red]{check.kind} {source_id}[/red]: {name} {mine!r} on the source, {theirs!r} on the target"
                )
    verdict = "[green]migrated and verified[/green]" if report.ok else "[red]differences or failures: see above[/red]"
    console.print(f"{verdict} in {report.seconds:.1f} s")


_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def _account(value: str) -> str:
    if not _ACCOUNT.fullmatch(value):
        raise typer.BadParameter("an account is 1 to 40 letters, digits, '-' or '_' (it names variables)")
    return value


def _connect(name: str, role: str, account: str) -> Any:
    from invoicekit._connect import connect
    from invoicekit.registry import load_provider

    plugin = load_provider(name)
    variables = ", ".join(env_name(plugin.name, credential, account) for credential in plugin.credentials)
    credentials: dict[str, Any] = {}
    if account != "default":
        credentials = account_credentials(plugin, account)
        # connect() would fill these in from the default account's variables: another account's secrets.
        borrowed = borrowed_credentials(plugin, credentials)
        if borrowed:
            missing = ", ".join(env_name(plugin.name, credential, account) for credential in borrowed)
            raise ConfigurationError(
                f"{role} {name} account {account!r}: {missing} not set (the default account's would be used)"
            )
    try:
        return connect(name, **credentials)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{role} {name}: {exc}; credentials come from the environment: {variables}") from None


def migrate_command(
    source: Annotated[str, typer.Option("--from", help="The provider to migrate from (installed name).")],
    target: Annotated[str, typer.Option("--to", help="The provider to migrate to (installed name).")],
    journal: Annotated[Path, typer.Option(help="SQLite journal of the run: the same file resumes it.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the field loss; write nothing.")
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only documents issued (payments made) on or after this date."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Writes under way at once, at most.")] = 8,
    as_json: Annotated[
        bool, typer.Option("--json", help="Progress as JSON lines on stderr, the report as JSON on stdout.")
    ] = False,
    from_account: Annotated[
        str,
        typer.Option(
            callback=_account,
            help="The source account: its credentials are INVOICEKIT_<ACCOUNT>_<PROVIDER>_<CREDENTIAL>.",
        ),
    ] = "default",
    to_account: Annotated[
        str,
        typer.Option(
            callback=_account,
            help="The target account: its credentials are INVOICEKIT_<ACCOUNT>_<PROVIDER>_<CREDENTIAL>.",
        ),
    ] = "default",
) -> None:
    """Migrate a whole book (clients, invoices, credit notes, payments) from one provider to another.

    Credentials are read from INVOICEKIT_<PROVIDER>_<CREDENTIAL> variables (INVOICEKIT_CASHACA_TOKEN, ...),
    never from the command line; a named account's from INVOICEKIT_<ACCOUNT>_<PROVIDER>_<CREDENTIAL>
    (--from-account shop-a: INVOICEKIT_SHOP_A_CASHACA_TOKEN), so two accounts of one provider can be
    migrated between. Run the same command again to resume after any interruption.
    """
    from invoicekit.migrate._run import migrate

    console = Console(stderr=as_json)
    day: date | None = since.date() if since is not None else None
    try:
        if env_name(source, "", from_account) == env_name(target, "", to_account):  # one account, both ends
            raise ConfigurationError(
                f"--from and --to are the same {source} account: name two accounts with --from-account and --to-account"
            )
        with (
            _connect(source, "source", from_account) as source_books,
            _connect(target, "target", to_account) as target_books,
        ):
            options: dict[str, Any] = {"journal": journal, "dry_run": dry_run, "since": day, "concurrency": concurrency}
            # A named account names the run (the base URL alone cannot tell two accounts of one provider apart).
            if from_account != "default":
                options["source_account"] = from_account
            if to_account != "default":
                options["target_account"] = to_account
            if as_json:
                report = migrate(source_books, target_books, on_progress=JsonProgress(), **options)
            else:
                with RichProgress(console) as bars:
                    plan = lambda planned: print_plan(planned, console)  # noqa: E731 - read before the writes
                    report = migrate(source_books, target_books, on_progress=bars, on_plan=plan, **options)
    except InvoicekitError as exc:
        if as_json:
            typer.echo(json.dumps({"event": "error", "error": type(exc).__name__, "message": str(exc)}))
        else:
            console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    elif not dry_run:
        print_report(report, console)
    raise typer.Exit(0 if report.ok else 1)
