"""``invoicekit demo``: the whole story on in-process sandboxes, printed for humans.

1. one invoicing round (client, invoice, two payments, a Peppol send) on one provider;
2. the same invoice, from the same code, through every bundled adapter;
3. its Peppol BIS 3.0 UBL, validated offline;
4. a small seeded book migrated from one sandbox provider to another, with progress bars and the
   verification summary.

The story is the same for every provider. What a provider declares it cannot store (``field_losses``: a
client's e-mail, an order reference, a row of a VAT category it has no code for) is left out before the
create and said so, rather than refused (the default) or dropped in silence (``allow_field_loss``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

import invoicekit
from invoicekit import Address, Client, Invoice, InvoiceRow, Payment, Seller
from invoicekit.capabilities import Capability
from invoicekit.errors import InvoicekitError, ValidationError
from invoicekit.model import CreditNote

__all__ = ["run_demo"]

#: The adapters part 2 runs the same code through, and the migration's pair.
ADAPTERS = ("cashaca", "eenvoudigfactureren", "flowtly")
MIGRATION = ("eenvoudigfactureren", "flowtly")

D = TypeVar("D", Client, Invoice, CreditNote)

SELLER = Seller(
    name="Demo Webshop BV",
    vat_number="BE0428759497",
    address=Address(street="Kerkstraat 1", postal_code="9000", city="Gent"),
    iban="BE71096123456769",
    email="facturen@demo-webshop.example",
)


def _unpaid(books: invoicekit.Books) -> list[str]:
    return [
        f"{inv.number} ({inv.outstanding} EUR open)" if inv.outstanding is not None else f"{inv.number}"
        for inv in books.invoices.list(unpaid=True)
    ]


def run_demo(provider: str, console: Console) -> int:
    try:
        with invoicekit.connect(provider, sandbox=True, seller=SELLER) as books:
            status = _round(books, console)
        installed = invoicekit.installed_providers()
        status = status or _everywhere([name for name in ADAPTERS if name in installed], console)
        if all(name in installed for name in MIGRATION):
            status = status or _migration(*MIGRATION, console)
        return status
    except InvoicekitError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1


def _storable(books: invoicekit.Books, document: D, console: Console) -> D:
    """``document`` without what the provider declares it cannot store: a row with such a field is left out
    whole (a row without its VAT category would be another row), any other field is reset. Each is said."""
    losses = books.adapter.field_losses(document)
    count = len(document.rows) if isinstance(document, Invoice | CreditNote) else 0
    row_of = {issue.path: _row_index(issue.path, count) for issue in losses}
    unreadable = [issue for issue in losses if issue.path.split(".")[0] == "rows" and row_of[issue.path] is None]
    if unreadable:
        # A loss of "rows" that names no row of this document: no part can be left out, so it is refused the way
        # Books would refuse it (a typed error naming the field), not guessed at.
        raise ValidationError(unreadable, provider=books.provider)
    rows = {index for index in row_of.values() if index is not None}
    fields = {i.path.split(".")[0] for i in losses if row_of[i.path] is None}
    for issue in losses:
        what = f"row {row_of[issue.path]}" if row_of[issue.path] is not None else issue.path
        console.print(
            f"   [yellow]{books.provider} cannot store {issue.path}[/yellow] ({issue.reason}): {what} left out"
        )
    update: dict[str, object] = {
        name: type(document).model_fields[name].get_default(call_default_factory=True) for name in fields
    }
    if rows and isinstance(document, Invoice | CreditNote):
        update["rows"] = [row for i, row in enumerate(document.rows) if i not in rows]
    return document.model_copy(update=update) if update else document


def _row_index(path: str, count: int) -> int | None:
    """The row a field-loss path names (``rows.2.vat_category`` -> 2), or None when it names none of ``count``."""
    head, _, rest = path.partition(".")
    index = rest.partition(".")[0]
    if head != "rows" or not (index.isascii() and index.isdigit()) or int(index) >= count:
        return None
    return int(index)


def _issue(books: invoicekit.Books, console: Console) -> tuple[Client, Invoice]:
    """The one piece of code every adapter runs: a client and an invoice for it."""
    client = books.clients.create(
        _storable(
            books,
            Client(
                name="IT Services BV",
                vat_number="BE0403019261",
                email="boekhouding@it-services.example",
                address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
                external_id="shop-customer-1001",
            ),
            console,
        )
    )
    invoice = Invoice(
        issue_date=date.today(),
        payment_term_days=30,
        client=client,
        order_reference="order 2026-0042",
        rows=[
            InvoiceRow(description="Consultancy (hours)", quantity=8, unit_price="95.00", vat_rate=21),
            InvoiceRow(description="Reference book", quantity=2, unit_price="24.95", vat_rate=6),
            InvoiceRow(
                description="Training (exempt)",
                unit_price="150.00",
                vat_rate=0,
                vat_category="E",
                exemption_reason="Art. 44 §2 4° WBTW",
            ),
        ],
    )
    return client, books.invoices.create(_storable(books, invoice, console))


def _round(books: invoicekit.Books, console: Console) -> int:
    console.print(Panel.fit(f"invoicekit demo: {books.provider} sandbox (in-process, no account, no network)"))
    client, invoice = _issue(books, console)
    console.print(f"1. client created: [bold]{client.name}[/bold] id={client.provider_id} VAT {client.vat_number}")
    today = date.today()
    totals = invoice.totals
    table = Table(title=f"2. invoice {invoice.number} (id {invoice.provider_id})")
    table.add_column("row")
    table.add_column("qty", justify="right")
    table.add_column("price", justify="right")
    table.add_column("VAT", justify="right")
    table.add_column("net", justify="right")
    for row, line in zip(invoice.rows, totals.lines, strict=True):
        rate = f"{row.vat_rate.normalize()} % {row.vat_category}"
        table.add_row(row.description, f"{row.quantity.normalize()}", f"{row.unit_price}", rate, f"{line.net}")
    console.print(table)
    for group in totals.breakdown:
        console.print(
            f"   VAT {group.category} {group.rate.normalize()} %: on {group.taxable_amount} = {group.vat_amount}"
        )
    console.print(
        f"   total excl. VAT {totals.tax_exclusive}  VAT {totals.vat_total}  [bold]payable {totals.payable} EUR[/bold]"
        f"  due {invoice.effective_due_date}"
    )
    ogm = invoice.structured_communication_formatted
    console.print(f"   structured communication (OGM): [bold]{ogm}[/bold]" if ogm else "   no structured communication")
    assert invoice.provider_id is not None
    console.print(f"3. unpaid before payment: {_unpaid(books)}")
    partial = (totals.payable / 2).quantize(Decimal("0.01"))
    books.payments.create(Payment(invoice_id=invoice.provider_id, date=today, amount=partial))
    now = books.invoices.get(invoice.provider_id)
    console.print(f"4. paid {partial}: status {now.status or 'not reported'}, unpaid list: {_unpaid(books)}")
    books.payments.create(
        Payment(invoice_id=invoice.provider_id, date=today + timedelta(days=1), amount=totals.payable - partial)
    )
    now = books.invoices.get(invoice.provider_id)
    console.print(f"5. paid the rest: status {now.status or 'not reported'}, unpaid list: {_unpaid(books) or 'empty'}")

    delivered = ""
    if Capability.INVOICES_SEND_PEPPOL in books.capabilities:
        result = books.invoices.send(now, via="peppol")
        console.print(f"6. sent via Peppol to 0208:{client.enterprise_number}: accepted={result.accepted}")
        delivered = ", delivered via Peppol"
    else:
        console.print(f"6. not sent: {books.provider} declares no Peppol send")
    console.print(
        Panel.fit(
            f"Done: 1 client, invoice {invoice.number} of {totals.payable} EUR "
            f"({len(totals.breakdown)} VAT groups), paid in 2 parts{delivered}.\n"
            f"Same code, other provider: change {books.provider!r} in invoicekit.connect(...).",
            title="summary",
        )
    )
    return _ubl(books, invoice, console)


def _ubl(books: invoicekit.Books, invoice: Invoice, console: Console) -> int:
    from invoicekit import ubl

    xml = books.invoices.ubl(invoice)
    report = ubl.validate(xml)
    layers = ", ".join(str(layer) for layer in report.layers_run)
    skipped = "; ".join(f"{layer} skipped ({why})" for layer, why in report.layers_skipped.items())
    verdict = "[green]valid[/green]" if report.ok else f"[red]{len(report.fatal)} fatal findings[/red]"
    console.print(f"7. Peppol BIS 3.0 UBL of {invoice.number}: {len(xml):,} bytes, {verdict} ({layers})")
    if skipped:
        console.print(f"   {skipped}")
    for finding in report.fatal[:5]:
        console.print(f"   [red]{finding}[/red]")
    return 0 if report.ok else 1


def _everywhere(names: list[str], console: Console) -> int:
    table = Table(title="8. the same code (_issue) through every adapter")
    for column in ("provider", "client id", "invoice", "payable", "VAT groups", "OGM kept"):
        table.add_column(column)
    for name in names:
        with invoicekit.connect(name, sandbox=True) as books:
            client, invoice = _issue(books, console)
            totals = invoice.totals
            table.add_row(
                name,
                str(client.provider_id),
                f"{invoice.number} (id {invoice.provider_id})",
                f"{totals.payable} EUR",
                str(len(totals.breakdown)),
                "yes" if invoice.structured_communication else "no (not carried)",
            )
    console.print(table)
    return 0


def _migration(source_name: str, target_name: str, console: Console) -> int:
    import tempfile
    from pathlib import Path

    from invoicekit.migrate import migrate
    from invoicekit.migrate._cli import RichProgress, print_plan, print_report
    from invoicekit.sandbox._book import BookSize, seed_book

    size = BookSize(10, 40, 3, 20)
    console.print(Panel.fit(f"9. migrating a seeded book from {source_name} to {target_name} (both sandboxes)"))
    with (
        invoicekit.connect(source_name, sandbox=True) as source,
        invoicekit.connect(target_name, sandbox=True) as target,
        tempfile.TemporaryDirectory() as folder,
    ):
        seed_book(source.sandbox, size)
        with RichProgress(console) as bars:
            report = migrate(
                source,
                target,
                journal=Path(folder) / "journal.db",
                on_progress=bars,
                on_plan=lambda planned: print_plan(planned, console, notes=3),
            )
    print_report(report, console)
    return 0 if report.ok else 1
