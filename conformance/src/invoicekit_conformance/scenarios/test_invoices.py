"""Invoices: the round trip (rows at every Belgian rate, categories, discounts, notes, OGM) and the
provider's totals against invoicekit's totals engine, to the cent; numbering, update, delete, UBL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from invoicekit import Address, Client, Invoice, InvoiceRow, NotFound, ValidationError
from invoicekit import Capability as C
from invoicekit.errors import FieldIssue
from invoicekit.vat import VatCategory
from invoicekit_conformance._compare import (
    INVOICE_FEATURES,
    document_differences,
    get_path,
    strip_paths,
    totals_differences,
)
from invoicekit_conformance._samples import billing_client, carried, rich_invoice, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Meter, Target


def _wild(path: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def _declared(pattern: str, issues: list[FieldIssue]) -> bool:
    """Whether the adapter declared the feature at ``pattern`` (or what contains it) unsupported."""
    return any(pattern == _wild(i.path) or pattern.startswith(_wild(i.path) + ".") for i in issues)


def _failed(pattern: str, problems: list[str]) -> bool:
    paths = [_wild(p.split(": ", 2)[1]) for p in problems if p.count(": ") >= 2]
    return any(path == pattern or path.startswith(pattern + ".") for path in paths)


def _merge(on_create: list[str], on_get: list[str]) -> list[str]:
    """One line per difference, saying whether the create's answer, the get's or both showed it."""
    created = {p.split(": ", 1)[1] for p in on_create}
    got = {p.split(": ", 1)[1] for p in on_get}
    merged = []
    for text in dict.fromkeys(p.split(": ", 1)[1] for p in on_create + on_get):
        who = (
            "create and get returned"
            if text in created and text in got
            else "create returned"
            if text in created
            else "get returned"
        )
        merged.append(f"{who}: {text}")
    return merged


def _client_for_documents(target: Target, client: Client) -> Client:
    """The client a document is made out to, as far as the adapter can carry it (created where it can)."""
    client = carried(target.books.adapter, client)
    if target.supports(C.CLIENTS_CREATE):
        return target.books.clients.create(client)
    return client


def check_document(target: Target, what: str, sent: Invoice, got: Invoice) -> list[str]:
    """Differences between a sent document and one the provider returned, totals included."""
    problems = document_differences(sent, got)
    problems += totals_differences(sent.totals, got.totals, "the returned rows give")
    if target.profile.provider_totals is not None:
        own = target.profile.provider_totals(got)
        if own is not None:
            expected = sent.totals
            for label, mine, theirs in (
                ("total without VAT", expected.tax_exclusive, own.tax_exclusive),
                ("VAT total", expected.vat_total, own.vat_total),
                ("amount payable", expected.payable, own.payable),
            ):
                if theirs is not None and mine != theirs:
                    problems.append(
                        f"{label}: invoicekit's totals engine computes {mine}, {target.provider} says {theirs}"
                    )
    return [f"{what}: {p}" for p in problems]


@scenario(covers=[C.INVOICES_CREATE, C.INVOICES_GET])
def test_invoice_round_trip(target: Target) -> None:
    """Rows at 21/12/6/0 %, rounding-sensitive amounts, discounts, a charge, a note and an OGM survive
    create -> get, and the provider's own totals equal invoicekit's to the cent."""
    tag = target.tag()
    client = _client_for_documents(target, billing_client(tag))
    rich = rich_invoice(client, tag)
    declared = target.books.adapter.unsupported_fields(rich)
    sent = strip_paths(rich, declared)
    leftover = target.books.adapter.unsupported_fields(sent)
    assert not leftover, f"the suite could not strip what {target.provider} declares unsupported: {leftover}"

    created = target.books.invoices.create(sent)
    assert created.provider_id, "invoices.create returned an invoice without provider_id"
    assert created.number, "invoices.create returned an invoice without a number"
    fetched = target.books.invoices.get(created.provider_id)
    problems = _merge(
        check_document(target, "create returned", sent, created), check_document(target, "get returned", sent, fetched)
    )

    features: dict[str, str] = {}
    for feature, path in INVOICE_FEATURES.items():
        if _declared(path, declared):
            features[feature] = "dropped (declared)"
        elif get_path(sent, path.split(".*")[0]) in (None, []):
            features[feature] = "not tested"
        else:
            features[feature] = "failed" if _failed(path, problems) else "kept"
    target.report("invoice_features", features)
    assert not problems, (
        f"invoice round trip on {target.provider} (create -> get) changed what it claims to carry:\n  - "
        + "\n  - ".join(problems)
    )


def _category_case(category: VatCategory, tag: str) -> tuple[Client, InvoiceRow, dict[str, object]]:
    extra: dict[str, object] = {}
    if category is VatCategory.AE:
        client = billing_client(tag, name="Reverse Charge")
        row = InvoiceRow(
            description="Renovation works", quantity=1, unit_price="1000.00", vat_rate=0, vat_category=category
        )
    elif category is VatCategory.E:
        client = billing_client(tag, name="Exempt")
        row = InvoiceRow(
            description="Medical care",
            quantity=1,
            unit_price="80.00",
            vat_rate=0,
            vat_category=category,
            exemption_reason="Art. 44 BTW-Wetboek",  # short: some providers keep 20 characters
        )
    elif category is VatCategory.K:
        client = Client(
            name=f"Intra EU {tag} BV",
            vat_number="NL004495445B01",
            address=Address(street="Damrak 1", postal_code="1012 LG", city="Amsterdam", country="NL"),
        )
        row = InvoiceRow(
            description="Machine parts", quantity=2, unit_price="250.00", vat_rate=0, vat_category=category
        )
        extra["delivery_date"] = date.today() - timedelta(days=1)
    else:
        client = Client(
            name=f"Export {tag} Inc",
            address=Address(street="1 Main Street", postal_code="10001", city="New York", country="US"),
        )
        row = InvoiceRow(description="Export goods", quantity=1, unit_price="500.00", vat_rate=0, vat_category=category)
    return client, row, extra


def _carried_client(target: Target, draft: Invoice) -> Invoice:
    """``draft`` with its client as far as the adapter can carry it (not created: nothing may be sent)."""
    return draft.model_copy(update={"client": carried(target.books.adapter, draft.client)})


@scenario(covers=[C.INVOICES_CREATE, C.INVOICES_GET])
@pytest.mark.parametrize("category", [VatCategory.AE, VatCategory.E, VatCategory.K, VatCategory.G], ids=str)
def test_vat_category_round_trip(target: Target, category: VatCategory) -> None:
    """A zero-rated row of each category keeps its category (and an exempt row its reason)."""
    tag = target.tag()
    template, row, extra = _category_case(category, tag)
    draft = Invoice(
        issue_date=date.today(),
        payment_term_days=30,
        client=template,
        rows=[row],
        **extra,
    )
    declared = target.books.adapter.unsupported_fields(draft)
    feature = f"VAT category {category.value}"
    if declared:
        # Tested on what it declares: such a row is refused up front, naming the field, and nothing is sent.
        meter = Meter()
        with pytest.raises(ValidationError) as caught:
            target.connect(meter=meter).invoices.create(_carried_client(target, draft))
        named = [i.path for i in declared]
        assert set(named) <= set(caught.value.fields), (
            f"a row of category {category.value}, which {target.provider} declares it cannot store ({named}), "
            f"was refused naming {caught.value.fields}"
        )
        assert not meter.requests, f"the refused invoice sent {meter.requests}"
        target.report("invoice_features", {feature: "dropped (declared)"})
        return
    client = _client_for_documents(target, template)
    sent = draft.model_copy(update={"client": client})
    created = target.books.invoices.create(sent)
    assert created.provider_id is not None
    fetched = target.books.invoices.get(created.provider_id)
    problems = check_document(target, "get returned", sent, fetched)
    if category is VatCategory.E:
        back = fetched.rows[0] if fetched.rows else None
        if back is not None and not (back.exemption_reason or back.exemption_code):
            problems.append("get returned: rows.0: the exemption reason of an exempt row (BR-E-10) was lost")
    target.report("invoice_features", {feature: "failed" if problems else "kept"})
    assert not problems, f"VAT category {category.value} round trip on {target.provider}:\n  - " + "\n  - ".join(
        problems
    )


@scenario(covers=[C.INVOICES_NEXT_NUMBER], requires=[C.INVOICES_CREATE])
def test_next_number_is_the_number_given(target: Target) -> None:
    client = _client_for_documents(target, billing_client(target.tag()))
    announced = target.books.invoices.next_number()
    assert announced, "next_number returned an empty number"
    created = target.books.invoices.create(simple_invoice(client, "Numbered"))
    assert created.number == announced, (
        f"next_number announced {announced!r}, the next invoice was numbered {created.number!r}"
    )
    following = target.books.invoices.next_number()
    assert following != announced, f"next_number still announces {announced!r} after it was used"


@scenario(covers=[C.INVOICES_UPDATE], requires=[C.INVOICES_CREATE, C.INVOICES_GET])
def test_invoice_update(target: Target) -> None:
    client = _client_for_documents(target, billing_client(target.tag()))
    created = target.books.invoices.create(simple_invoice(client, "Before update"))
    assert created.provider_id is not None
    row = created.rows[0].model_copy(
        update={"description": "After update", "unit_price": created.rows[0].unit_price + 10}
    )
    changed = Invoice.model_validate({**created.model_dump(), "rows": [row.model_dump()], "note": "updated"})
    target.books.invoices.update(created.provider_id, changed)
    fetched = target.books.invoices.get(created.provider_id)
    problems = check_document(target, "get after update returned", changed, fetched)
    assert not problems, "invoice update:\n  - " + "\n  - ".join(problems)


@scenario(covers=[C.INVOICES_DELETE], requires=[C.INVOICES_CREATE, C.INVOICES_GET])
def test_invoice_delete(target: Target) -> None:
    client = _client_for_documents(target, billing_client(target.tag()))
    created = target.books.invoices.create(simple_invoice(client, "To delete"))
    assert created.provider_id is not None
    target.books.invoices.delete(created.provider_id)
    with pytest.raises(NotFound):
        target.books.invoices.get(created.provider_id)


@scenario(covers=[C.INVOICES_UBL], requires=[C.INVOICES_CREATE])
def test_invoice_ubl(target: Target) -> None:
    """The provider's UBL of an invoice is well-formed XML whose payable amount is invoicekit's."""
    from invoicekit.xmlsafe import parse_xml

    client = _client_for_documents(target, billing_client(target.tag()))
    sent = simple_invoice(client, "UBL", amount="123.45")
    created = target.books.invoices.create(sent)
    root = parse_xml(target.books.invoices.ubl(created))
    assert root.tag.endswith("}Invoice"), f"the UBL document's root is {root.tag}, not a UBL Invoice"
    payable = root.findtext(".//{*}LegalMonetaryTotal/{*}PayableAmount")
    assert payable is not None, "the UBL document has no LegalMonetaryTotal/PayableAmount"
    from decimal import Decimal

    assert Decimal(payable) == sent.totals.payable, (
        f"the UBL says {payable} is payable, invoicekit's totals engine {sent.totals.payable}"
    )
