"""A deterministic, realistic Belgian book (clients, invoices with rows, credit notes, payments) for sandboxes.

``invoicekit sandbox serve NAME --seed-book 300,1000,50,600`` writes one into a sandbox before serving it,
so a migration between two sandboxes can be tried in a minute. The book is drawn from one
``random.Random(seed)``: the same sizes and seed give the same documents on every provider. Every VAT
number passes the Belgian mod-97 check (and PEPPOL-COMMON-R043), every invoice carries a valid structured
communication (OGM) and SEPA mandates a valid Belgian IBAN; rates are the ones in force on each date.

The book is written through the provider's own API (its adapter, on the sandbox's in-process transport),
so it works for every provider that ships a sandbox and each document is stored exactly as that
provider's API stores it. What a provider cannot carry (Flowtly and SEPA mandates, say) is left out of
that provider's book, and which documents were written is returned.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from invoicekit.belgium import (
    _r043_check_digits,  # the check the model validates with
    ogm_from_reference,
)
from invoicekit.capabilities import Capability
from invoicekit.model import Address, Client, Contact, CreditNote, Invoice, InvoiceRow, Payment, SepaMandate

if TYPE_CHECKING:
    from invoicekit.books import Books
    from invoicekit.sandbox._core import Sandbox

__all__ = ["BookSize", "book_clients", "seed_book"]

D = TypeVar("D", Client, Invoice, CreditNote)

#: The book's year: invoices are dated from January to November of it.
YEAR = 2026

_CITIES = (
    ("1000", "Brussel"), ("2000", "Antwerpen"), ("9000", "Gent"), ("3000", "Leuven"), ("8000", "Brugge"),
    ("3500", "Hasselt"), ("2800", "Mechelen"), ("9300", "Aalst"), ("8500", "Kortrijk"), ("1800", "Vilvoorde"),
)  # fmt: skip
_STREETS = ("Kerkstraat", "Stationsstraat", "Molenstraat", "Nieuwstraat", "Schoolstraat", "Dorpsstraat", "Kouter")
_NAMES = ("Janssens", "Peeters", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet")
_TRADES = ("Bouw", "IT Services", "Bakkerij", "Consult", "Transport", "Tuinen", "Drukkerij", "Elektro", "Design")
_FORMS = ("BV", "NV", "CV", "VOF", "BVBA")
_ITEMS = (
    ("Consultancy (uur)", "HUR", "95.00", 21), ("Ontwikkeling (uur)", "HUR", "85.00", 21),
    ("Onderhoudscontract", "C62", "450.00", 21), ("Licentie", "C62", "120.00", 21),
    ("Vakboek", "C62", "24.95", 6), ("Renovatiewerken woning", "C62", "1250.00", 6),
    ("Catering", "C62", "18.50", 12), ("Verzendkosten", "C62", "7.50", 21),
)  # fmt: skip
# Belgian bank codes in the National Bank's list (stdnum's table): an IBAN built on them validates fully.
_BANKS = ("001", "068", "230", "310", "363", "539", "735", "973")


class BookSize(NamedTuple):
    """How many of each: ``300,1000,50,600`` is 300 clients, 1,000 invoices, 50 credit notes, 600 payments."""

    clients: int
    invoices: int
    credit_notes: int
    payments: int

    @classmethod
    def parse(cls, text: str) -> BookSize:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4 or not all(p.isdigit() for p in parts):
            raise ValueError(f"a book size is CLIENTS,INVOICES,CREDIT_NOTES,PAYMENTS (e.g. 30,100,5,60), not {text!r}")
        size = cls(*(int(p) for p in parts))
        if size.clients < 1 and (size.invoices or size.credit_notes or size.payments):
            raise ValueError("a book with invoices needs at least one client")
        if size.invoices < 1 and (size.credit_notes or size.payments):
            raise ValueError("credit notes and payments need at least one invoice")
        return size


def vat_number(rng: random.Random) -> str:
    """A Belgian VAT number whose check digits are right: BE0 + 7 digits + 97 - (first 8 mod 97)."""
    first8 = f"0{rng.randrange(2_000_000, 9_999_999):07d}"
    return f"BE{first8}{_r043_check_digits(first8)}"


def iban(rng: random.Random) -> str:
    """A Belgian IBAN: bank code, account, national check (mod 97, 0 -> 97), IBAN check digits."""
    national10 = rng.choice(_BANKS) + f"{rng.randrange(10**7):07d}"
    check = int(national10) % 97 or 97
    bban = f"{national10}{check:02d}"
    numeric = int(bban + "1114" + "00")  # B=11, E=14, then 00
    return f"BE{98 - numeric % 97:02d}{bban}"


def book_clients(rng: random.Random, n: int) -> Iterator[Client]:
    """``n`` clients: mostly companies with a VAT number, some consumers; every one has an external id."""
    for i in range(n):
        postal, city = rng.choice(_CITIES)
        address = Address(street=f"{rng.choice(_STREETS)} {rng.randint(1, 250)}", postal_code=postal, city=city)
        person = rng.choice(_NAMES)
        consumer = rng.random() < 0.15
        name = (
            f"{person} {'An' if i % 2 else 'Tom'}"
            if consumer
            else f"{person} {rng.choice(_TRADES)} {rng.choice(_FORMS)}"
        )
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
        mandate = None
        if not consumer and rng.random() < 0.2:
            mandate = SepaMandate(
                iban=iban(rng), mandate_reference=f"MANDAAT-{i + 1:05d}", signature_date=date(YEAR - 1, 12, 1)
            )
        yield Client(
            kind="person" if consumer else "company",
            name=name,
            vat_number=None if consumer else vat_number(rng),
            email=f"boekhouding@{slug}{i}.example",
            phone=f"+32 9 {rng.randint(200, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            address=address,
            contacts=[]
            if consumer or rng.random() < 0.5
            else [Contact(name=f"{rng.choice(_NAMES)} Els", email=f"els@{slug}{i}.example")],
            sepa_mandate=mandate,
            external_id=f"klant-{i + 1:05d}",
        )


def _rows(rng: random.Random) -> list[InvoiceRow]:
    rows = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        description, unit, price, rate = rng.choice(_ITEMS)
        quantity = Decimal(rng.randint(1, 12)) if unit == "HUR" else Decimal(rng.choice((1, 1, 2, 3, 5)))
        rows.append(InvoiceRow(description=description, quantity=quantity, unit=unit, unit_price=price, vat_rate=rate))
    return rows


def invoice_number(n: int) -> str:
    return f"{YEAR}-{n:05d}"


def book_invoices(rng: random.Random, n: int, clients: list[Client]) -> Iterator[Invoice]:
    """``n`` invoices in number and date order over the year, each for one of ``clients`` (created ones)."""
    for i in range(n):
        day = date(YEAR, 1, 2) + timedelta(days=(i * 330) // max(n, 1))
        number = invoice_number(i + 1)
        yield Invoice(
            number=number,
            issue_date=day,
            payment_term_days=rng.choice((14, 30, 30, 60)),
            client=rng.choice(clients),
            rows=_rows(rng),
            order_reference=f"order {YEAR}-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
            structured_communication=ogm_from_reference(number),
        )


@dataclass
class _Written:
    clients: int = 0
    invoices: int = 0
    credit_notes: int = 0
    payments: int = 0


def _carried(books: Books, document: D) -> D:
    """The document without what this provider cannot carry (what its adapter reports as lost)."""
    from invoicekit.migrate._losses import without

    return without(document, books.adapter.field_losses(document))


def seed_book(sandbox: Sandbox, size: BookSize, *, seed: int = YEAR) -> BookSize:
    """Write a book of ``size`` into ``sandbox`` through its provider's API; returns what was written
    (credit notes are left out for a provider that cannot create them)."""
    from invoicekit._connect import connect

    rng = random.Random(seed)
    written = _Written()
    with connect(sandbox.name, sandbox=sandbox, load_entry_point_hooks=False) as books:
        clients = []
        for client in book_clients(rng, size.clients):
            clients.append(books.clients.create(_carried(books, client)))
            written.clients += 1
        invoices: list[tuple[Invoice, Decimal]] = []  # (created invoice, still open)
        for invoice in book_invoices(rng, size.invoices, clients):
            made = books.invoices.create(_carried(books, invoice))
            invoices.append((made.model_copy(update={"rows": invoice.rows}), invoice.totals.payable))
            written.invoices += 1
        if Capability.CREDIT_NOTES_CREATE in books.capabilities:
            for i in range(size.credit_notes):
                index = rng.randrange(len(invoices))
                corrected, _ = invoices[index]
                row = corrected.rows[0]
                books.credit_notes.create(
                    _carried(
                        books,
                        CreditNote(
                            number=f"CN{YEAR}-{i + 1:04d}",
                            issue_date=min(
                                corrected.issue_date + timedelta(days=rng.randint(3, 20)), date(YEAR, 11, 30)
                            ),
                            client=corrected.client,
                            rows=[row.model_copy(update={"quantity": Decimal(1)})],
                            corrects_invoice_id=corrected.provider_id,
                            corrects_invoice_number=corrected.number,
                            note=f"Creditnota bij factuur {corrected.number}",
                        ),
                    )
                )
                written.credit_notes += 1
        open_ones = list(range(len(invoices)))
        rng.shuffle(open_ones)
        for i in range(size.payments):
            index = open_ones[i % len(open_ones)]
            invoice, outstanding = invoices[index]
            if outstanding <= 0:
                continue
            amount = outstanding if rng.random() < 0.7 else (outstanding / 2).quantize(Decimal("0.01"))
            assert invoice.provider_id is not None
            books.payments.create(
                Payment(
                    invoice_id=invoice.provider_id,
                    date=min(invoice.issue_date + timedelta(days=rng.randint(1, 45)), date(YEAR, 11, 30)),
                    amount=amount,
                    reference=invoice.structured_communication,
                )
            )
            invoices[index] = (invoice, outstanding - amount)
            written.payments += 1
    return BookSize(written.clients, written.invoices, written.credit_notes, written.payments)
