"""The Flowtly adapter against its sandbox: login renewal, both Hydra variants, merge-patch, a refused
third row, the account's payment methods, and what the adapter refuses for want of a documented field."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial

import httpx
import pytest
from invoicekit_flowtly import account
from invoicekit_flowtly.sandbox import create_sandbox

import invoicekit
from invoicekit import Address, AuthenticationError, Client, Invoice, InvoiceRow, Payment, WriteLanded
from invoicekit.errors import ValidationError


def _client() -> Client:
    return Client(
        name="Row Test BV",
        vat_number="BE0403019261",
        address=Address(street="Langestraat 189", postal_code="2000", city="Antwerpen"),
        external_id="row-test",
    )


def _rows(n: int) -> list[InvoiceRow]:
    return [InvoiceRow(description=f"Row {i}", quantity=1, unit_price="10.00", vat_rate=21) for i in range(n)]


@pytest.mark.parametrize("prefixed", [True, False], ids=["hydra-prefixed", "unprefixed"])
def test_lists_read_both_hydra_variants_across_pages(prefixed: bool) -> None:
    with create_sandbox(hydra_prefix=prefixed) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        made = [
            books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=_rows(1))) for _ in range(31)
        ]
        listed = [inv.provider_id for inv in books.invoices.list()]
        assert listed == [inv.provider_id for inv in made]  # 31 > one page of 30
        pages = [entry for entry in sandbox.request_log if entry == ("GET", "/invoices")]
        assert len(pages) == 2


def test_expired_token_is_renewed_once_then_refused() -> None:
    with create_sandbox(token_ttl=-1) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        # Every token is born expired: the first request logs in, gets 401, logs in again, gets 401 again.
        with pytest.raises(AuthenticationError):
            list(books.clients.list())
        logins = [entry for entry in sandbox.request_log if entry == ("POST", "/login")]
        assert len(logins) == 2
    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        list(books.clients.list())
        sandbox.token_ttl = -1  # the next token expires at once, the current one is still good
        books.adapter.auth()._token = "expired.or.revoked"  # type: ignore[attr-defined]
        sandbox.token_ttl = 3600
        assert list(books.clients.list()) == []
        logins = [entry for entry in sandbox.request_log if entry == ("POST", "/login")]
        assert len(logins) == 2  # the stale token got 401, one renewal, then it worked


def test_patch_needs_merge_patch() -> None:
    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        token = books.adapter.auth().token  # type: ignore[attr-defined]
        with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
            headers = {"Authorization": f"Bearer {token}"}
            refused = http.patch(f"/clients/{client.provider_id}", json={"name": "New"}, headers=headers)
            assert refused.status_code == 415
            accepted = http.patch(
                f"/api/clients/{client.provider_id}",
                content=b'{"name": "New"}',
                headers={**headers, "Content-Type": "application/merge-patch+json"},
            )
            assert accepted.status_code == 200
            assert accepted.json()["name"] == "New"


@pytest.mark.parametrize("strict", [False, True], ids=["assumed", "strict"])
def test_third_row_refused_names_the_invoice_and_its_rows(strict: bool) -> None:
    """The documented choice: the invoice stays with the rows that landed, and the error names both (the
    refusal of a blank productName is the seed's: productName* is required)."""
    with create_sandbox(strict=strict) as sandbox:
        inner = sandbox.transport()
        calls = {"n": 0}

        class BlankThirdRow(httpx.BaseTransport):
            # The sandbox refuses a blank productName (422); the model would refuse it before sending.
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if request.method == "POST" and request.url.path == "/invoice-rows":
                    calls["n"] += 1
                    if calls["n"] == 3:
                        body = request.read().replace(b'"Row 2"', b'"  "')
                        request = httpx.Request("POST", request.url, headers=request.headers, content=body)
                return inner.handle_request(request)

        books = invoicekit.connect("flowtly", sandbox=sandbox, transport=BlankThirdRow())
        client = books.clients.create(_client())
        rows = _rows(4)
        with pytest.raises(WriteLanded) as caught:
            books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=rows))
        landed = caught.value
        assert landed.provider_id is not None
        cause = landed.cause
        assert isinstance(cause, ValidationError)
        # The 422's violation list is API Platform's (assumed): without it, strict mode can only name the row.
        assert ("rows.2" if strict else "rows.2.description") in cause.fields
        assert f"document {landed.provider_id} exists and holds rows 0, 1" in str(cause)
        held = books.invoices.get(landed.provider_id)
        assert [row.description for row in held.rows] == ["Row 0", "Row 1"]
        books.close()


def test_payment_methods_and_payment_delete() -> None:
    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        cards = account.payment_methods(books)
        assert [(c.brand, c.last_digits, c.expires) for c in cards] == [("visa", "4242", "12/2030")]
        client = books.clients.create(_client())
        invoice = books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=_rows(1)))
        assert invoice.provider_id is not None
        paid = books.payments.create(Payment(invoice_id=invoice.provider_id, date=date.today(), amount=Decimal("5.00")))
        assert paid.provider_id is not None
        account.delete_payment(books, paid.provider_id)
        assert list(books.payments.list(invoice)) == []
        assert books.invoices.get(invoice.provider_id).paid_amount == 0


def test_sandbox_totals_are_its_own() -> None:
    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        rows = [
            InvoiceRow(description="Catering", quantity=12, unit_price="4.333", vat_rate=12),
            InvoiceRow(description="Books", quantity=3, unit_price="19.99", vat_rate=6, discount_percent=10),
        ]
        invoice = books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=rows))
        # 12 x 4.333 = 51.996 -> 52.00 (+6.24 VAT); 59.97 - 6.00 = 53.97 (+3.24 VAT): 105.97 net, 115.45 gross.
        assert (invoice.raw["amountNet"], invoice.raw["amount"]) == (Decimal("105.97"), Decimal("115.45"))
        assert invoice.rows[1].discount_percent == 10


def test_a_failed_login_is_a_request_never_sent_and_is_retried() -> None:
    """A 503 of the login: the create it preceded was never sent, so it is resent without a lookup. A lost
    login answer reaches the engine as a lost answer of the create itself (httpx raises it past the auth
    flow): a lookup runs, finds nothing, and the create is sent once."""
    from invoicekit.sandbox import FaultRule

    with create_sandbox(seed=1) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        sandbox.faults.add(FaultRule.server_error(1.0, status=503, path="/login", times=1))
        sandbox.faults.add(FaultRule.drop_after_commit(1.0, path="/login", times=1))
        # No external id: the key is one the library makes, so no get-or-create search, only the lookup.
        made = books.clients.create(_client().model_copy(update={"external_id": None}))
        assert [str(r["id"]) for r in sandbox.store.all("clients")] == [made.provider_id]
        logins = [entry.fault for entry in sandbox.request_log if entry == ("POST", "/login")]
        assert len(logins) == 3  # 503, dropped, then the one that worked
        assert logins[-1] is None
        # One lookup, for the lost login answer; none for the 503.
        assert len([e for e in sandbox.request_log if e == ("GET", "/clients")]) == 1


@pytest.mark.parametrize("strict", [False, True], ids=["assumed", "strict"])
def test_lost_invoice_create_is_uncertain_not_duplicated(strict: bool) -> None:
    """No documented invoice field can carry a key, so in both modes (the assumed sandbox still serves
    externalId) a lost create cannot be looked up: UncertainOutcome, never a blind resend."""
    from invoicekit import UncertainOutcome
    from invoicekit.sandbox import FaultRule

    with create_sandbox(strict=strict) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/invoices", times=1))
        with pytest.raises(UncertainOutcome):
            books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=_rows(1)))
        assert len(sandbox.store.all("invoices")) == 1  # it landed once, and was not sent again


def test_strict_sandbox_lost_client_create_is_found_by_its_key() -> None:
    """externalPaymentCustomerId is documented and returned, so even the strict sandbox reconciles."""
    from invoicekit.sandbox import FaultRule

    with create_sandbox(strict=True) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/clients", times=1))
        made = books.clients.create(_client())
        assert made.idempotency_key == made.external_id == "row-test"
        assert [str(r["id"]) for r in sandbox.store.all("clients")] == [made.provider_id]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("client_email", "email"),
        ("client_contacts", "contacts"),
        ("note", "note"),
        ("order_reference", "order_reference"),
        ("exempt_row", "rows.0.vat_category"),
    ],
)
def test_what_flowtly_does_not_document_is_refused_before_sending(document: str, field: str) -> None:
    from invoicekit import Contact
    from invoicekit.vat import VatCategory

    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        before = len(sandbox.request_log)
        create: Callable[[], object]
        if document == "client_email":
            create = partial(books.clients.create, _client().model_copy(update={"email": "a@client.example"}))
        elif document == "client_contacts":
            create = partial(books.clients.create, _client().model_copy(update={"contacts": [Contact(name="Jan")]}))
        else:
            invoice = Invoice(issue_date=date.today(), client=client, rows=_rows(1))
            if document == "exempt_row":
                row = InvoiceRow(
                    description="Care", quantity=1, unit_price="80.00", vat_rate=0, vat_category=VatCategory.E
                )
                invoice = invoice.model_copy(update={"rows": [row]})
            else:
                invoice = invoice.model_copy(update={document: "kept nowhere"})
            create = partial(books.invoices.create, invoice)
        with pytest.raises(ValidationError) as caught:
            create()
        assert field in caught.value.fields
        assert len(sandbox.request_log) == before  # refused before any request


def test_credit_notes_and_invoice_update_are_not_declared() -> None:
    from invoicekit import Capability, UnsupportedOperation

    with create_sandbox() as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        for capability in (
            Capability.CREDIT_NOTES_CREATE,
            Capability.INVOICES_UPDATE,
            Capability.INVOICES_SEND_EMAIL,
            Capability.INVOICES_SEND_PEPPOL,
        ):
            assert capability not in books.capabilities
        client = books.clients.create(_client())
        invoice = books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=_rows(1)))
        with pytest.raises(UnsupportedOperation):
            books.invoices.send(invoice, via="email", to="a@client.example")


def test_the_conformance_suite_passes_against_the_unprefixed_hydra_variant_in_strict_mode() -> None:
    """The suite's own runs (the matrix, the strict run) use the prefixed variant; this is the other one,
    chosen the way a user would, by the environment variable the sandbox reads."""
    from invoicekit_conformance.matrix import run_provider

    run = run_provider(
        "flowtly",
        extra_args=["--invoicekit-strict"],
        env={**os.environ, "INVOICEKIT_FLOWTLY_HYDRA": "unprefixed"},
    )
    assert run.results, run.output[-3000:]
    assert run.exit_code == 0, "\n".join(run.failures() or [run.output[-3000:]])
    passed = [r for r in run.results if r["outcome"] == "passed"]
    assert any(r["scenario"] == "test_invoice_paging" for r in passed), "the paging scenario did not run"


def test_a_client_list_without_the_key_field_stops_a_keyed_create_before_any_post() -> None:
    """Were the listed clients to lack externalPaymentCustomerId altogether, no answer could tell an absent
    client from an unread field: the keyed create stops with a Conflict naming the key, and sends no POST.
    (The list carries no view and is whole on every page, as API Platform answers with paging off: its
    totalItems ends the paging.)"""
    posts: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            return httpx.Response(200, json={"token": "jwt"})
        if request.method == "POST":
            posts.append(request.url.path)
            return httpx.Response(503)  # pragma: no cover - the test fails if a POST is made
        other = {"@id": "/clients/7", "id": 7, "name": "Someone Else BV"}
        return httpx.Response(200, json={"hydra:member": [other], "hydra:totalItems": 1})

    with (
        invoicekit.connect("flowtly", username="u", password="p", transport=httpx.MockTransport(serve)) as books,
        pytest.raises(invoicekit.errors.Conflict, match="row-test"),
    ):
        books.clients.create(_client())
    assert posts == []
