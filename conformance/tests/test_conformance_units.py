"""The suite's own parts, without a provider: comparisons, the secrets watch, the sync/async bridge,
profile loading and the matrix renderer."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from invoicekit_conformance._bridge import AsyncBridge, SyncBridge
from invoicekit_conformance._compare import CLIENT_FIELDS, document_differences, field_results, strip_paths
from invoicekit_conformance._samples import billing_client, rich_client, rich_invoice
from invoicekit_conformance._secrets import SecretWatch
from invoicekit_conformance.matrix import FAILED, PASSED, UNSUPPORTED, UNVERIFIED, ProviderRun, render
from invoicekit_conformance.profile import ConformanceProfile, load_profile

from invoicekit import Address, Client, ValidationError
from invoicekit.errors import FieldIssue
from invoicekit.plugin import ProviderPlugin


# --- comparisons ----------------------------------------------------------------------------------------
def test_field_results_tell_kept_dropped_changed_and_whether_declared() -> None:
    sent = rich_client("abc123")
    got = sent.model_copy(
        update={"website": None, "phone": "+32 3 234 56 78", "sepa_mandate": None, "email": "other@x.example"}
    )
    declared = [FieldIssue("sepa_mandate", "cannot store")]
    results = {
        r.path: r for r in field_results(sent, got, CLIENT_FIELDS, declared, normalised={"phone": "spaces added"})
    }
    assert results["name"].label == "kept"
    assert results["sepa_mandate"].label == "dropped (declared)"
    assert results["sepa_mandate"].ok
    assert results["phone"].label == "normalised"
    assert results["phone"].ok
    assert results["website"].label == "dropped (undeclared)"
    assert not results["website"].ok
    assert "website: sent 'https://fidelity.example', got nothing back" in results["website"].problem()
    assert results["email"].label == "changed (undeclared)"


def test_a_declared_parent_covers_its_fields_and_a_declared_child_its_parent() -> None:
    sent = rich_client("abc123")
    got = sent.model_copy(update={"contacts": [], "address": sent.address.model_copy(update={"street2": None})})  # type: ignore[union-attr]
    declared = [FieldIssue("contacts", "one contact name"), FieldIssue("address.street2", "one street line")]
    results = {r.path: r for r in field_results(sent, got, CLIENT_FIELDS, declared)}
    assert results["contacts.0.email"].label == "dropped (declared)"
    assert results["address.street2"].label == "dropped (declared)"
    assert results["address.street"].label == "kept"


def test_decimals_compare_by_value_and_empty_is_nothing() -> None:
    sent = billing_client("t1").model_copy(update={"custom_fields": {}})
    assert all(r.status == "kept" for r in field_results(sent, sent.model_copy(), CLIENT_FIELDS, []))
    invoice = rich_invoice(billing_client("t1"), "a1b2c3")
    same_value = invoice.model_copy(
        update={"rows": [invoice.rows[0].model_copy(update={"quantity": Decimal("7.50")}), *invoice.rows[1:]]}
    )
    assert document_differences(invoice, same_value) == []


def test_strip_paths_resets_what_the_provider_cannot_carry() -> None:
    invoice = rich_invoice(billing_client("t1"), "a1b2c3")
    issues = [
        FieldIssue("rows.0.unit", "no unit codes"),
        FieldIssue("rows.2.discount_percent", "no row discounts"),
        FieldIssue("allowances_charges", "no charges"),
        FieldIssue("cashaca.something", "a provider path the model does not have"),
    ]
    stripped = strip_paths(invoice, issues)
    assert stripped.rows[0].unit == "C62"
    assert stripped.rows[2].discount_percent is None
    assert stripped.allowances_charges == []
    assert [r.description for r in stripped.rows] == [r.description for r in invoice.rows]
    assert stripped.structured_communication == invoice.structured_communication
    assert stripped.client.provider_id == invoice.client.provider_id


def test_a_missing_row_is_named() -> None:
    invoice = rich_invoice(billing_client("t1"), "a1b2c3")
    short = invoice.model_copy(update={"rows": invoice.rows[:-1]})
    problems = document_differences(invoice, short)
    assert problems[0] == "rows: sent 4 rows, got 3 back"
    assert problems[1] == "rows.3: row 3 ('Newspapers', 2 x 2.50 at 0 % (category Z)) is missing"


# --- secrets ---------------------------------------------------------------------------------------------
SECRET = "tok-s3cr3t/VALUE+42"


def test_the_watch_finds_a_secret_in_any_logger_at_debug_and_masks_it() -> None:
    watch = SecretWatch()
    watch.add_secrets([SECRET, "abc"])  # too short to be a credential: ignored
    watch.start_logging()
    try:
        logging.getLogger("some.third.party").debug("calling https://x.example/?token=%s", "tok-s3cr3t%2FVALUE%2B42")
    finally:
        watch.stop_logging()
    leaks = watch.leaks()
    assert [leak.where for leak in leaks] == ["log record of logger 'some.third.party'"]
    assert "token=<SECRET>" in leaks[0].excerpt
    assert "s3cr3t" not in leaks[0].excerpt


def test_the_watch_reads_exception_messages_reprs_and_tracebacks() -> None:
    watch = SecretWatch()
    watch.add_secrets([SECRET])
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            raise ValidationError.single("token", "bad") from inner
    except ValidationError as exc:
        watch.saw_exception(exc)
    assert {leak.where for leak in watch.leaks()} == {"traceback of ValidationError"}
    clean = SecretWatch()
    clean.add_secrets([SECRET])
    clean.saw_repr("a client", billing_client("t1"))
    assert clean.leaks() == []


# --- the sync/async bridge -------------------------------------------------------------------------------
class _Resource:
    async def get(self, key: str) -> str:
        if key == "missing":
            raise LookupError(f"no {key}")
        return key.upper()

    async def _items(self) -> AsyncIterator[int]:
        for i in range(3):
            yield i

    def list(self) -> AsyncIterator[int]:
        return self._items()


class _AsyncBooks:
    provider = "fake"

    def __init__(self) -> None:
        self.clients = _Resource()

    def supports(self, what: str) -> bool:
        return what == "yes"


class _SyncResource:
    def list(self) -> Iterator[int]:
        yield 1
        raise LookupError("page 2 failed")


class _SyncBooks:
    def __init__(self) -> None:
        self.clients = _SyncResource()


def test_the_async_bridge_awaits_calls_and_drains_async_iterators() -> None:
    watch = SecretWatch()
    with start_blocking_portal() as portal:
        books: Any = AsyncBridge(_AsyncBooks(), watch, portal)
        assert books.provider == "fake"
        assert books.supports("yes") is True
        assert books.clients.get("abc") == "ABC"
        assert list(books.clients.list()) == [0, 1, 2]
        with pytest.raises(LookupError):
            books.clients.get("missing")
    assert ("message of LookupError", "'no missing'") in watch.texts or any("no missing" in t for _, t in watch.texts)


def test_the_sync_bridge_sees_errors_raised_while_iterating() -> None:
    watch = SecretWatch()
    books: Any = SyncBridge(_SyncBooks(), watch)
    items = books.clients.list()
    assert next(items) == 1
    with pytest.raises(LookupError):
        next(items)
    assert any("page 2 failed" in text for _, text in watch.texts)


# --- profiles --------------------------------------------------------------------------------------------
PROFILE = ConformanceProfile(unknown_id="42")


def _plugin(extra: dict[str, Any] | None, module: str = "nowhere_pkg._adapter") -> ProviderPlugin:
    def create_adapter(**credentials: Any) -> Any:
        raise NotImplementedError

    create_adapter.__module__ = module
    return ProviderPlugin(name="fake", title="Fake", create_adapter=create_adapter, extra=extra)


@pytest.mark.parametrize(
    "declared",
    [PROFILE, lambda: PROFILE, f"{__name__}:PROFILE"],
    ids=["instance", "callable", "module:attribute"],
)
def test_a_profile_is_declared_in_the_plugin_extra(declared: object) -> None:
    assert load_profile(_plugin({"conformance": declared})) is PROFILE


def test_a_profile_is_found_by_convention_or_defaults_to_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("conventional_pkg")
    package.__path__ = []
    module = types.ModuleType("conventional_pkg.conformance")
    module.profile = PROFILE  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conventional_pkg", package)
    monkeypatch.setitem(sys.modules, "conventional_pkg.conformance", module)
    assert load_profile(_plugin(None, "conventional_pkg._adapter")) is PROFILE
    assert load_profile(_plugin(None)) == ConformanceProfile()


def test_a_wrong_profile_declaration_is_an_error() -> None:
    with pytest.raises(TypeError, match="is not a ConformanceProfile"):
        load_profile(_plugin({"conformance": 42}))


def test_the_default_peppol_clients_are_valid_and_differ() -> None:
    receiver, other = ConformanceProfile().peppol_receiver(), ConformanceProfile().peppol_non_receiver()
    assert receiver.peppol_id is not None
    assert other.peppol_id is None
    assert isinstance(receiver.address, Address)
    assert isinstance(other, Client)


# --- the matrix ------------------------------------------------------------------------------------------
def _result(scenario: str, mode: str, outcome: str, covers: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "provider": "fake",
        "where": extra.pop("where", "sandbox"),
        "mode": mode,
        "scenario": scenario,
        "params": {},
        "covers": covers,
        "behaviour": extra.pop("behaviour", None),
        "outcome": outcome,
        "message": "",
        "properties": extra,
    }


def test_the_matrix_says_passed_failed_unsupported_and_unverified() -> None:
    run = ProviderRun(
        name="fake",
        title="Fake",
        declared=["clients.create", "clients.get", "invoices.create", "invoices.get"],
        results=[
            _result(
                "test_client_round_trip",
                "sync",
                "passed",
                ["clients.create", "clients.get"],
                client_fidelity={"name": "kept", "email": "dropped (declared)"},
            ),
            _result(
                "test_client_round_trip",
                "async",
                "passed",
                ["clients.create", "clients.get"],
                client_fidelity={"name": "kept", "email": "dropped (undeclared)"},
            ),
            _result("test_invoice_round_trip", "sync", "passed", ["invoices.create"]),
            _result("test_invoice_round_trip", "async", "failed", ["invoices.create"]),
            _result(
                "test_undeclared_operations_are_refused",
                "sync",
                "failed",
                [],
                behaviour="undeclared refused",
                undeclared={"clients.list": "refused"},
            ),
            _result("test_bad_credentials", "sync", "passed", [], behaviour="bad credentials"),
            _result("test_bad_credentials", "async", "failed", [], behaviour="bad credentials", where="live"),
        ],
    )
    text = render([run])
    assert "Generated, do not edit" in text
    assert "uv run python -m invoicekit_conformance.matrix --output docs/providers.md" in text
    assert f"| `clients.create` | {PASSED} |" in text
    assert f"| `invoices.create` | {FAILED} (async) |" in text
    assert f"| `invoices.get` | {UNVERIFIED} |" in text
    assert f"| `clients.list` | {UNSUPPORTED} |" in text
    assert "| `clients.delete` | ❌ not declared, yet not refused |" in text
    assert f"| bad credentials | {PASSED} |" in text  # the live failure does not count
    assert "| `email` | async: ❌ dropped (undeclared) / sync: ➖ dropped (declared) |" in text
    assert render([run]) == text
    assert date.today().isoformat() not in text


def test_matrix_says_invoicekit_builds_the_ubl_a_provider_cannot_give() -> None:
    """Books builds the UBL of a fetched invoice for a provider without invoices.ubl, given the seller."""
    from invoicekit_conformance.matrix import BUILT_UBL

    can_fetch = ProviderRun(name="fetcher", title="Fetcher", declared=["invoices.get"])
    cannot = ProviderRun(name="blind", title="Blind", declared=["clients.get"])
    assert f"| `invoices.ubl` | {BUILT_UBL} |" in render([can_fetch])
    assert f"| `invoices.ubl` | {UNSUPPORTED} |" in render([cannot])


# --- the PDF scenarios' checks ---------------------------------------------------------------------------
def test_the_pdf_check_finds_number_payable_in_either_spelling_and_the_ogm() -> None:
    from invoicekit_conformance.scenarios.test_pdf import amount_spellings, pdf_problems, pdf_text

    from invoicekit.model import Invoice, InvoiceRow
    from invoicekit.sandbox import PdfDocument, PdfLine, render_pdf

    invoice = Invoice(
        issue_date=date(2026, 12, 1),
        client=billing_client("t1"),
        rows=[InvoiceRow(description="Work", quantity=1, unit_price="1020.30", vat_rate=21)],
        structured_communication="123456789002",
    ).model_copy(update={"number": "2026-0007"})
    assert invoice.totals.payable == Decimal("1234.56")
    assert amount_spellings(Decimal("1234.56")) == {"1234.56", "1,234.56", "1234,56", "1.234,56"}

    def pdf(payable: str, number: str = "2026-0007", ogm: str | None = "+++123/4567/89002+++") -> str:
        doc = PdfDocument(
            title="Factuur", number=number, issue_date="2026-12-01", due_date=None, seller=["Us"], buyer=["Them"],
            lines=[PdfLine("Work", "1", "1020.30", "21", "1020.30")], net_total="1020.30", vat_total="214.26",
            payable=payable, payment_reference=ogm,
        )  # fmt: skip
        return pdf_text(render_pdf(doc), "the test PDF")

    assert pdf_problems(invoice, invoice.totals.payable, pdf("1.234,56")) == []
    assert pdf_problems(invoice, invoice.totals.payable, pdf("1234.56")) == []
    problems = pdf_problems(invoice, invoice.totals.payable, pdf("1234.57", number="2026-0008", ogm=None))
    assert problems[0] == "the number '2026-0007' is not in its text"
    assert problems[1].startswith("the amount payable 1234.56 is not in its text")
    assert problems[2] == "the OGM +++123/4567/89002+++ is not in its text"
    with pytest.raises(AssertionError, match="not a PDF"):
        pdf_text(b"<html>", "a page")


# --- what a provider can carry, and creates that landed without an answer ------------------------------------
class _Declares:
    """An adapter stand-in that declares it cannot store a client's e-mail nor an invoice's note."""

    def field_losses(self, document: Any) -> list[FieldIssue]:
        from invoicekit import Invoice

        if isinstance(document, Client):
            return [FieldIssue("email", "no e-mail field")] if document.email else []
        return [FieldIssue("note", "no note field")] if isinstance(document, Invoice) and document.note else []


def test_carried_strips_what_the_adapter_declares_and_nothing_else() -> None:
    from invoicekit_conformance._samples import carried

    adapter: Any = _Declares()
    client = billing_client("abc123")
    kept = carried(adapter, client)
    assert kept.email is None
    assert kept.model_dump(exclude={"email"}) == client.model_dump(exclude={"email"})
    invoice = rich_invoice(client, "abc123")
    fitted = carried(adapter, invoice)
    assert fitted.client.email is None
    assert fitted.note is None
    assert fitted.order_reference == invoice.order_reference
    assert [r.description for r in fitted.rows] == [r.description for r in invoice.rows]
    plain = carried(adapter, kept)
    assert plain is kept  # nothing declared: the very document


class _Held:
    """A target stand-in whose documents are read back by id (their first row's description)."""

    def __init__(self, marks: dict[str, str | None]) -> None:
        self.marks = marks
        self.books = self

    @property
    def invoices(self) -> Any:
        return self

    def supports(self, *capabilities: Any) -> bool:
        return True

    def get(self, provider_id: str) -> Any:
        mark = self.marks[provider_id]
        rows = [types.SimpleNamespace(description=mark)] if mark is not None else []
        return types.SimpleNamespace(rows=rows)


def test_documents_no_create_returned_count_as_uncertain_but_landed_never_as_copies() -> None:
    from invoicekit_conformance.scenarios.test_faults import _unreturned

    target: Any = _Held({"1": "a", "2": "b", "3": None, "4": "c", "5": "a", "6": "c"})
    # Held but returned by no create, within the UncertainOutcomes and unlike any other: landed, uncertain.
    assert _unreturned(target, "invoice", "the sandbox holds", ["3", "4"], ["1", "2"], 2) == []
    # More of them than UncertainOutcomes: a create was made twice, whatever they hold.
    (more,) = _unreturned(target, "invoice", "the sandbox holds", ["3", "4"], ["1", "2"], 1)
    assert "2 created through the API, but the sandbox holds 4" in more
    assert "a create was retried blindly" in more
    # A second copy of a returned document, or of another unreturned one, is a duplicate, not an uncertainty.
    (copy,) = _unreturned(target, "invoice", "the sandbox holds", ["5"], ["1", "2"], 1)
    assert "5 (held, returned by no create) repeats 'a' of another document" in copy
    (twice,) = _unreturned(target, "invoice", "the sandbox holds", ["4", "6"], ["1"], 2)
    assert "6 (held, returned by no create) repeats 'c'" in twice


# --- the exactly-once race's counts -----------------------------------------------------------------------
def test_the_race_tally_counts_duplicates_by_key_losses_hand_offs_and_honest_errors() -> None:
    from invoicekit_conformance._exactly_once import Outcome, tally

    def ok(key: str, provider_id: str, got: str = "m") -> Outcome:
        return Outcome(key=key, marker="m", provider_id=provider_id, got_key=key, got_marker=got)

    outcomes = [
        ok("k1", "1"),
        ok("k2", "2"),
        ok("k3", "3", got="other"),  # handed someone else's document
        ok("k4", "9"),  # returned, never stored
        Outcome(key="k5", marker="m", error="UncertainOutcome: lost", honest=True),
        Outcome(key="k6", marker="m", error="ProviderUnavailable: 503"),  # the library gave up: a failure
    ]
    keys = {"1": "k1", "2": "k2", "3": "k3", "4": "k2", "5": "k5"}  # 4 is a second document for k2
    counts = tally("invoice", outcomes, ["0"], ["0", "1", "2", "3", "4", "5"], keys.get)
    assert {k: counts[k] for k in ("creates", "ok", "failures", "wrong", "duplicates", "missing")} == {
        "creates": 6,
        "ok": 4,
        "failures": 1,
        "wrong": 1,
        "duplicates": 1,
        "missing": 1,
    }
    assert (counts["UncertainOutcome"], counts["WriteLanded"], counts["Conflict"]) == (1, 0, 0)
    # Without a way to read keys back, extra stored documents beyond the honest errors are duplicates.
    assert tally("invoice", outcomes, ["0"], ["0", "1", "2", "3", "4", "5"], None)["duplicates"] == 1
    assert tally("invoice", outcomes, None, None, None)["duplicates"] is None
