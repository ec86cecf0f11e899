"""``invoicekit demo``: the same story against every installed provider's sandbox, then the same code through
every adapter, the UBL and a verified migration; what a provider declares it cannot store is left out and said
so, never refused halfway nor dropped in silence."""

from __future__ import annotations

import io
import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from invoicekit import Client, Invoice, InvoiceRow
from invoicekit._demo import ADAPTERS, _storable, run_demo
from invoicekit.errors import FieldIssue, ValidationError
from invoicekit.registry import installed_providers, load_provider


def _run(provider: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_demo(provider, Console(file=out, width=200, color_system=None))
    return code, out.getvalue()


@pytest.mark.parametrize("provider", list(installed_providers()))
def test_the_demo_story_runs_against_every_sandbox(provider: str) -> None:
    code, text = _run(provider)
    assert code == 0, text
    for step in ("1. client created", "2. invoice", "3. unpaid before payment", "4. paid", "5. paid the rest"):
        assert step in text, f"{provider}: step {step!r} missing from the demo:\n{text}"
    assert re.search(r"5. paid the rest: status [^,]+, unpaid list: empty", text), text
    adapter_type = load_provider(provider).create_adapter
    sent = "6. sent via Peppol" in text
    assert sent == ("invoices.send_peppol" in {c.value for c in adapter_type.capabilities}), text  # type: ignore[attr-defined]
    assert ("delivered via Peppol" in text) == sent, text


def test_the_demo_on_flowtly_says_what_it_leaves_out() -> None:
    if "flowtly" not in installed_providers():
        pytest.skip("invoicekit-flowtly is not installed")
    code, text = _run("flowtly")
    assert code == 0, text
    text = text[: text.index("7. Peppol BIS")]  # the round on flowtly; part 8 says it again
    left_out = re.findall(r"flowtly cannot store (\S+) ", text)
    assert left_out == ["email", "order_reference", "rows.2.vat_category", "rows.2.exemption_reason"], text
    assert "row 2 left out" in text
    # The exempt row is gone whole (not turned into a 0 % standard row): two rows, two VAT groups.
    assert "Training (exempt)" not in text
    assert "(2 VAT groups)" in text
    assert "6. not sent: flowtly declares no Peppol send" in text


def test_demo_runs_every_part_and_the_migration_verifies() -> None:
    code, text = _run("cashaca")
    assert code == 0, text
    assert "Peppol BIS 3.0 UBL" in text
    assert "valid" in text
    table = text[text.index("the same code") :]
    assert all(name in table for name in ADAPTERS)
    assert "verification (target against source)" in text
    assert "migrated and verified" in text
    assert " NO " not in text


def _losing(path: str) -> Any:
    """A stand-in for Books whose adapter declares it cannot store the field at ``path``."""
    adapter = SimpleNamespace(field_losses=lambda document: [FieldIssue(path, "no VAT code for it")])
    return SimpleNamespace(provider="toy", adapter=adapter)


@pytest.mark.parametrize("path", ["rows", "rows.x.vat_category", "rows.2.vat_category", "rows.-1", "rows.²"])
def test_a_declared_row_loss_that_names_no_row_is_refused_naming_the_field(path: str) -> None:
    """An adapter's field_losses path under rows that names none of the document's rows: a ValidationError
    naming it (what Books would raise), not a bare ValueError from parsing it nor a row left out at random."""
    invoice = Invoice(
        issue_date=date(2026, 12, 1),
        client=Client(name="Acme"),
        rows=[InvoiceRow(description=f"row {i}", unit_price="10.00", vat_rate=21) for i in range(2)],
    )
    with pytest.raises(ValidationError) as caught:
        _storable(_losing(path), invoice, Console(file=io.StringIO()))
    assert caught.value.fields == (path,)
    assert caught.value.provider == "toy"
    kept = _storable(_losing("rows.1.vat_category"), invoice, Console(file=io.StringIO()))
    assert [row.description for row in kept.rows] == ["row 0"]
