"""``invoicekit ubl export|validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from invoicekit.model import Address, Client
from invoicekit.ubl import RulePack, preflight, to_ubl
from invoicekit.ubl._cli import load_document, ubl_app

from ._golden import CREDIT_NOTE_EXTRAS, credit_note, seller, standard_21_6
from .conftest import Validator

runner = CliRunner()


def flat(output: str) -> str:
    # rich wraps at the terminal width; compare on the words.
    return " ".join(output.split())


def document_file(tmp_path: Path, name: str = "invoice.json", **overrides: Any) -> Path:
    shape: dict[str, Any] = {
        "seller": seller().model_dump(mode="json"),
        "invoice": standard_21_6().model_dump(mode="json", exclude_none=True),
    }
    shape.update(overrides)
    path = tmp_path / name
    path.write_text(json.dumps(shape), encoding="utf-8")
    return path


def test_json_shape_round_trips_to_the_same_document() -> None:
    original = standard_21_6()
    document, loaded_seller, extras = load_document(
        {
            "seller": seller().model_dump(mode="json"),
            "credit_note": credit_note().model_dump(mode="json"),
            "extras": {"billing_references": [{"id": "2026-0001", "issue_date": "2026-01-15"}]},
        }
    )
    assert extras == CREDIT_NOTE_EXTRAS
    assert loaded_seller == seller()
    assert type(document).__name__ == "CreditNote"
    again, _, _ = load_document(
        {"seller": seller().model_dump(mode="json"), "invoice": original.model_dump(mode="json")}
    )
    assert to_ubl(again, seller()) == to_ubl(original, seller())


def test_export_writes_valid_ubl_next_to_the_json(tmp_path: Path) -> None:
    source = document_file(tmp_path)
    result = runner.invoke(ubl_app, ["export", str(source)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "invoice.xml"
    assert written.read_bytes() == to_ubl(standard_21_6(), seller())
    assert preflight(written.read_bytes()) == []


def test_export_to_a_directory_for_several_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    first, second = document_file(tmp_path, "a.json"), document_file(tmp_path, "b.json")
    result = runner.invoke(ubl_app, ["export", str(first), str(second), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.xml", "b.xml"]


def test_export_refuses_a_document_that_fails_preflight(tmp_path: Path) -> None:
    person = Client(
        kind="person", name="Jan Janssens", address=Address(street="Kerkstraat 1", postal_code="1000", city="Gent")
    )
    invoice = standard_21_6().model_copy(update={"client": person}).model_dump(mode="json", exclude_none=True)
    source = document_file(tmp_path, invoice=invoice)
    result = runner.invoke(ubl_app, ["export", str(source)])
    assert result.exit_code == 1
    assert "PEPPOL-EN16931-R010" in result.output
    assert not (tmp_path / "invoice.xml").exists()
    forced = runner.invoke(ubl_app, ["export", "--force", str(source)])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "invoice.xml").exists()


def test_export_reports_a_malformed_file(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text(json.dumps({"invoice": {}}), encoding="utf-8")
    result = runner.invoke(ubl_app, ["export", str(source)])
    assert result.exit_code == 1
    assert "seller" in result.output


def test_validate_exit_codes_and_report(
    tmp_path: Path, rule_pack: RulePack, full_validate: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICEKIT_RULES_DIR", str(rule_pack.path.parent))
    good = tmp_path / "good.xml"
    good.write_bytes(to_ubl(standard_21_6(), seller()))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(good.read_bytes().replace(b"<cbc:BuyerReference>2026-0001</cbc:BuyerReference>", b""))
    ok = runner.invoke(ubl_app, ["validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "valid (preflight, xsd, cen, peppol)" in flat(ok.output)
    assert "rule pack: Peppol BIS 3.0.19 (CEN 1.3.14.1)" in flat(ok.output)
    failed = runner.invoke(ubl_app, ["validate", str(good), str(bad)])
    assert failed.exit_code == 1
    assert "PEPPOL-EN16931-R003" in failed.output
    assert "bad.xml: 2 fatal" in flat(failed.output)  # pre-flight's R003 and the Peppol layer's
    as_json = runner.invoke(ubl_app, ["validate", "--json", str(good), str(bad)])
    assert as_json.exit_code == 1
    files = {Path(f["file"]).name: f for f in json.loads(as_json.output)["files"]}
    assert files["good.xml"]["ok"] is True
    assert files["good.xml"]["layers_run"] == ["preflight", "xsd", "cen", "peppol"]
    assert files["bad.xml"]["ok"] is False
    assert "PEPPOL-EN16931-R003" in {f["rule"] for f in files["bad.xml"]["findings"]}
    assert str(files["good.xml"]["pack"]).startswith("Peppol BIS 3.0.19")


def test_validate_without_a_pack_names_the_install_command(
    tmp_path: Path, xsd_validate: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICEKIT_RULES_DIR", str(tmp_path / "empty"))
    path = tmp_path / "doc.xml"
    path.write_bytes(to_ubl(standard_21_6(), seller()))
    result = runner.invoke(ubl_app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid (preflight, xsd)" in flat(result.output)
    assert "invoicekit ubl rules install" in flat(result.output)


def test_rules_install_and_list(tmp_path: Path, rule_pack: RulePack) -> None:
    from .conftest import shared_path

    target = tmp_path / "rules"
    sources = shared_path("peppol-rules", "bis-3.0.19")
    schxslt = shared_path("peppol-rules", "schxslt-1.9.5")
    installed = runner.invoke(
        ubl_app, ["rules", "install", str(sources), "--schxslt", str(schxslt), "--rules-dir", str(target)]
    )
    assert installed.exit_code == 0, installed.output
    assert (target / "peppol-bis-3.0.19" / "pack.json").is_file()
    listed = runner.invoke(ubl_app, ["rules", "list", "--rules-dir", str(target)])
    assert listed.exit_code == 0, listed.output
    text = flat(listed.output)
    assert "3.0.19" in text
    assert "1.3.14.1" in text
    assert "2025-08-21" in text
    assert "mandatory today" in text
    assert "3.0.21" in text  # the release mandatory on 2026-12-01 (the clock of this session)
    empty = runner.invoke(ubl_app, ["rules", "list", "--rules-dir", str(tmp_path / "none")])
    assert "no rule pack" in flat(empty.output)
    as_json = json.loads(runner.invoke(ubl_app, ["rules", "list", "--json", "--rules-dir", str(target)]).output)
    assert [(p["release"], p["cen_release"]) for p in as_json["packs"]] == [("3.0.19", "1.3.14.1")]
    assert as_json["mandatory_today"] is not None


def test_rules_install_refuses_a_folder_without_sources(tmp_path: Path) -> None:
    result = runner.invoke(ubl_app, ["rules", "install", str(tmp_path), "--schxslt", str(tmp_path)])
    assert result.exit_code == 1
    assert "PEPPOL-EN16931-UBL.sch" in flat(result.output)


def test_validate_with_chosen_layers(tmp_path: Path, xsd_validate: Validator) -> None:
    path = tmp_path / "doc.xml"
    path.write_bytes(to_ubl(standard_21_6(), seller()))
    result = runner.invoke(ubl_app, ["validate", "--layers", "xsd", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid (xsd)" in flat(result.output)


@pytest.mark.parametrize("layers", ["bogus", "xsd,nope"])
def test_validate_rejects_unknown_layers(tmp_path: Path, layers: str) -> None:
    path = tmp_path / "doc.xml"
    path.write_bytes(b"<x/>")
    result = runner.invoke(ubl_app, ["validate", "--layers", layers, str(path)])
    assert result.exit_code == 2


def test_validate_reports_malformed_xml(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_bytes(b"<Invoice>")
    result = runner.invoke(ubl_app, ["validate", "--layers", "preflight", str(path)])
    assert result.exit_code == 1
    assert "XML-WELLFORMED" in result.output


def test_export_of_a_control_character_names_the_field(tmp_path: Path) -> None:
    invoice = standard_21_6().model_dump(mode="json", exclude_none=True)
    invoice["client"]["name"] = "IT Services\u0007 BV"
    result = runner.invoke(ubl_app, ["export", str(document_file(tmp_path, invoice=invoice))])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = flat(result.output)
    assert "INVOICEKIT-XML-CHAR" in text
    assert "client.name" in text
    assert not (tmp_path / "invoice.xml").exists()


def test_validate_size_limit_can_be_raised(tmp_path: Path, xsd_validate: Validator) -> None:
    path = tmp_path / "doc.xml"
    data = to_ubl(standard_21_6(), seller())
    path.write_bytes(data)
    small = runner.invoke(ubl_app, ["validate", "--layers", "xsd", "--max-bytes", str(len(data) - 1), str(path)])
    assert small.exit_code == 1
    assert "XML-UNSAFE" in small.output
    enough = runner.invoke(ubl_app, ["validate", "--layers", "xsd", "--max-bytes", str(len(data)), str(path)])
    assert enough.exit_code == 0, enough.output
