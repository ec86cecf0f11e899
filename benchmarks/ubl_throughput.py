"""Throughput of Peppol BIS 3.0 export and validation on 2-line invoices, single process, one core.

    uv run python -m benchmarks.ubl_throughput [--seconds 3]

(``uv run python -m benchmarks`` runs these figures too, in its table, through :func:`figures`.)

Prints documents per second for each step and the ratio to its target (>= 1.00 meets it):

* export (``to_ubl``, totals included) ................ target 1,000/s
* XSD validation (``validate(layers=["xsd"])``) ........ target 2,000/s
* full validation (pre-flight + XSD + CEN + Peppol) ... target 50/s

The CEN and Peppol layers come from the newest installed rule pack (``invoicekit ubl rules list``); without one
the benchmark says how to install one and stops. The one-off start-up cost (compiling the XSD and the two XSLT
stylesheets) is measured separately and is not part of the throughput figures. Not a test: timings depend on
the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from benchmarks._harness import Row, Settings
from invoicekit.model import Address, Client, Invoice, InvoiceRow, Seller
from invoicekit.ubl import Layer, to_ubl, validate

TARGETS = {"export": 1000.0, "xsd": 2000.0, "full": 50.0}


def seller() -> Seller:
    return Seller(
        name="Atelier Delvaux BV",
        vat_number="BE0403019261",
        address=Address(street="Kerkstraat 12", postal_code="9000", city="Gent"),
        iban="BE48320070184927",
    )


def invoices(count: int) -> list[Invoice]:
    client = Client(
        name="IT Services BV",
        vat_number="BE0428759497",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
    )
    return [
        Invoice(
            number=f"2026-{i:05d}",
            issue_date=date(2026, 1, 1) + timedelta(days=i % 300),
            payment_term_days=30,
            client=client,
            structured_communication=None,
            rows=[
                InvoiceRow(
                    description="Consultancy",
                    quantity=Decimal(8 + i % 5),
                    unit="HUR",
                    unit_price=Decimal("95.00"),
                    vat_rate=21,
                ),
                InvoiceRow(description="Books", quantity=Decimal(1 + i % 3), unit_price=Decimal("24.99"), vat_rate=6),
            ],
        )
        for i in range(count)
    ]


def rate(step: Callable[[int], object], seconds: float, batch: int) -> float:
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for i in range(batch):
            step(done + i)
        done += batch
        elapsed = time.perf_counter() - start
    return done / elapsed


def figures(settings: Settings) -> list[Row]:
    """The three throughput figures as table rows: absolute targets, so the target is the floor column."""
    seconds = 0.2 if settings.quick else 3.0
    docs = invoices(64)
    party = seller()
    xml = [to_ubl(doc, party) for doc in docs]
    steps: dict[str, tuple[Callable[[int], object], int]] = {
        "export": (lambda i: to_ubl(docs[i % len(docs)], party), 50),
        "xsd": (lambda i: validate(xml[i % len(xml)], layers=[Layer.XSD]), 100),
        "full": (lambda i: validate(xml[i % len(xml)]), 5),
    }
    labels = {"export": "UBL export (to_ubl)", "xsd": "UBL XSD validation", "full": "UBL full validation (3 layers)"}
    rows = []
    for key, (step, batch) in steps.items():
        step(0)  # compile the schema and stylesheets outside the measurement
        value = rate(step, seconds, 1 if settings.quick else batch)
        target = TARGETS[key]
        rows.append(
            Row(
                labels[key],
                value,
                target,
                "/s",
                value / target,
                f">= {target:,.0f}/s",
                value >= target,
                "floor: target",
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per step (default 3)")
    args = parser.parse_args(argv)

    docs = invoices(64)
    party = seller()
    xml = [to_ubl(doc, party) for doc in docs]
    print(f"python {platform.python_version()}, {platform.machine()}, pid {os.getpid()}, single process")
    print(f"document size: {len(xml[0]):,} bytes, 2 lines")

    start = time.perf_counter()
    report = validate(xml[0], layers=[Layer.XSD])
    xsd_startup = time.perf_counter() - start
    start = time.perf_counter()
    report = validate(xml[0])
    full_startup = time.perf_counter() - start
    if not report.ok or report.layers_run != (Layer.PREFLIGHT, Layer.XSD, Layer.CEN, Layer.PEPPOL):
        print(f"the benchmark document does not validate on all layers:\n{report}")
        return 1
    print(f"start-up: XSD compile {xsd_startup * 1000:.0f} ms, CEN + Peppol XSLT compile {full_startup:.2f} s")
    print(f"  rule pack: {report.pack}")
    for layer, version in report.artefacts.items():
        print(f"  {layer.value}: {version}")

    results = {
        "export": rate(lambda i: to_ubl(docs[i % len(docs)], party), args.seconds, 50),
        "xsd": rate(lambda i: validate(xml[i % len(xml)], layers=[Layer.XSD]), args.seconds, 100),
        "full": rate(lambda i: validate(xml[i % len(xml)]), args.seconds, 5),
    }
    labels = {"export": "export (to_ubl)", "xsd": "XSD validation", "full": "full validation (4 layers)"}
    print(f"\n{'step':<28}{'docs/s':>10}{'ms/doc':>10}{'target':>10}{'ratio':>8}")
    for key, value in results.items():
        print(
            f"{labels[key]:<28}{value:>10,.0f}{1000 / value:>10.2f}{TARGETS[key]:>10,.0f}{value / TARGETS[key]:>8.2f}"
        )
    return 0 if all(results[k] >= TARGETS[k] for k in TARGETS) else 2


if __name__ == "__main__":
    raise SystemExit(main())
