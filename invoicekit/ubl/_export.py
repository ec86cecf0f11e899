"""Neutral Invoice / CreditNote -> Peppol BIS Billing 3.0 UBL 2.1.

Invoice and CreditNote follow different XSD sequences (TaxPointDate before the type code, no root DueDate,
CreditNoteLine/CreditedQuantity, ...), so each has its own ordered builder below; the party, tax and line
blocks they share are built by the helpers in between. Every amount comes from the model's totals engine
(``document.totals``) so that what we send is what the rest of invoicekit computed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree
from pydantic import BaseModel

from invoicekit.errors import FieldIssue, ValidationError
from invoicekit.model import Address, Client, CreditNote, Invoice, Seller, Totals, compute_totals
from invoicekit.model._totals import VatBreakdown
from invoicekit.ubl._extras import DocumentReference, Endpoint, Identifier, UblExtras, invoicing_period
from invoicekit.ubl._ns import (
    CAC,
    CBC,
    CREDIT_NOTE_NS,
    CREDIT_NOTE_TYPE_CODE,
    CUSTOMIZATION_ID,
    INVOICE_NS,
    INVOICE_TYPE_CODE,
    PROFILE_ID,
    SCHEME_KBO,
    VAT_ENDPOINT_SCHEMES,
)
from invoicekit.vat import DEFAULT_EXEMPTION_CODES, VatCategory

__all__ = ["buyer_endpoint", "seller_endpoint", "to_ubl"]

_CENT = Decimal("0.01")
# Categories whose breakdown carries an exemption reason; S and Z must not (BR-S-10, BR-Z-10).
_EXEMPT = frozenset({VatCategory.E, VatCategory.AE, VatCategory.K, VatCategory.G, VatCategory.O})
_TERMS = {
    "nl": "Betaling binnen {days} dagen",
    "fr": "Paiement à {days} jours",
    "de": "Zahlbar innerhalb von {days} Tagen",
    "en": "Payment within {days} days",
}
_DISCOUNT_REASON_CODE = "95"  # UNCL5189 "Discount"

Document = Invoice | CreditNote


def _money(value: Decimal) -> str:
    value = value.quantize(_CENT)
    # A tiny negative line rounds to -0.00; print the zero without its sign.
    return f"{value if value else abs(value):f}"


def _number(value: Decimal) -> str:
    # normalize() alone would print 10 as "1E+1".
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


class _Writer:
    """Appends UBL elements in the order the caller gives them, dropping empty values (PEPPOL-EN16931-R008)."""

    __slots__ = ("currency",)

    def __init__(self, currency: str) -> None:
        self.currency = currency

    @staticmethod
    def agg(parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{CAC}}}{name}")

    @staticmethod
    def text(parent: etree._Element, name: str, value: object, **attributes: str | None) -> None:
        if value is None:
            return
        text = value.isoformat() if isinstance(value, date) else str(value).strip()
        if not text:
            return
        element = etree.SubElement(parent, f"{{{CBC}}}{name}")
        element.text = text
        for key, attribute in attributes.items():
            if attribute:
                element.set(key, attribute)

    def amount(self, parent: etree._Element, name: str, value: Decimal) -> None:
        # One helper sets currencyID on every amount (a missing one confuses BR-CO-15 and breaks R051).
        self.text(parent, name, _money(value), currencyID=self.currency)


@dataclass(frozen=True, slots=True)
class _Context:
    document: Document
    seller: Seller
    extras: UblExtras
    totals: Totals
    w: _Writer
    #: BR-O-02: a document with category O carries no VAT identifier at all.
    no_vat_ids: bool


# --- identifiers ------------------------------------------------------------------------------------------


def _vat_endpoint(vat: str | None) -> Endpoint | None:
    if not vat:
        return None
    scheme = VAT_ENDPOINT_SCHEMES.get(vat[:2].upper())
    return Endpoint(scheme, vat) if scheme else None


def seller_endpoint(seller: Seller, extras: UblExtras | None = None) -> Endpoint | None:
    """The seller's Peppol address: ``extras.seller_endpoint``, else 0208 + KBO, else its VAT scheme."""
    if extras is not None and extras.seller_endpoint is not None:
        return extras.seller_endpoint
    if seller.enterprise_number:
        return Endpoint(SCHEME_KBO, seller.enterprise_number)
    return _vat_endpoint(seller.vat_number)


def buyer_endpoint(client: Client, extras: UblExtras | None = None) -> Endpoint | None:
    """The buyer's Peppol address: ``extras.buyer_endpoint``, else 0208 + KBO, else its VAT scheme."""
    if extras is not None and extras.buyer_endpoint is not None:
        return extras.buyer_endpoint
    if client.enterprise_number:
        return Endpoint(SCHEME_KBO, client.enterprise_number)
    return _vat_endpoint(client.vat_number)


def _legal_id(override: Identifier | None, enterprise_number: str | None) -> Identifier | None:
    if override is not None:
        return override
    return Identifier(enterprise_number, SCHEME_KBO) if enterprise_number else None


# --- shared blocks ----------------------------------------------------------------------------------------


def _address(ctx: _Context, parent: etree._Element, name: str, address: Address) -> None:
    w = ctx.w
    element = w.agg(parent, name)
    w.text(element, "StreetName", address.street)
    w.text(element, "AdditionalStreetName", address.street2)
    w.text(element, "CityName", address.city)
    w.text(element, "PostalZone", address.postal_code)
    w.text(w.agg(element, "Country"), "IdentificationCode", address.country)


def _party(
    ctx: _Context,
    parent: etree._Element,
    *,
    endpoint: Endpoint | None,
    party_ids: tuple[Identifier, ...],
    trading_name: str | None,
    address: Address | None,
    vat_number: str | None,
    registration_name: str,
    legal_id: Identifier | None,
    legal_form: str | None,
    contact: tuple[str | None, str | None, str | None],
) -> None:
    w = ctx.w
    party = w.agg(parent, "Party")
    if endpoint is not None:
        w.text(party, "EndpointID", endpoint.identifier, schemeID=endpoint.scheme)
    for party_id in party_ids:
        w.text(w.agg(party, "PartyIdentification"), "ID", party_id.value, schemeID=party_id.scheme)
    if trading_name:
        w.text(w.agg(party, "PartyName"), "Name", trading_name)
    if address is not None:
        _address(ctx, party, "PostalAddress", address)
    if vat_number and not ctx.no_vat_ids:
        # BT-31/BT-48 carry no schemeID (adding one triggers UBL-CR-652).
        scheme = w.agg(party, "PartyTaxScheme")
        w.text(scheme, "CompanyID", vat_number)
        w.text(w.agg(scheme, "TaxScheme"), "ID", "VAT")
    legal = w.agg(party, "PartyLegalEntity")
    w.text(legal, "RegistrationName", registration_name)
    if legal_id is not None:
        w.text(legal, "CompanyID", legal_id.value, schemeID=legal_id.scheme)
    w.text(legal, "CompanyLegalForm", legal_form)
    name, phone, email = contact
    if name or phone or email:
        element = w.agg(party, "Contact")
        w.text(element, "Name", name)
        w.text(element, "Telephone", phone)
        w.text(element, "ElectronicMail", email)


def _supplier(ctx: _Context, root: etree._Element) -> None:
    seller, extras = ctx.seller, ctx.extras
    _party(
        ctx,
        ctx.w.agg(root, "AccountingSupplierParty"),
        endpoint=seller_endpoint(seller, extras),
        party_ids=extras.seller_party_ids,
        trading_name=extras.seller_trading_name,
        address=seller.address,
        vat_number=seller.vat_number,
        registration_name=seller.name,
        legal_id=_legal_id(extras.seller_legal_id, seller.enterprise_number),
        legal_form=extras.seller_legal_form,
        contact=(extras.seller_contact_name, seller.phone, seller.email),
    )


def _customer(ctx: _Context, root: etree._Element) -> None:
    client, extras = ctx.document.client, ctx.extras
    contact = client.contacts[0] if client.contacts else None
    _party(
        ctx,
        ctx.w.agg(root, "AccountingCustomerParty"),
        endpoint=buyer_endpoint(client, extras),
        party_ids=extras.buyer_party_ids,
        trading_name=extras.buyer_trading_name,
        address=client.address,
        vat_number=client.vat_number,
        registration_name=client.name,
        legal_id=_legal_id(extras.buyer_legal_id, client.enterprise_number),
        legal_form=None,
        contact=(
            contact.name if contact else None,
            (contact.phone if contact else None) or client.phone,
            (contact.email if contact else None) or client.email,
        ),
    )


def _categories(document: Document) -> set[VatCategory]:
    return {row.vat_category for row in document.rows} | {ac.vat_category for ac in document.allowances_charges}


def _delivery(ctx: _Context, root: etree._Element) -> None:
    document = ctx.document
    address = document.client.delivery_address
    if address is None and VatCategory.K in _categories(document):
        # An intra-EU supply needs a deliver-to country (BR-IC-12); without a separate delivery address the
        # goods go to the buyer's own address.
        address = document.client.address
    location_id, party_name = ctx.extras.delivery_location_id, ctx.extras.delivery_party_name
    if document.delivery_date is None and address is None and location_id is None and not party_name:
        return
    delivery = ctx.w.agg(root, "Delivery")
    ctx.w.text(delivery, "ActualDeliveryDate", document.delivery_date)
    if address is not None or location_id is not None:
        location = ctx.w.agg(delivery, "DeliveryLocation")
        if location_id is not None:
            ctx.w.text(location, "ID", location_id.value, schemeID=location_id.scheme)
        if address is not None:
            _address(ctx, location, "Address", address)
    if party_name:
        ctx.w.text(ctx.w.agg(ctx.w.agg(delivery, "DeliveryParty"), "PartyName"), "Name", party_name)


def _payment_means(ctx: _Context, root: etree._Element, *, due_date: date | None) -> None:
    """PaymentMeans; ``due_date`` is only passed for a CreditNote, which has no root DueDate."""
    document, seller, extras, w = ctx.document, ctx.seller, ctx.extras, ctx.w
    mandate = document.client.sepa_mandate
    mandate_reference = extras.mandate_reference or (mandate.mandate_reference if mandate else None)
    payer_account = extras.payer_account or (mandate.iban if mandate else None)
    code = extras.payment_means_code
    if code is None:
        if mandate_reference:
            code = "59"
        elif seller.iban:
            code = "30"
        elif document.structured_communication or extras.payment_id or due_date:
            code = "1"  # "instrument not defined": keeps the reference without claiming a credit transfer
        else:
            return
    means = w.agg(root, "PaymentMeans")
    w.text(means, "PaymentMeansCode", code)
    w.text(means, "PaymentDueDate", due_date)
    w.text(means, "PaymentID", document.structured_communication_formatted or extras.payment_id)
    if code == "59":
        pmandate = w.agg(means, "PaymentMandate")
        w.text(pmandate, "ID", mandate_reference)
        if payer_account:
            w.text(w.agg(pmandate, "PayerFinancialAccount"), "ID", payer_account)
    elif seller.iban:
        account = w.agg(means, "PayeeFinancialAccount")
        w.text(account, "ID", seller.iban)
        w.text(account, "Name", extras.payee_account_name)
        if seller.bic:
            w.text(w.agg(account, "FinancialInstitutionBranch"), "ID", seller.bic)


def _payment_terms(ctx: _Context, root: etree._Element) -> None:
    document = ctx.document
    note = ctx.extras.payment_terms
    if note is None and document.payment_term_days is not None:
        template = _TERMS.get(str(document.client.language), _TERMS["en"])
        note = template.format(days=document.payment_term_days)
    if note:
        ctx.w.text(ctx.w.agg(root, "PaymentTerms"), "Note", note)


def _tax_category(
    ctx: _Context,
    parent: etree._Element,
    name: str,
    category: VatCategory,
    rate: Decimal,
    *,
    exemption: tuple[str | None, str | None] | None = None,
) -> None:
    w = ctx.w
    element = w.agg(parent, name)
    w.text(element, "ID", category.value)
    if category is not VatCategory.O:  # BR-O-05/06/07: no rate at all for "not subject to VAT"
        w.text(element, "Percent", _number(rate))
    if exemption is not None:
        code, reason = exemption
        w.text(element, "TaxExemptionReasonCode", code)
        w.text(element, "TaxExemptionReason", reason)
    w.text(w.agg(element, "TaxScheme"), "ID", "VAT")


def _allowances_charges(ctx: _Context, root: etree._Element) -> None:
    document, totals, w = ctx.document, ctx.totals, ctx.w
    if totals.discount_allowances and document.discount_percent:
        bases: dict[tuple[VatCategory, Decimal], Decimal] = {}
        for row, line in zip(document.rows, totals.lines, strict=True):
            key = (row.vat_category, row.vat_rate.quantize(_CENT))
            bases[key] = bases.get(key, Decimal(0)) + line.net
        for category, rate, amount in totals.discount_allowances:
            if not amount:
                continue  # a percentage of a tiny group can round to nothing; an empty allowance says nothing
            element = w.agg(root, "AllowanceCharge")
            w.text(element, "ChargeIndicator", "false")
            w.text(element, "AllowanceChargeReasonCode", _DISCOUNT_REASON_CODE)
            w.text(element, "AllowanceChargeReason", "Discount")
            w.text(element, "MultiplierFactorNumeric", _number(document.discount_percent))
            w.amount(element, "Amount", amount)
            w.amount(element, "BaseAmount", bases.get((category, rate), Decimal(0)))
            _tax_category(ctx, element, "TaxCategory", category, rate)
    for item in document.allowances_charges:
        element = w.agg(root, "AllowanceCharge")
        w.text(element, "ChargeIndicator", "true" if item.is_charge else "false")
        w.text(element, "AllowanceChargeReason", item.reason)
        w.amount(element, "Amount", item.amount)
        _tax_category(ctx, element, "TaxCategory", item.vat_category, item.vat_rate)


def _exemption(group: VatBreakdown) -> tuple[str | None, str | None] | None:
    if group.category not in _EXEMPT:
        return None
    code, reason = group.exemption_code, group.exemption_reason
    if code is None and reason is None:
        # Documents read from a provider skip the model's defaulting; AE/K/G/O have one fitting code.
        code = DEFAULT_EXEMPTION_CODES.get(group.category)
    return code, reason


def _tax_total(ctx: _Context, root: etree._Element) -> None:
    totals, w = ctx.totals, ctx.w
    tax_total = w.agg(root, "TaxTotal")
    w.amount(tax_total, "TaxAmount", totals.vat_total)
    for group in totals.breakdown:
        subtotal = w.agg(tax_total, "TaxSubtotal")
        w.amount(subtotal, "TaxableAmount", group.taxable_amount)
        w.amount(subtotal, "TaxAmount", group.vat_amount)
        _tax_category(ctx, subtotal, "TaxCategory", group.category, group.rate, exemption=_exemption(group))
    extras = ctx.extras
    if extras.tax_currency_code and extras.tax_total_in_tax_currency is not None:
        # BT-111: the VAT total in the VAT accounting currency, a second TaxTotal without subtotals.
        other = w.agg(root, "TaxTotal")
        w.text(other, "TaxAmount", _money(extras.tax_total_in_tax_currency), currencyID=extras.tax_currency_code)


def _monetary_total(ctx: _Context, root: etree._Element) -> None:
    totals, w = ctx.totals, ctx.w
    element = w.agg(root, "LegalMonetaryTotal")
    w.amount(element, "LineExtensionAmount", totals.line_extension)
    w.amount(element, "TaxExclusiveAmount", totals.tax_exclusive)
    w.amount(element, "TaxInclusiveAmount", totals.tax_inclusive)
    has_allowances = any(amount for _, _, amount in totals.discount_allowances) or any(
        not ac.is_charge for ac in ctx.document.allowances_charges
    )
    if has_allowances:
        w.amount(element, "AllowanceTotalAmount", totals.allowance_total)
    if any(ac.is_charge for ac in ctx.document.allowances_charges):
        w.amount(element, "ChargeTotalAmount", totals.charge_total)
    if totals.prepaid:
        w.amount(element, "PrepaidAmount", totals.prepaid)
    if totals.rounding:
        w.amount(element, "PayableRoundingAmount", totals.rounding)
    w.amount(element, "PayableAmount", totals.payable)


def _item_name(description: str) -> tuple[str, str | None]:
    first, _, rest = description.strip().partition("\n")
    return first.strip() or description.strip(), (description.strip() if rest.strip() else None)


def _lines(ctx: _Context, root: etree._Element, *, element_name: str, quantity_name: str) -> None:
    w, rows = ctx.w, ctx.document.rows
    for index, (row, amounts) in enumerate(zip(rows, ctx.totals.lines, strict=True), start=1):
        line = w.agg(root, element_name)
        w.text(line, "ID", str(index))
        quantity, price = row.quantity, row.unit_price
        if price < 0:
            # BR-27: the item price may not be negative; a negative quantity carries the sign instead, and
            # the line net (rounded |qty x price|) is unchanged.
            quantity, price = -quantity, -price
        w.text(line, quantity_name, _number(quantity), unitCode=row.unit)
        w.amount(line, "LineExtensionAmount", amounts.net)
        if amounts.discount and row.discount_percent:
            _line_discount(ctx, line, row.discount_percent, amounts.gross, amounts.discount)
        item = w.agg(line, "Item")
        name, description = _item_name(row.description)
        w.text(item, "Description", description)
        w.text(item, "Name", name)
        # The line carries only category and rate; the exemption reason lives in the breakdown (BG-23).
        _tax_category(ctx, item, "ClassifiedTaxCategory", row.vat_category, row.vat_rate)
        w.text(w.agg(line, "Price"), "PriceAmount", _number(price), currencyID=w.currency)


def _line_discount(ctx: _Context, line: etree._Element, percent: Decimal, gross: Decimal, discount: Decimal) -> None:
    w = ctx.w
    element = w.agg(line, "AllowanceCharge")
    w.text(element, "ChargeIndicator", "false")
    w.text(element, "AllowanceChargeReasonCode", _DISCOUNT_REASON_CODE)
    w.text(element, "AllowanceChargeReason", "Discount")
    # R040: amount = base x percentage / 100, which holds because the engine computed it that way (for a
    # negative line too: both are then negative).
    w.text(element, "MultiplierFactorNumeric", _number(percent))
    w.amount(element, "Amount", discount)
    w.amount(element, "BaseAmount", gross)


# --- the two ordered builders -----------------------------------------------------------------------------


def _header_references(ctx: _Context, root: etree._Element) -> None:
    """BuyerReference .. BillingReference, identical in both document types."""
    document, extras, w = ctx.document, ctx.extras, ctx.w
    # R003 needs a buyer reference or an order reference; always emitting one keeps any Peppol buyer happy.
    w.text(root, "BuyerReference", document.buyer_reference or document.order_reference or document.number)
    period = invoicing_period(document, extras)
    if period is not None:
        element = w.agg(root, "InvoicePeriod")
        w.text(element, "StartDate", period[0])
        w.text(element, "EndDate", period[1])
    if document.order_reference:
        w.text(w.agg(root, "OrderReference"), "ID", document.order_reference)
    references = extras.billing_references
    if not references and isinstance(document, CreditNote) and document.corrects_invoice_number:
        references = (DocumentReference(document.corrects_invoice_number, None),)
    for reference in references:
        invoice_reference = w.agg(w.agg(root, "BillingReference"), "InvoiceDocumentReference")
        w.text(invoice_reference, "ID", reference.id)
        w.text(invoice_reference, "IssueDate", reference.issue_date)


def _nsmap(default: str) -> Any:
    # The root's own namespace is the default one, as in every Peppol example; lxml-stubs do not allow the
    # None key that lxml uses for it.
    return {None: default, "cac": CAC, "cbc": CBC}


def _build_invoice(ctx: _Context) -> etree._Element:
    document, extras, w = ctx.document, ctx.extras, ctx.w
    root = etree.Element(f"{{{INVOICE_NS}}}Invoice", nsmap=_nsmap(INVOICE_NS))
    w.text(root, "CustomizationID", CUSTOMIZATION_ID)
    w.text(root, "ProfileID", PROFILE_ID)
    w.text(root, "ID", document.number)
    w.text(root, "IssueDate", document.issue_date)
    w.text(root, "DueDate", document.effective_due_date)
    w.text(root, "InvoiceTypeCode", INVOICE_TYPE_CODE)
    w.text(root, "Note", document.note)
    w.text(root, "TaxPointDate", extras.tax_point_date)
    w.text(root, "DocumentCurrencyCode", document.currency)
    w.text(root, "TaxCurrencyCode", extras.tax_currency_code)
    w.text(root, "AccountingCost", extras.accounting_cost)
    _header_references(ctx, root)
    if extras.contract_reference:
        w.text(w.agg(root, "ContractDocumentReference"), "ID", extras.contract_reference)
    if extras.project_reference:
        w.text(w.agg(root, "ProjectReference"), "ID", extras.project_reference)
    _supplier(ctx, root)
    _customer(ctx, root)
    _delivery(ctx, root)
    _payment_means(ctx, root, due_date=None)
    _payment_terms(ctx, root)
    _allowances_charges(ctx, root)
    _tax_total(ctx, root)
    _monetary_total(ctx, root)
    _lines(ctx, root, element_name="InvoiceLine", quantity_name="InvoicedQuantity")
    return root


def _build_credit_note(ctx: _Context) -> etree._Element:
    document, extras, w = ctx.document, ctx.extras, ctx.w
    root = etree.Element(f"{{{CREDIT_NOTE_NS}}}CreditNote", nsmap=_nsmap(CREDIT_NOTE_NS))
    w.text(root, "CustomizationID", CUSTOMIZATION_ID)
    w.text(root, "ProfileID", PROFILE_ID)
    w.text(root, "ID", document.number)
    w.text(root, "IssueDate", document.issue_date)
    w.text(root, "TaxPointDate", extras.tax_point_date)
    w.text(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
    w.text(root, "Note", document.note)
    w.text(root, "DocumentCurrencyCode", document.currency)
    w.text(root, "TaxCurrencyCode", extras.tax_currency_code)
    w.text(root, "AccountingCost", extras.accounting_cost)
    _header_references(ctx, root)
    if extras.contract_reference:
        w.text(w.agg(root, "ContractDocumentReference"), "ID", extras.contract_reference)
    _supplier(ctx, root)
    _customer(ctx, root)
    _delivery(ctx, root)
    # BT-9 has no root element in a CreditNote: it goes in PaymentMeans/PaymentDueDate.
    _payment_means(ctx, root, due_date=document.effective_due_date)
    _payment_terms(ctx, root)
    _allowances_charges(ctx, root)
    _tax_total(ctx, root)
    _monetary_total(ctx, root)
    _lines(ctx, root, element_name="CreditNoteLine", quantity_name="CreditedQuantity")
    return root


def document_totals(document: Document, extras: UblExtras) -> Totals:
    if not extras.prepaid_amount and not extras.rounding_amount:
        return document.totals
    # Same engine and inputs as Document.totals, plus the two UBL-only inputs BT-113 and BT-114.
    return compute_totals(
        document.rows,
        document.allowances_charges,
        discount_percent=document.discount_percent,
        prepaid=extras.prepaid_amount or Decimal(0),
        rounding=extras.rounding_amount or Decimal(0),
    )


# XML 1.0 cannot carry these characters at all (not even escaped): C0 controls other than tab, line feed and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text_issues(value: object, path: str) -> Iterator[FieldIssue]:
    """Every string in a model, dataclass or container that XML cannot hold, with its dotted field path."""
    if isinstance(value, str):
        found = _NOT_XML.search(value)
        if found:
            yield FieldIssue(path, f"contains the control character U+{ord(found.group()):04X}, which XML cannot hold")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name != "raw":
                yield from _text_issues(getattr(value, name), f"{path}.{name}" if path else name)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _text_issues(getattr(value, item.name), f"{path}.{item.name}" if path else item.name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _text_issues(item, f"{path}.{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_issues(item, f"{path}.{key}")


def build_tree(document: Document, seller: Seller, extras: UblExtras | None = None) -> etree._Element:
    if not isinstance(document, Invoice | CreditNote):
        raise TypeError(f"to_ubl takes an Invoice or a CreditNote, not {type(document).__name__}")
    if not isinstance(seller, Seller):
        raise TypeError(f"the seller must be an invoicekit.model.Seller, not {type(seller).__name__}")
    issues = [
        *_text_issues(document, ""),
        *_text_issues(seller, "seller"),
        *_text_issues(extras, "extras"),
    ]
    if issues:
        raise ValidationError(issues)
    if not document.number:
        raise ValidationError.single(
            "number", "required to export UBL (BT-1); a provider assigns it when the document is created"
        )
    if not document.rows:
        raise ValidationError.single("rows", "a UBL document needs at least one line (BG-25)")
    extras = extras or UblExtras()
    ctx = _Context(
        document=document,
        seller=seller,
        extras=extras,
        totals=document_totals(document, extras),
        w=_Writer(document.currency),
        no_vat_ids=VatCategory.O in _categories(document),
    )
    return _build_credit_note(ctx) if isinstance(document, CreditNote) else _build_invoice(ctx)


def to_ubl(document: Invoice | CreditNote, seller: Seller, *, extras: UblExtras | None = None) -> bytes:
    """Return the Peppol BIS Billing 3.0 UBL 2.1 bytes (UTF-8) of an invoice or credit note.

    The export is faithful: it does not refuse a document that breaks a Peppol rule (a missing buyer
    endpoint, say), so that such a document can still be inspected and validated. Call
    :func:`invoicekit.ubl.preflight_or_raise` first when the document is about to be sent.

    Raises :class:`invoicekit.errors.ValidationError` only when no UBL can be written at all (no number, no
    rows).
    """
    root = build_tree(document, seller, extras)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
