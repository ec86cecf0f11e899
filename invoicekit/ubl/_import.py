"""UBL 2.1 Invoice / CreditNote -> neutral documents, losing nothing silently.

The reader is tolerant, like an adapter reading a provider: a document made by someone else is taken as it
is, and the model's *send* rules are not applied (the model's provider context). What does not fit the
neutral model goes, in that order, to :class:`UblExtras` (structured, and honoured by a later export), to
``leftovers.unmapped`` (the XPath of every element whose content was not carried over) and to
``leftovers.issues`` (values kept although the model rejects them; totals the neutral engine computes
differently from the document). ``leftovers.raw`` keeps the original bytes.

Every element the reader uses is marked; whatever is left unmarked is reported as unmapped, so the list is
complete by construction rather than by a list of known gaps.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar, cast

from lxml import etree

from invoicekit import belgium
from invoicekit.errors import FieldIssue, UblImportError, ValidationError
from invoicekit.model import (
    Address,
    AllowanceCharge,
    Client,
    Contact,
    CreditNote,
    Invoice,
    InvoiceRow,
    InvoicingPeriod,
    NeutralModel,
    Seller,
    compute_totals,
    provider_context,
    round2,
)
from invoicekit.ubl._extras import (
    DocumentReference,
    Endpoint,
    Identifier,
    ImportedDocument,
    Leftovers,
    UblExtras,
    extras_issues,
)
from invoicekit.ubl._ns import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS, SCHEME_KBO, parse_decimal
from invoicekit.vat import VatCategory
from invoicekit.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["UblImportError", "from_ubl"]

_NS = {"cac": CAC, "cbc": CBC}
_ROOTS: dict[str, type[Invoice] | type[CreditNote]] = {
    f"{{{INVOICE_NS}}}Invoice": Invoice,
    f"{{{CREDIT_NOTE_NS}}}CreditNote": CreditNote,
}
_EXEMPT = frozenset({VatCategory.E, VatCategory.AE, VatCategory.K, VatCategory.G, VatCategory.O})
_CENT = Decimal("0.01")

M = TypeVar("M", bound=NeutralModel)


class _Reader:
    """Lookups that remember which elements were used."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.used: set[etree._Element] = set()
        self.issues: list[FieldIssue] = []

    def el(self, path: str, base: etree._Element | None = None) -> etree._Element | None:
        return (self.root if base is None else base).find(path, _NS)

    def all(self, path: str, base: etree._Element | None = None) -> list[etree._Element]:
        return (self.root if base is None else base).findall(path, _NS)

    def mark(self, element: etree._Element | None) -> None:
        if element is not None:
            self.used.add(element)

    def text(self, path: str, base: etree._Element | None = None) -> str | None:
        element = self.el(path, base)
        if element is None:
            return None
        self.mark(element)
        return (element.text or "").strip() or None

    def decimal(self, path: str, base: etree._Element | None = None) -> Decimal | None:
        raw = self.text(path, base)
        if raw is None:
            return None
        value = parse_decimal(raw)
        if value is None:
            self.issues.append(FieldIssue(path, f"{raw[:40]!r} is not a number an invoice can hold; ignored"))
        return value

    def day(self, path: str, base: etree._Element | None = None) -> date | None:
        raw = self.text(path, base)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.issues.append(FieldIssue(path, f"{raw!r} is not a date (YYYY-MM-DD); ignored"))
            return None

    def build(self, model: type[M], path: str, data: dict[str, Any]) -> M:
        """Build a model tolerantly; when its own rules still reject the data, keep the data as read."""
        data = {key: value for key, value in data.items() if value is not None}
        try:
            with provider_context():
                return model(**data)
        except ValidationError as exc:
            for issue in exc.issues:
                where = f"{path}.{issue.path}" if path and issue.path else path or issue.path
                self.issues.append(FieldIssue(where, f"{issue.reason} (kept as read)"))
            return cast(M, model.model_construct(**data))

    def unmapped(self) -> tuple[str, ...]:
        touched: set[etree._Element] = set()
        for element in self.used:
            node: etree._Element | None = element
            while node is not None and node not in touched:
                touched.add(node)
                node = node.getparent()
        tree = self.root.getroottree()
        name = etree.QName(self.root).localname
        found = []
        for element in self.root.iter(etree.Element):
            parent = element.getparent()
            if element not in touched and (parent is None or parent in touched):
                path = tree.getpath(element)
                found.append(path.replace("/*", f"/{name}", 1) if path.startswith("/*") else path)
        return tuple(found)


# --- parties ----------------------------------------------------------------------------------------------


def _endpoint(r: _Reader, party: etree._Element) -> Endpoint | None:
    element = r.el("cbc:EndpointID", party)
    value = r.text("cbc:EndpointID", party)
    if element is None or value is None:
        return None
    return Endpoint(element.get("schemeID") or "", value)


def _address(r: _Reader, base: etree._Element | None, path: str) -> Address | None:
    if base is None:
        return None
    data = {
        "street": r.text("cbc:StreetName", base),
        "street2": r.text("cbc:AdditionalStreetName", base),
        "city": r.text("cbc:CityName", base),
        "postal_code": r.text("cbc:PostalZone", base),
        "country": r.text("cac:Country/cbc:IdentificationCode", base),
    }
    if not any(data.values()):
        return None
    return r.build(Address, path, data)


def _vat_number(r: _Reader, party: etree._Element) -> str | None:
    for scheme in r.all("cac:PartyTaxScheme", party):
        if (r.el("cac:TaxScheme/cbc:ID", scheme) is not None) and r.text("cac:TaxScheme/cbc:ID", scheme) == "VAT":
            return r.text("cbc:CompanyID", scheme)
    return None


def _legal(r: _Reader, party: etree._Element) -> tuple[str | None, str | None, Identifier | None]:
    """(registration name, enterprise number when the legal id is a 0208 one, any other legal id)."""
    name = r.text("cac:PartyLegalEntity/cbc:RegistrationName", party)
    element = r.el("cac:PartyLegalEntity/cbc:CompanyID", party)
    value = r.text("cac:PartyLegalEntity/cbc:CompanyID", party)
    if element is None or value is None:
        return name, None, None
    scheme = element.get("schemeID")
    if scheme == SCHEME_KBO:
        return name, value, None
    return name, None, Identifier(value, scheme)


def _identifier(r: _Reader, element: etree._Element | None) -> Identifier | None:
    if element is None:
        return None
    r.mark(element)
    value = (element.text or "").strip()
    return Identifier(value, element.get("schemeID")) if value else None


def _party_ids(r: _Reader, party: etree._Element) -> tuple[Identifier, ...]:
    """BT-29 / BT-46 (and BT-90, the SEPA creditor id, which UBL also puts in PartyIdentification)."""
    found = (_identifier(r, r.el("cbc:ID", element)) for element in r.all("cac:PartyIdentification", party))
    return tuple(identifier for identifier in found if identifier is not None)


def _seller(
    r: _Reader, party: etree._Element | None, means: etree._Element | None
) -> tuple[Seller | None, dict[str, Any]]:
    if party is None:
        return None, {}
    extras: dict[str, Any] = {"seller_endpoint": _endpoint(r, party), "seller_party_ids": _party_ids(r, party)}
    trading = r.text("cac:PartyName/cbc:Name", party)
    name, kbo, legal_id = _legal(r, party)
    extras["seller_legal_id"] = legal_id
    extras["seller_legal_form"] = r.text("cac:PartyLegalEntity/cbc:CompanyLegalForm", party)
    extras["seller_contact_name"] = r.text("cac:Contact/cbc:Name", party)
    if trading and trading != name:
        extras["seller_trading_name"] = trading
    vat = _vat_number(r, party)
    if vat is None and kbo:
        # A document with VAT category O carries no VAT number (BR-O-02); a Belgian enterprise's VAT number
        # is BE + its enterprise number, and an export of category O leaves it out again.
        vat = f"BE{kbo}"
    if vat is None:
        r.issues.append(FieldIssue("seller.vat_number", "the document has no seller VAT identifier"))
    data: dict[str, Any] = {
        "name": name or trading,
        "vat_number": vat or "",
        "enterprise_number": kbo,
        "address": _address(r, r.el("cac:PostalAddress", party), "seller.address"),
        "phone": r.text("cac:Contact/cbc:Telephone", party),
        "email": r.text("cac:Contact/cbc:ElectronicMail", party),
    }
    if means is not None:
        account = r.el("cac:PayeeFinancialAccount", means)
        if account is not None:
            data["iban"] = r.text("cbc:ID", account)
            data["bic"] = r.text("cac:FinancialInstitutionBranch/cbc:ID", account)
            extras["payee_account_name"] = r.text("cbc:Name", account)
    return r.build(Seller, "seller", data), extras


def _client(r: _Reader, party: etree._Element | None, delivery: Address | None) -> tuple[Client, dict[str, Any]]:
    extras: dict[str, Any] = {}
    if party is None:
        r.issues.append(FieldIssue("client", "the document has no AccountingCustomerParty"))
        return r.build(Client, "client", {"name": "(unknown buyer)"}), extras
    extras["buyer_endpoint"] = _endpoint(r, party)
    extras["buyer_party_ids"] = _party_ids(r, party)
    trading = r.text("cac:PartyName/cbc:Name", party)
    name, kbo, legal_id = _legal(r, party)
    extras["buyer_legal_id"] = legal_id
    if trading and trading != name:
        extras["buyer_trading_name"] = trading
    contact_name = r.text("cac:Contact/cbc:Name", party)
    phone = r.text("cac:Contact/cbc:Telephone", party)
    email = r.text("cac:Contact/cbc:ElectronicMail", party)
    contacts = (
        [r.build(Contact, "client.contacts.0", {"name": contact_name, "phone": phone, "email": email})]
        if contact_name
        else []
    )
    data: dict[str, Any] = {
        "name": name or trading or "(unnamed buyer)",
        "vat_number": _vat_number(r, party),
        "enterprise_number": kbo,
        "address": _address(r, r.el("cac:PostalAddress", party), "client.address"),
        "delivery_address": delivery,
        "contacts": contacts,
        "email": None if contacts else email,
        "phone": None if contacts else phone,
    }
    return r.build(Client, "client", data), extras


# --- tax, lines, allowances -------------------------------------------------------------------------------


def _category(r: _Reader, element: etree._Element | None, path: str) -> tuple[VatCategory, Decimal]:
    if element is None:
        r.issues.append(FieldIssue(path, "no VAT category; read as S at 0 %"))
        return VatCategory.S, Decimal(0)
    code = (r.text("cbc:ID", element) or "").upper()
    r.text("cac:TaxScheme/cbc:ID", element)
    rate = r.decimal("cbc:Percent", element) or Decimal(0)
    try:
        return VatCategory(code), rate
    except ValueError:
        r.issues.append(FieldIssue(path, f"unknown VAT category {code!r}; read as S"))
        return VatCategory.S, rate


def _group_key(category: VatCategory, rate: Decimal) -> tuple[VatCategory, Decimal]:
    return category, rate.quantize(_CENT)


def _exemptions(r: _Reader) -> dict[tuple[VatCategory, Decimal], tuple[str | None, str | None]]:
    found: dict[tuple[VatCategory, Decimal], tuple[str | None, str | None]] = {}
    for subtotal in r.all("cac:TaxTotal/cac:TaxSubtotal"):
        r.text("cbc:TaxableAmount", subtotal)
        r.text("cbc:TaxAmount", subtotal)
        category_element = r.el("cac:TaxCategory", subtotal)
        category, rate = _category(r, category_element, "tax_total")
        code = r.text("cbc:TaxExemptionReasonCode", category_element) if category_element is not None else None
        reason = r.text("cbc:TaxExemptionReason", category_element) if category_element is not None else None
        if code is not None:
            code = code.upper()
            if not code.startswith("VATEX-"):
                reason = reason or code
                code = None
        found[_group_key(category, rate)] = (code, reason)
    return found


def _unit_price(r: _Reader, quantity: Decimal, net: Decimal, price: Decimal, path: str) -> Decimal:
    """A unit price whose line amount (rounded quantity x price) is the document's line net."""
    if round2(quantity * price) == net:
        return price
    if quantity == 0:
        r.issues.append(FieldIssue(path, f"a zero quantity cannot carry the line amount {net}"))
        return price
    exact = net / quantity
    if not exact:
        return Decimal(0)  # not -0
    for places in range(2, 11):
        candidate = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if round2(quantity * candidate) == net:
            return _plain(candidate)
    return exact


def _plain(value: Decimal) -> Decimal:
    # normalize() turns 400.00 into 4E+2, which prints badly and round-trips through JSON as a float-like text.
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


def _line(
    r: _Reader,
    line: etree._Element,
    index: int,
    quantity_tag: str,
    exemptions: dict[tuple[VatCategory, Decimal], tuple[str | None, str | None]],
) -> InvoiceRow:
    path = f"rows.{index}"
    line_id = r.el("cbc:ID", line)
    if line_id is not None and (line_id.text or "").strip() == str(index + 1):
        r.mark(line_id)  # other line ids cannot be kept: an export numbers lines 1..n
    quantity_element = r.el(quantity_tag, line)
    quantity = r.decimal(quantity_tag, line)
    quantity = Decimal(1) if quantity is None else quantity
    unit = (quantity_element.get("unitCode") if quantity_element is not None else None) or "C62"
    net = r.decimal("cbc:LineExtensionAmount", line) or Decimal(0)
    name = r.text("cac:Item/cbc:Name", line)
    description_element = r.el("cac:Item/cbc:Description", line)
    description = name
    if description_element is not None and name:
        full = (description_element.text or "").strip()
        if full.split("\n", 1)[0].strip() == name:
            # Our own export writes a multi-line description as Name (first line) + Description (all of it).
            r.mark(description_element)
            description = full
    if not description:
        r.issues.append(FieldIssue(f"{path}.description", "the line has no item name"))
        description = "(no name)"
    category, rate = _category(r, r.el("cac:Item/cac:ClassifiedTaxCategory", line), f"{path}.vat_category")
    code, reason = exemptions.get(_group_key(category, rate), (None, None)) if category in _EXEMPT else (None, None)

    price = r.decimal("cac:Price/cbc:PriceAmount", line) or Decimal(0)
    base = r.decimal("cac:Price/cbc:BaseQuantity", line)
    if base:
        price = price / base
    discount = _own_discount(r, line, quantity, price, net)
    if discount is None:
        unit_price = _unit_price(r, quantity, net, price, path)
        if unit_price != price or r.all("cac:AllowanceCharge", line):
            r.issues.append(
                FieldIssue(
                    f"{path}.unit_price",
                    f"line allowances/charges or a price base quantity the model cannot hold were folded into "
                    f"the unit price ({unit_price}); the line amount {net} is unchanged",
                )
            )
    else:
        unit_price = price
    return r.build(
        InvoiceRow,
        path,
        {
            "description": description,
            "quantity": quantity,
            "unit": unit,
            "unit_price": unit_price,
            "discount_percent": discount,
            "vat_category": category,
            "vat_rate": rate,
            "exemption_code": code,
            "exemption_reason": reason,
        },
    )


def _own_discount(r: _Reader, line: etree._Element, quantity: Decimal, price: Decimal, net: Decimal) -> Decimal | None:
    """The percentage, when the line's only allowance is a percentage discount the model's row can hold."""
    allowances = r.all("cac:AllowanceCharge", line)
    if len(allowances) != 1:
        return None
    allowance = allowances[0]
    if (allowance.findtext("cbc:ChargeIndicator", None, _NS) or "").strip() != "false":
        return None
    percent = _plain_decimal(allowance.findtext("cbc:MultiplierFactorNumeric", None, _NS))
    amount = _plain_decimal(allowance.findtext("cbc:Amount", None, _NS))
    if percent is None or amount is None or not 0 < percent <= 100:
        return None
    gross = round2(quantity * price)
    if round2(gross * percent / 100) != amount or gross - amount != net:
        return None
    for child in allowance:
        r.mark(child)
    return percent


def _plain_decimal(text: str | None) -> Decimal | None:
    return parse_decimal(text)


def _allowances(r: _Reader, rows: list[InvoiceRow]) -> tuple[Decimal | None, list[AllowanceCharge]]:
    """The document-level allowances and charges, and the document discount percentage when there is one."""
    elements = r.all("cac:AllowanceCharge")
    read: list[dict[str, Any]] = []
    for index, element in enumerate(elements):
        is_charge = (r.text("cbc:ChargeIndicator", element) or "").lower() == "true"
        reason = r.text("cbc:AllowanceChargeReason", element)
        if reason is None:
            code = r.text("cbc:AllowanceChargeReasonCode", element)
            reason = f"reason code {code}" if code else ("charge" if is_charge else "allowance")
        category, rate = _category(r, r.el("cac:TaxCategory", element), f"allowances_charges.{index}.vat_category")
        read.append(
            {
                "is_charge": is_charge,
                "amount": r.decimal("cbc:Amount", element) or Decimal(0),
                "reason": reason,
                "vat_category": category,
                "vat_rate": rate,
            }
        )
    percent, discounts = _document_discount(r, rows, elements, read)
    kept = [data for index, data in enumerate(read) if index not in discounts]
    return percent, [r.build(AllowanceCharge, f"allowances_charges.{i}", data) for i, data in enumerate(kept)]


def _document_discount(
    r: _Reader, rows: list[InvoiceRow], elements: list[etree._Element], read: list[dict[str, Any]]
) -> tuple[Decimal | None, set[int]]:
    """Recognise a document-level percentage discount written the way our export writes one.

    It is one "Discount" allowance (reason code 95) per VAT group, all with the same percentage; it is taken
    back as ``discount_percent`` only if the totals engine then yields exactly the same amounts, so a
    document from elsewhere keeps its allowances as they are.
    """
    candidates: set[int] = set()
    percents: set[Decimal] = set()
    for index, (element, data) in enumerate(zip(elements, read, strict=True)):
        code = (element.findtext("cbc:AllowanceChargeReasonCode", None, _NS) or "").strip()
        percent = _plain_decimal(element.findtext("cbc:MultiplierFactorNumeric", None, _NS))
        if not data["is_charge"] and code == "95" and percent is not None and 0 < percent <= 100:
            candidates.add(index)
            percents.add(percent)
    if not candidates or len(percents) != 1:
        return None, set()
    (percent,) = percents
    # Unvalidated stand-ins: only the engine's arithmetic is needed here.
    others = [AllowanceCharge.model_construct(**data) for i, data in enumerate(read) if i not in candidates]
    try:
        totals = compute_totals(rows, others, discount_percent=percent)
    except (TypeError, ArithmeticError):
        return None, set()
    wanted = sorted(
        (read[i]["vat_category"].value, read[i]["vat_rate"].quantize(_CENT), read[i]["amount"]) for i in candidates
    )
    # The export leaves out groups whose discount rounds to 0.00.
    produced = sorted((c.value, rate, amount) for c, rate, amount in totals.discount_allowances if amount)
    if wanted != produced:
        return None, set()
    for index in candidates:
        for child in elements[index]:
            r.mark(child)
    return percent, candidates


def _compare_totals(r: _Reader, document: Invoice | CreditNote, extras: UblExtras) -> None:
    from invoicekit.ubl._export import document_totals

    try:
        totals = document_totals(document, extras)
    except (TypeError, ValueError, ArithmeticError) as exc:  # a kept-as-read value the engine cannot use
        r.issues.append(FieldIssue("totals", f"the neutral engine cannot compute totals: {exc}"))
        return
    lmt = r.el("cac:LegalMonetaryTotal")
    stated = {
        "line_extension": r.decimal("cbc:LineExtensionAmount", lmt) if lmt is not None else None,
        "allowance_total": r.decimal("cbc:AllowanceTotalAmount", lmt) if lmt is not None else None,
        "charge_total": r.decimal("cbc:ChargeTotalAmount", lmt) if lmt is not None else None,
        "tax_exclusive": r.decimal("cbc:TaxExclusiveAmount", lmt) if lmt is not None else None,
        "tax_inclusive": r.decimal("cbc:TaxInclusiveAmount", lmt) if lmt is not None else None,
        "payable": r.decimal("cbc:PayableAmount", lmt) if lmt is not None else None,
    }
    for tax_total in r.all("cac:TaxTotal"):
        if r.el("cac:TaxSubtotal", tax_total) is not None:
            stated["vat_total"] = r.decimal("cbc:TaxAmount", tax_total)
    for name, value in stated.items():
        computed = getattr(totals, name)
        if value is not None and value != computed:
            r.issues.append(
                FieldIssue(
                    f"totals.{name}",
                    f"the document states {value}, the neutral totals engine computes {computed}",
                )
            )


# --- the document -----------------------------------------------------------------------------------------


def from_ubl(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ImportedDocument:
    """Read a UBL 2.1 Invoice or CreditNote (Peppol BIS 3.0 or any EN 16931 CIUS) into neutral documents.

    Parsing goes through :func:`invoicekit.xmlsafe.parse_xml` (raises its ``UnsafeXml`` / ``XmlSyntaxError``;
    ``max_bytes`` raises the 10 MiB bound); :class:`UblImportError` means the XML is not an Invoice/CreditNote or
    lacks its issue date. Values the model or :class:`UblExtras` would refuse are kept as read and listed in
    ``leftovers.issues``.
    """
    root = parse_xml(data, max_bytes=max_bytes)
    # Like a provider's data, a received document is read tolerantly: its extras too (a wrong EAS code or GLN
    # is reported below, not raised).
    with provider_context():
        return _read(root, data)


def _read(root: etree._Element, data: bytes) -> ImportedDocument:
    model = _ROOTS.get(root.tag)
    if model is None:
        raise UblImportError(f"the root element {root.tag} is neither a UBL 2.1 Invoice nor a CreditNote")
    r = _Reader(root)
    is_credit_note = model is CreditNote

    customization = r.text("cbc:CustomizationID")
    profile = r.text("cbc:ProfileID")
    number = r.text("cbc:ID")
    issue_date = r.day("cbc:IssueDate")
    if issue_date is None:
        raise UblImportError("the document has no valid IssueDate (BT-2)")
    type_tag = "cbc:CreditNoteTypeCode" if is_credit_note else "cbc:InvoiceTypeCode"
    type_element = r.el(type_tag)
    type_code = (type_element.text or "").strip() if type_element is not None else None
    if type_code in {"380", "381"}:
        r.mark(type_element)
    else:
        r.issues.append(FieldIssue("type_code", f"document type code {type_code!r} is kept in the raw XML only"))
    notes = r.all("cbc:Note")
    note = r.text("cbc:Note")
    if len(notes) > 1:
        r.issues.append(FieldIssue("note", f"{len(notes)} notes; only the first is carried over"))

    means = r.el("cac:PaymentMeans")
    extras: dict[str, Any] = {
        "tax_point_date": r.day("cbc:TaxPointDate"),
        "accounting_cost": r.text("cbc:AccountingCost"),
        "contract_reference": r.text("cac:ContractDocumentReference/cbc:ID"),
        "project_reference": None if is_credit_note else r.text("cac:ProjectReference/cbc:ID"),
        "payment_terms": r.text("cac:PaymentTerms/cbc:Note"),
        "billing_references": tuple(
            DocumentReference(r.text("cbc:ID", ref) or "", r.day("cbc:IssueDate", ref))
            for ref in r.all("cac:BillingReference/cac:InvoiceDocumentReference")
        ),
    }
    period = r.el("cac:InvoicePeriod")
    invoicing_period = None
    if period is not None:
        start, end = r.day("cbc:StartDate", period), r.day("cbc:EndDate", period)
        if start is not None or end is not None:
            invoicing_period = r.build(InvoicingPeriod, "invoicing_period", {"start": start, "end": end})
    tax_currency = r.text("cbc:TaxCurrencyCode")
    currency = r.text("cbc:DocumentCurrencyCode") or "EUR"
    if tax_currency:
        extras["tax_currency_code"] = tax_currency
        for tax_total in r.all("cac:TaxTotal"):
            amount = r.el("cbc:TaxAmount", tax_total)
            if r.el("cac:TaxSubtotal", tax_total) is None and amount is not None:
                extras["tax_total_in_tax_currency"] = r.decimal("cbc:TaxAmount", tax_total)

    seller, seller_extras = _seller(r, r.el("cac:AccountingSupplierParty/cac:Party"), means)
    delivery = r.el("cac:Delivery")
    delivery_date = r.day("cbc:ActualDeliveryDate", delivery) if delivery is not None else None
    delivery_address = (
        _address(r, r.el("cac:DeliveryLocation/cac:Address", delivery), "client.delivery_address")
        if delivery is not None
        else None
    )
    if delivery is not None:
        extras["delivery_location_id"] = _identifier(r, r.el("cac:DeliveryLocation/cbc:ID", delivery))
        extras["delivery_party_name"] = r.text("cac:DeliveryParty/cac:PartyName/cbc:Name", delivery)
    client, client_extras = _client(r, r.el("cac:AccountingCustomerParty/cac:Party"), delivery_address)
    extras.update(seller_extras)
    extras.update(client_extras)

    due_date = r.day("cac:PaymentMeans/cbc:PaymentDueDate") if is_credit_note else r.day("cbc:DueDate")
    structured_communication = None
    if means is not None:
        extras["payment_means_code"] = r.text("cbc:PaymentMeansCode", means)
        payment_id = r.text("cbc:PaymentID", means)
        if payment_id:
            try:
                structured_communication = belgium.validate_ogm(payment_id)
            except ValueError:
                extras["payment_id"] = payment_id
        mandate = r.el("cac:PaymentMandate", means)
        if mandate is not None:
            extras["mandate_reference"] = r.text("cbc:ID", mandate)
            extras["payer_account"] = r.text("cac:PayerFinancialAccount/cbc:ID", mandate)

    exemptions = _exemptions(r)
    line_tag, quantity_tag = (
        ("cac:CreditNoteLine", "cbc:CreditedQuantity")
        if is_credit_note
        else ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    )
    rows = [_line(r, line, i, quantity_tag, exemptions) for i, line in enumerate(r.all(line_tag))]
    discount_percent, allowances = _allowances(r, rows)

    lmt = r.el("cac:LegalMonetaryTotal")
    if lmt is not None:
        extras["prepaid_amount"] = r.decimal("cbc:PrepaidAmount", lmt)
        extras["rounding_amount"] = r.decimal("cbc:PayableRoundingAmount", lmt)

    fields: dict[str, Any] = {
        "number": number,
        "issue_date": issue_date,
        "due_date": due_date,
        "delivery_date": delivery_date,
        "invoicing_period": invoicing_period,
        "currency": currency,
        "client": client,
        "rows": rows,
        "allowances_charges": allowances,
        "discount_percent": discount_percent,
        "note": note,
        "buyer_reference": r.text("cbc:BuyerReference"),
        "order_reference": r.text("cac:OrderReference/cbc:ID"),
        "structured_communication": structured_communication,
        # ProviderDocument.raw: the payload as received, for whatever has no field.
        "raw": bytes(data),
    }
    if is_credit_note and extras["billing_references"]:
        fields["corrects_invoice_number"] = extras["billing_references"][0].id or None
    document: Invoice | CreditNote = r.build(CreditNote, "", fields) if is_credit_note else r.build(Invoice, "", fields)
    ubl_extras = UblExtras(**{key: value for key, value in extras.items() if value is not None})
    r.issues.extend(FieldIssue(f"extras.{i.path}", f"{i.reason} (kept as read)") for i in extras_issues(ubl_extras))
    _compare_totals(r, document, ubl_extras)
    leftovers = Leftovers(
        raw=bytes(data),
        unmapped=r.unmapped(),
        issues=tuple(r.issues),
        customization_id=customization,
        profile_id=profile,
    )
    return ImportedDocument(document=document, seller=seller, extras=ubl_extras, leftovers=leftovers)
