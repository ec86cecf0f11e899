"""``invoicekit sandbox ...``: run a provider's sandbox on a local port.

The main CLI mounts :data:`sandbox_app` (``app.add_typer(sandbox_app, name="sandbox")``); it also runs on
its own: ``python -m invoicekit.sandbox._cli serve cashaca``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from invoicekit.errors import InvoicekitError
from invoicekit.sandbox._book import BookSize, seed_book
from invoicekit.sandbox._faults import FaultRule
from invoicekit.sandbox._plugins import create_sandbox
from invoicekit.sandbox._server import serve
from invoicekit.sandbox._store import SqliteStore

__all__ = ["SERVED_LOG_SIZE", "sandbox_app"]

#: Requests ``invoicekit sandbox serve`` keeps in ``sandbox.request_log``.
SERVED_LOG_SIZE = 1_000

sandbox_app = typer.Typer(
    name="sandbox",
    help="Run a local fake of a provider's API (state, credentials, optional faults).",
    no_args_is_help=True,
    add_completion=False,
)


@sandbox_app.callback()
def _group() -> None:
    # A callback keeps "serve" a subcommand even while it is the group's only command.
    """Local fakes of provider APIs."""


@sandbox_app.command("serve")
def serve_command(
    name: Annotated[str, typer.Argument(help="Provider name, as installed (e.g. cashaca).")],
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind; keep it on loopback.")] = "127.0.0.1",
    db: Annotated[Path | None, typer.Option(help="SQLite file that keeps the sandbox state across restarts.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the fault injection, to replay a run.")] = None,
    latency: Annotated[float, typer.Option(help="Add this many seconds to every response.")] = 0.0,
    rate_limit: Annotated[
        float, typer.Option(help="Answer 429 above this many requests per second (0: no limit).")
    ] = 0.0,
    error_rate: Annotated[float, typer.Option(help="Answer 503 to this fraction of requests.")] = 0.0,
    strict: Annotated[
        bool, typer.Option(help="Serve only what the provider documents or a public client shows: no assumptions.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the base URL and credentials as one JSON line, for scripts.")
    ] = False,
    seed_book: Annotated[
        str | None,
        typer.Option(
            "--seed-book",
            metavar="CLIENTS,INVOICES,CREDIT_NOTES,PAYMENTS",
            help="First fill an empty sandbox with a deterministic Belgian book of these sizes (e.g. 30,100,5,60).",
        ),
    ] = None,
    book_seed: Annotated[int, typer.Option(help="Seed of the --seed-book generator.")] = 2026,
) -> None:
    """Serve NAME's sandbox until Ctrl-C; prints the base URL, the credentials and a curl example."""
    store = SqliteStore(db) if db is not None else None
    options: dict[str, Any] = {"seed": seed}
    if strict:
        options["strict"] = True
    if store is not None:
        options["store"] = store
    try:
        sandbox = create_sandbox(name, **options)
    except InvoicekitError as exc:
        if store is not None:
            store.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc

    book = None
    if seed_book is not None:
        book = _seed(sandbox, seed_book, book_seed, store)

    # A served sandbox may run for days: keep only the recent requests.
    sandbox.request_log.maxlen = SERVED_LOG_SIZE
    if latency > 0:
        sandbox.faults.add(FaultRule.slow(latency))
    if rate_limit > 0:
        sandbox.faults.add(FaultRule.rate_limited(rate_limit, burst=max(1, int(rate_limit))))
    if error_rate > 0:
        sandbox.faults.add(FaultRule.server_error(error_rate))

    logging.basicConfig(format="%(message)s")
    logging.getLogger("invoicekit.sandbox").setLevel(logging.INFO)

    def banner(base_url: str) -> None:
        credentials = sandbox.credentials()
        if as_json:
            line = {
                "provider": name,
                "base_url": base_url,
                "credentials": credentials,
                "state": str(db) if db else None,
                "strict": strict,
                "book": book._asdict() if book is not None else None,
            }
            typer.echo(json.dumps(line))
            return
        state = f" (state in {db})" if db else " (state in memory)"
        typer.echo(f"{name} sandbox on {base_url}" + state + (", strict" if strict else ""))
        if book is not None:
            typer.echo(
                "book:        " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in book._asdict().items())
            )
        typer.echo("credentials: " + ", ".join(f"{k}={v}" for k, v in credentials.items()))
        example = sandbox.curl_example(base_url)
        if example:
            typer.echo(f"try:         {example}")
        typer.echo("Ctrl-C to stop.")

    try:
        serve(sandbox, host=host, port=port, ready=banner)
    finally:
        sandbox.close()
        if store is not None:
            store.close()
    if not as_json:
        typer.echo("stopped.")


def _seed(sandbox: Any, size_text: str, seed: int, store: SqliteStore | None) -> BookSize:
    """Write the book (once: a sandbox that already has clients, from an earlier --db run, is kept)."""
    from invoicekit._connect import connect

    try:
        size = BookSize.parse(size_text)
    except ValueError as exc:
        sandbox.close()
        if store is not None:
            store.close()
        raise typer.BadParameter(str(exc), param_hint="--seed-book") from None
    with connect(sandbox.name, sandbox=sandbox, load_entry_point_hooks=False) as books:
        if next(iter(books.clients.list()), None) is not None:
            return BookSize(0, 0, 0, 0)
    return seed_book(sandbox, size, seed=seed)


if __name__ == "__main__":
    sandbox_app()
