"""``invoicekit demo`` tells the whole story and says so: every adapter, the UBL, the verified migration."""

from __future__ import annotations

import io

from rich.console import Console

from invoicekit._demo import ADAPTERS, run_demo


def test_demo_runs_every_part_and_the_migration_verifies() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    assert run_demo("cashaca", console) == 0
    text = out.getvalue()
    assert "Peppol BIS 3.0 UBL" in text
    assert "valid" in text
    table = text[text.index("the same code") :]
    assert all(name in table for name in ADAPTERS)
    assert "verification (target against source)" in text
    assert "migrated and verified" in text
    assert " NO " not in text
