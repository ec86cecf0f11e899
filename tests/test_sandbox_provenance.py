"""The provenance data format: every served thing names its origin, and strict mode drops assumptions."""

from __future__ import annotations

import pytest

from invoicekit.sandbox import Provenance, ProvenanceError, Sandbox, UnlistedField

DATA = """
[provider]
name = "toy"

[[served]]
kind = "field"
name = "invoice.id"
source = "seed"
ref = "toy-api.txt#Invoice"

[[served]]
kind = "field"
name = "invoice.paid_amount"
source = "assumed"
why = "no source shows it"

[[served]]
kind = "field"
name = "invoice.lines"
source = "client"
ref = "someone/toy-client:src/Invoice.php"

[[served]]
kind = "field"
name = "invoice.lines[].price"
source = "client"
ref = "someone/toy-client:src/Invoice.php"

[[served]]
kind = "field"
name = "invoice.lines[].guess"
source = "assumed"
why = "made up"

[[served]]
kind = "field"
name = "invoice.client"
source = "client"
ref = "someone/toy-client"
same_as = "client"

[[served]]
kind = "field"
name = "client.name"
source = "seed"
ref = "toy-api.txt"

[[served]]
kind = "field"
name = "client.score"
source = "assumed"
why = "a guess"

[[served]]
kind = "refusal"
name = "client.create.address_required"
source = "assumed"
why = "only an old page says so"
"""

RECORD = {
    "id": 1,
    "paid_amount": "10.00",
    "lines": [{"price": "5.00", "guess": 1}],
    "client": {"name": "X", "score": 3},
}


def test_shape_serves_everything_listed_in_assumed_mode() -> None:
    provenance = Provenance.from_toml(DATA)
    assert provenance.shape("invoice", RECORD, strict=False) == RECORD


def test_strict_mode_drops_assumed_fields_at_every_depth() -> None:
    provenance = Provenance.from_toml(DATA)
    assert provenance.shape("invoice", RECORD, strict=True) == {
        "id": 1,
        "lines": [{"price": "5.00"}],
        "client": {"name": "X"},
    }


def test_strict_mode_turns_assumed_refusals_off() -> None:
    provenance = Provenance.from_toml(DATA)
    assert provenance.enforces("client.create.address_required", strict=False)
    assert not provenance.enforces("client.create.address_required", strict=True)


def test_a_field_without_provenance_is_a_sandbox_bug() -> None:
    provenance = Provenance.from_toml(DATA)
    with pytest.raises(UnlistedField, match=r"invoice\.total"):
        provenance.shape("invoice", {"total": "1"}, strict=False)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "field"\nname = "a.b"\nsource = "assumed"', "says why"),
        ('kind = "field"\nname = "a.b"\nsource = "seed"', "names its ref"),
        ('kind = "colour"\nname = "a.b"\nsource = "seed"\nref = "x"', "kind must be one of"),
        ('kind = "field"\nname = "a.b"\nsource = "rumour"\nref = "x"', "source must be one of"),
        ('kind = "field"\nname = "a.b"\nsource = "seed"\nref = "x"\nwhere = "?"', "unknown keys"),
    ],
)
def test_malformed_entries_fail_at_load_time(entry: str, message: str) -> None:
    with pytest.raises(ProvenanceError, match=message):
        Provenance.from_toml(f'[provider]\nname = "toy"\n[[served]]\n{entry}\n')


def test_duplicates_are_refused() -> None:
    entry = '[[served]]\nkind = "field"\nname = "a.b"\nsource = "seed"\nref = "x"\n'
    with pytest.raises(ProvenanceError, match="listed twice"):
        Provenance.from_toml(f'[provider]\nname = "toy"\n{entry}{entry}')


def test_markdown_lists_every_assumption_with_its_reason() -> None:
    text = Provenance.from_toml(DATA).markdown()
    for origin in Provenance.from_toml(DATA).assumed():
        assert f"`{origin.name}`" in text
        assert origin.why in text
    assert "`invoice.id`" not in text


def test_a_sandbox_without_provenance_cannot_be_strict() -> None:
    with pytest.raises(ValueError, match="cannot run in strict mode"):
        Sandbox("toy", lambda sandbox: None, strict=True)  # type: ignore[arg-type,return-value]
