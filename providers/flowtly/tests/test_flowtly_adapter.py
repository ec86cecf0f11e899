"""The Flowtly adapter against its sandbox: login renewal, both Hydra variants, merge-patch, a refused
third row, the account's payment methods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
        email="rows@client.example",
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


def test_third_row_refused_names_the_invoice_and_its_rows() -> None:
    """The documented choice: the invoice stays with the rows that landed, and the error names both."""
    with create_sandbox() as sandbox:
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
        assert "rows.2.description" in cause.fields
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
        made = books.clients.create(_client())
        assert [str(r["id"]) for r in sandbox.store.all("clients")] == [made.provider_id]
        logins = [entry.fault for entry in sandbox.request_log if entry == ("POST", "/login")]
        assert len(logins) == 3  # 503, dropped, then the one that worked
        assert logins[-1] is None
        # One lookup, for the lost login answer; none for the 503.
        assert len([e for e in sandbox.request_log if e == ("GET", "/clients")]) == 1


def test_strict_sandbox_lost_invoice_create_is_uncertain_not_duplicated() -> None:
    """The strict sandbox does not return externalId (not in Flowtly's public field table): a lost create
    cannot be looked up, so it ends in UncertainOutcome rather than a blind resend."""
    from invoicekit import UncertainOutcome
    from invoicekit.sandbox import FaultRule

    with create_sandbox(strict=True) as sandbox, invoicekit.connect("flowtly", sandbox=sandbox) as books:
        client = books.clients.create(_client())
        sandbox.faults.add(FaultRule.drop_after_commit(1.0, method="POST", path="/invoices", times=1))
        with pytest.raises(UncertainOutcome):
            books.invoices.create(Invoice(issue_date=date.today(), client=client, rows=_rows(1)))
        assert len(sandbox.store.all("invoices")) == 1  # it landed once, and was not sent again
