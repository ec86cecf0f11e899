"""Each committed provider page lists exactly the assumptions its sandbox's provenance data holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invoicekit.sandbox import Provenance, ProvenanceError
from invoicekit.sandbox.provenance import END, START, main, provenance_of, regenerate_command, render_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "providers").glob("*.md"))

DATA = """
[provider]
name = "toy"

[[served]]
kind = "field"
name = "client.name"
source = "seed"
ref = "toy-api.txt"

[[served]]
kind = "refusal"
name = "client.create.no_vat"
source = "assumed"
why = "a guess | with a pipe"
"""


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_a_committed_provider_page_lists_what_its_provenance_assumes(page: Path) -> None:
    provenance = provenance_of(page.stem)
    if provenance is None:
        pytest.skip(f"the {page.stem} sandbox has no provenance data yet")
    text = page.read_text(encoding="utf-8")
    assert START in text, f"{page.name} has no provenance block; add {START} / {END} and regenerate it"
    assert END in text, f"{page.name} has no {END} marker"
    assert render_page(text, provenance) == text, (
        f"{page.name} is out of date; regenerate it with\n  {regenerate_command(page.relative_to(ROOT))}"
    )


def test_the_block_between_the_markers_is_replaced_and_the_rest_kept() -> None:
    provenance = Provenance.from_toml(DATA)
    page = f"# Toy\n\nbefore\n\n{START}\nold text\n{END}\n\nafter\n"
    fresh = render_page(page, provenance)
    assert fresh.startswith("# Toy\n\nbefore\n\n" + START + "\n")
    assert fresh.endswith(END + "\n\nafter\n")
    assert "old text" not in fresh
    assert "| refusal | `client.create.no_vat` | a guess \\| with a pipe |" in fresh
    assert render_page(fresh, provenance) == fresh


def test_a_page_without_the_markers_is_refused() -> None:
    with pytest.raises(ProvenanceError, match=re.escape(f"no {START} ... {END} block")):
        render_page("# Toy\n", Provenance.from_toml(DATA))


def test_check_and_write_on_a_page_whose_sandbox_has_provenance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import invoicekit.sandbox.provenance as module

    monkeypatch.setattr(module, "provenance_of", lambda name: Provenance.from_toml(DATA) if name == "toy" else None)
    page = tmp_path / "toy.md"
    page.write_text(f"# Toy\n{START}\nstale\n{END}\n", encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert main(["--write", str(page)]) == 0
    assert "client.create.no_vat" in page.read_text(encoding="utf-8")
    assert main(["--check", str(page)]) == 0
    other = tmp_path / "other.md"
    other.write_text("# no provenance yet\n", encoding="utf-8")
    assert main(["--check", str(other)]) == 0
