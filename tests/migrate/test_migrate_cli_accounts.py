"""``invoicekit migrate --from-account / --to-account``: two accounts of one provider, over loopback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import invoicekit
from invoicekit._environ import env_name
from invoicekit.cli import app
from invoicekit.sandbox import create_sandbox, running
from invoicekit.sandbox._book import BookSize, seed_book

runner = CliRunner()


def _set_account(monkeypatch: pytest.MonkeyPatch, account: str, credentials: dict[str, str]) -> None:
    for key, value in credentials.items():
        monkeypatch.setenv(env_name("cashaca", key, account), value)


def test_a_book_moves_between_two_accounts_of_one_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    source, target = create_sandbox("cashaca"), create_sandbox("cashaca")
    written = seed_book(source, BookSize(3, 5, 1, 2))
    # The default account's variables are set too, and pointed at the source: neither side may borrow them.
    monkeypatch.setenv("INVOICEKIT_CASHACA_TOKEN", source.credentials()["token"])
    with running(source) as source_url, running(target) as target_url:
        _set_account(monkeypatch, "shop-a", {**source.credentials(), "base_url": source_url})
        _set_account(monkeypatch, "shop-b", {**target.credentials(), "base_url": target_url})
        journal = f"{tmp_path}/book.db"
        command = ["migrate", "--from", "cashaca", "--to", "cashaca", "--journal", journal, "--json"]
        result = runner.invoke(app, [*command, "--from-account", "shop-a", "--to-account", "shop-b"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert report["ok"] is True
    assert (report["run"]["source_account"], report["run"]["target_account"]) == ("shop-a", "shop-b")
    assert report["counts"]["invoice"]["written"] == written.invoices
    with invoicekit.connect("cashaca", sandbox=target) as books:
        assert len(list(books.invoices.list())) == written.invoices
    with invoicekit.connect("cashaca", sandbox=source) as books:  # the source is read, never written
        assert len(list(books.invoices.list())) == written.invoices


def test_one_account_at_both_ends_is_refused_before_any_request(tmp_path: object) -> None:
    result = runner.invoke(
        app, ["migrate", "--from", "cashaca", "--to", "cashaca", "--journal", f"{tmp_path}/j.db", "--json"]
    )
    assert result.exit_code == 2
    assert "--from-account" in result.stdout


def test_a_named_account_missing_a_credential_does_not_borrow_the_default_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("INVOICEKIT_CASHACA_TOKEN", "the-default-accounts-secret")
    # Nothing listens on port 9: a request would end in a transport error, not in the refusal below.
    _set_account(monkeypatch, "shop-a", {"token": "a", "base_url": "http://127.0.0.1:9"})
    monkeypatch.setenv("INVOICEKIT_SHOP_B_CASHACA_BASE_URL", "http://127.0.0.1:9")
    command = ["migrate", "--from", "cashaca", "--to", "cashaca", "--journal", f"{tmp_path}/j.db", "--json"]
    result = runner.invoke(app, [*command, "--from-account", "shop-a", "--to-account", "shop-b"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "ConfigurationError"
    assert "INVOICEKIT_SHOP_B_CASHACA_TOKEN not set (the default account's would be used)" in error["message"]
    assert "the-default-accounts-secret" not in result.output


def test_an_account_that_cannot_name_a_variable_is_refused(tmp_path: object) -> None:
    result = runner.invoke(
        app, ["migrate", "--from", "cashaca", "--to", "cashaca", "--from-account", "a b", "--journal", "j.db"]
    )
    assert result.exit_code == 2
    assert "account" in result.output
