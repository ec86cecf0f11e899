"""``POST /coda/parse`` and ``POST /coda/import``: bank statements in CODA, the vendor CLI's payment flow.

The vendor's importcoda.rb (wimverstuyf/eenvoudigfactureren-tools) posts a CODA file as the raw body, first
to ``coda/parse`` without a key (it reads ``[0]['account']['number']``, the statement's IBAN, to pick the
account), then to ``coda/import`` with the account's key (it prints ``transactions_success_count`` of
``transactions_count``). Outside ``/api/v1``, as the tool's URLs are.

CODA is Febelfin's fixed-width format (128-character records): record 1 holds the account (structure ``2`` or
``3``: an IBAN in positions 6-39), records 2.1 the movements (sign at 32, amount in thousandths at 33-47,
value date DDMMYY at 48-53, a structured communication when position 62 is ``1`` and 63-65 are ``101``, its 12
digits at 66-77). The sandbox books a credit movement whose structured communication is an open invoice's OGM
as a payment of that invoice; what counts as a "success" at EF is assumed to be exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from invoicekit_eenvoudigfactureren import _sandbox_invoices as si
from invoicekit_eenvoudigfactureren._sandbox_common import Env, money, timestamp
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = ["import_coda", "parse_coda"]


@dataclass
class Movement:
    amount: Decimal  # positive for money received
    value_date: str
    ogm: str


@dataclass
class Statement:
    account: str
    movements: list[Movement] = field(default_factory=list)


def _date(text: str) -> str:
    day, month, year = int(text[0:2]), int(text[2:4]), 2000 + int(text[4:6])
    return date(year, month, day).isoformat()


def _statements(body: bytes) -> list[Statement]:
    statements: list[Statement] = []
    try:
        lines = body.decode("latin-1").splitlines()
        for line in (raw.ljust(128) for raw in lines if raw.strip()):
            if line[0] == "1":
                structure = line[1]
                account = line[5:39].strip() if structure in "23" else line[5:17].strip()
                statements.append(Statement(account.split(" ")[0]))
            elif line[0:2] == "21" and statements:
                amount = Decimal(line[32:47]) / 1000
                ogm = line[65:77] if line[61] == "1" and line[62:65] == "101" else ""
                sign = Decimal(-1) if line[31] == "1" else Decimal(1)
                statements[-1].movements.append(Movement(amount * sign, _date(line[47:53]), ogm))
    except (ValueError, ArithmeticError, IndexError):
        raise ApiError(400, "coda invalid") from None
    if not statements:
        raise ApiError(400, "coda invalid")
    return statements


def parse_coda(body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "account": {"number": statement.account},
            "transactions": [
                {"amount": money(m.amount), "date": m.value_date, "structured_message": m.ogm}
                for m in statement.movements
            ],
        }
        for statement in _statements(body)
    ]


def import_coda(env: Env, body: bytes) -> dict[str, Any]:
    movements = [m for statement in _statements(body) for m in statement.movements]
    booked = 0
    for movement in movements:
        if movement.amount <= 0 or not movement.ogm:
            continue
        for record in env.store.all(si.INVOICES):
            figures = si.totals(record)
            open_amount = figures["total_with_tax"] - figures["total_paid"]
            if record.get("structured_message") == movement.ogm and open_amount > 0:
                payment = {
                    "payment_id": env.store.next_value("payment_id"),
                    "date": movement.value_date,
                    "amount": money(movement.amount),
                    "description": "CODA",
                    "method": "transfer",
                    "created": timestamp(),
                }
                record["payments"] = [*record.get("payments", []), payment]
                env.store.replace(si.INVOICES, int(record["id"]), record)
                booked += 1
                break
    return {"transactions_count": len(movements), "transactions_success_count": booked}
