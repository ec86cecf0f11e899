"""Pure-Python pre-flight: the Peppol and EN 16931 rules users hit most, without saxon.

Two entry points share one rule set:

* on UBL (bytes or a parsed tree) the checks read the XML, and report the official rule id with an XPath;
* on a neutral document the checks first look at the model, so that each finding names the field to fix
  (``client.enterprise_number``), then export and run the XML checks as a safety net.

Rule ids are the official ones (``PEPPOL-EN16931-R003``, ``BR-CO-14``, ``BR-AE-05`` ...) wherever the rule is
an official one, so a pre-flight finding and the schematron finding for the same mistake line up. The few
checks no official rule makes carry an ``INVOICEKIT-`` id (a 9925 endpoint without ``BE``, which validates
everywhere but cannot be routed).

Pre-flight is a subset, not a replacement: it covers what is cheap to check and commonly wrong. The full
verdict is :func:`invoicekit.ubl.validate` with the CEN and Peppol layers.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Iterator
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from lxml import etree

from invoicekit.errors import FieldIssue, ValidationError
from invoicekit.model import CreditNote, Invoice, Seller, document_issues
from invoicekit.ubl._export import build_tree, buyer_endpoint, seller_endpoint
from invoicekit.ubl._extras import Endpoint, UblExtras, period_conflict
from invoicekit.ubl._ns import (
    CAC,
    CBC,
    CUSTOMIZATION_ID,
    MAX_INTEGER_DIGITS,
    SCHEME_BE_VAT,
    SCHEME_KBO,
    parse_decimal,
)
from invoicekit.ubl._report import Finding, Flag, Layer
from invoicekit.vat import DEFAULT_EXEMPTION_CODES, VatCategory
from invoicekit.xmlsafe import DEFAULT_MAX_BYTES, XmlError, parse_xml

__all__ = ["COVERED_RULES", "PREFLIGHT_VERSION", "preflight", "preflight_or_raise", "preflight_tree"]


def _version() -> str:
    try:
        return importlib.metadata.version("invoicekit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "dev"


PREFLIGHT_VERSION = f"invoicekit {_version()} pre-flight"
#: A text field holds a character XML 1.0 cannot carry (a C0 control character, U+FFFE, ...).
XML_CHARACTER_RULE = "INVOICEKIT-XML-CHAR"
#: An amount that is not a plain decimal (1e30, NaN, INF) or too large for any invoice.
NUMBER_RULE = "INVOICEKIT-NUMBER"

_NS = {"cac": CAC, "cbc": CBC}
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_KBO = re.compile(r"^[0-9]{10}$")
_BE_VAT_ENDPOINT = re.compile(r"^BE[01][0-9]{9}$")
_PROFILE = re.compile(r"^urn:fdc:peppol\.eu:2017:poacc:billing:[0-9]{2}:1\.0$")
_VAT_PREFIX = re.compile(r"^[A-Z]{2}")
_RULE_IN_TEXT = re.compile(r"\((BR-[A-Z0-9-]+|PEPPOL-[A-Z0-9-]+)\)")
# Units people type that are not UN/ECE Rec 20 codes; Peppol rejects them with BR-CL-23. The full list has
# some 2,000 codes; the schematron checks it, pre-flight catches the usual suspects (checked against the
# list in the CEN 1.3.16 XSLT: none of these is in it; STK is, as "stick", so it is not listed here).
_NOT_REC20 = {
    "PCS": "C62",
    "PC": "C62",
    "PCE": "C62",
    "ST": "C62",
    "STUK": "C62",
    "UNIT": "C62",
    "UUR": "HUR",
    "HR": "HUR",
    "HRS": "HUR",
    "H": "HUR",
    "DAG": "DAY",
    "D": "DAY",
    "M": "MTR",
    "KG.": "KGM",
}
_CATEGORIES = frozenset(c.value for c in VatCategory)
_ZERO = frozenset({"Z", "E", "AE", "K", "G"})
_NEEDS_REASON = frozenset({"E", "AE", "K", "G", "O"})
# BR-<x>-nn: the rule family of each category (K is "IC", intra-community).
_FAMILY = {"S": "S", "Z": "Z", "E": "E", "AE": "AE", "K": "IC", "G": "G", "O": "O"}

#: Every rule id pre-flight can report. The mutation suite exercises the common ones against the official
#: layers; the per-category families (BR-S-.., BR-AE-.., ...) share one implementation.
COVERED_RULES: frozenset[str] = frozenset(
    {
        "PEPPOL-EN16931-R001",
        "PEPPOL-EN16931-R002",
        "PEPPOL-EN16931-R003",
        "PEPPOL-EN16931-R004",
        "PEPPOL-EN16931-R007",
        "PEPPOL-EN16931-R008",
        "PEPPOL-EN16931-R010",
        "PEPPOL-EN16931-R020",
        "PEPPOL-EN16931-R051",
        "PEPPOL-EN16931-R053",
        "PEPPOL-EN16931-R054",
        "PEPPOL-EN16931-R061",
        "PEPPOL-EN16931-R120",
        "PEPPOL-EN16931-R121",
        "PEPPOL-COMMON-R043",
        "INVOICEKIT-9925",
        "INVOICEKIT-XML-CHAR",
        "INVOICEKIT-NUMBER",
        "BR-10",
        "BR-27",
        "BR-61",
        "BR-62",
        "BR-63",
        "BR-CL-18",
        "BR-CL-23",
        "BR-CO-09",
        "BR-CO-10",
        "BR-CO-11",
        "BR-CO-12",
        "BR-CO-13",
        "BR-CO-14",
        "BR-CO-15",
        "BR-CO-16",
        "BR-CO-17",
        "BR-CO-25",
        "UBL-DT-01",
        # per category: VAT ids (02), rates of lines/allowances/charges (05-07), taxable amount (08), VAT
        # amount 0 (09, not for S: BR-CO-17 checks it), exemption reason (10)
        *(f"BR-{f}-{n:02d}" for f in _FAMILY.values() for n in (2, 5, 6, 7, 8, 9, 10) if (f, n) != ("S", 9)),
        "BR-IC-11",
        "BR-IC-12",
        "BR-O-11",
        # invoicekit's own, for neutral documents: no number yet, a credit note without the invoice it
        # corrects (warning), a foreign-currency invoice without its VAT in EUR (warning).
        "BT-1",
        "BT-25",
        "INVOICEKIT-BE-EUR",
        # a cross-field rule of the neutral model whose reason names no official rule
        "INVOICEKIT-MODEL",
        "XML-WELLFORMED",
    }
)


def _finding(rule_id: str, message: str, location: str, flag: Flag = Flag.FATAL) -> Finding:
    return Finding(
        layer=Layer.PREFLIGHT,
        rule_id=rule_id,
        flag=flag,
        message=message,
        location=location,
        artefact_version=PREFLIGHT_VERSION,
    )


# --- XML checks -------------------------------------------------------------------------------------------


def _dec(text: str | None) -> Decimal | None:
    return parse_decimal(text)


def _xpath_round2(value: Decimal) -> Decimal:
    # XPath round() goes half towards +infinity; the schematron compares against that.
    return (value * _HUNDRED + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR) / _HUNDRED


class _Doc:
    """The UBL tree with the lookups the checks need."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.tree = root.getroottree()
        self.is_credit_note = etree.QName(root).localname == "CreditNote"
        self.line_tag = "cac:CreditNoteLine" if self.is_credit_note else "cac:InvoiceLine"
        self.quantity_tag = "cbc:CreditedQuantity" if self.is_credit_note else "cbc:InvoicedQuantity"
        self.root_name = etree.QName(root).localname

    def find(self, path: str, base: etree._Element | None = None) -> etree._Element | None:
        return (self.root if base is None else base).find(path, _NS)

    def findall(self, path: str, base: etree._Element | None = None) -> list[etree._Element]:
        return (self.root if base is None else base).findall(path, _NS)

    def text(self, path: str, base: etree._Element | None = None) -> str | None:
        element = self.find(path, base)
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def amount(self, path: str, base: etree._Element | None = None) -> Decimal | None:
        return _dec(self.text(path, base))

    def where(self, element: etree._Element) -> str:
        path = self.tree.getpath(element)
        # getpath gives "/*/cac:TaxTotal[1]" style paths when the root's namespace is the default one.
        return path.replace("/*", f"/{self.root_name}", 1) if path.startswith("/*") else path

    def lines(self) -> list[etree._Element]:
        return self.findall(self.line_tag)

    def tax_category(self, element: etree._Element, child: str) -> tuple[str, Decimal | None, etree._Element]:
        category = self.find(child, element)
        if category is None:
            return "", None, element
        return (self.text("cbc:ID", category) or "").upper(), self.amount("cbc:Percent", category), category


def _header_findings(doc: _Doc) -> Iterator[Finding]:
    root = doc.root
    customization = doc.text("cbc:CustomizationID")
    if customization != CUSTOMIZATION_ID:
        yield _finding(
            "PEPPOL-EN16931-R004",
            f"CustomizationID must be {CUSTOMIZATION_ID!r}, found {customization!r}",
            doc.where(root),
        )
    profile = doc.text("cbc:ProfileID")
    if profile is None:
        yield _finding("PEPPOL-EN16931-R001", "the business process (ProfileID) is missing", doc.where(root))
    elif not _PROFILE.match(profile):
        yield _finding(
            "PEPPOL-EN16931-R007",
            f"ProfileID must look like urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0, found {profile!r}",
            doc.where(root),
        )
    notes = doc.findall("cbc:Note")
    # 3.0.19: several notes are allowed when seller and buyer both have a German postal address.
    country = "cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode"
    both_german = all(
        (doc.text(f"{party}/{country}") or "").upper() == "DE"
        for party in ("cac:AccountingSupplierParty", "cac:AccountingCustomerParty")
    )
    if len(notes) > 1 and not both_german:
        yield _finding(
            "PEPPOL-EN16931-R002",
            f"at most one document Note is allowed unless seller and buyer are both German, found {len(notes)}",
            doc.where(notes[1]),
        )
    if doc.text("cbc:BuyerReference") is None and doc.text("cac:OrderReference/cbc:ID") is None:
        yield _finding("PEPPOL-EN16931-R003", "a BuyerReference or an OrderReference/ID is required", doc.where(root))
    if not doc.is_credit_note:
        payable = doc.amount("cac:LegalMonetaryTotal/cbc:PayableAmount")
        if (
            payable is not None
            and payable > 0
            and doc.text("cbc:DueDate") is None
            and doc.text("cac:PaymentTerms/cbc:Note") is None
        ):
            yield _finding(
                "BR-CO-25",
                "a positive amount due needs a DueDate or PaymentTerms/Note (still enforced by Peppol BIS "
                "3.0.19/3.0.20 although CEN 1.3.16 dropped it)",
                doc.where(root),
            )


def _empty_findings(doc: _Doc) -> Iterator[Finding]:
    for element in doc.root.iter(etree.Element):
        if len(element) == 0 and not (element.text or "").strip():
            yield _finding("PEPPOL-EN16931-R008", "the document must not contain empty elements", doc.where(element))


def _check_digits_ok(number: str) -> bool:
    return int(number[8:]) == 97 - int(number[:8]) % 97


def _identifier_findings(doc: _Doc) -> Iterator[Finding]:
    for element in doc.root.iter(etree.Element):
        scheme = element.get("schemeID")
        if scheme is None:
            continue
        value = (element.text or "").strip()
        if scheme == SCHEME_KBO and not (_KBO.match(value) and _check_digits_ok(value)):
            yield _finding(
                "PEPPOL-COMMON-R043",
                f"a 0208 identifier must be a Belgian enterprise number: 10 digits whose last two are "
                f"97 - (first eight mod 97); {value!r} is not",
                doc.where(element),
            )
        elif (
            scheme == SCHEME_BE_VAT
            and etree.QName(element).localname == "EndpointID"
            and not (_BE_VAT_ENDPOINT.match(value) and _check_digits_ok(value[2:]))
        ):
            yield _finding(
                "INVOICEKIT-9925",
                f"a 9925 endpoint must be a Belgian VAT number BE + 10 digits (^BE[01]\\d{{9}}$) with valid "
                f"check digits; {value!r} validates but cannot be routed",
                doc.where(element),
            )
    for party, missing_rule, scheme_rule, label in (
        ("cac:AccountingSupplierParty/cac:Party", "PEPPOL-EN16931-R020", "BR-62", "seller"),
        ("cac:AccountingCustomerParty/cac:Party", "PEPPOL-EN16931-R010", "BR-63", "buyer"),
    ):
        endpoint = doc.find(f"{party}/cbc:EndpointID")
        if endpoint is None or not (endpoint.text or "").strip():
            yield _finding(
                missing_rule, f"the {label}'s electronic address (EndpointID) is required", doc.where(doc.root)
            )
        elif not endpoint.get("schemeID"):
            yield _finding(scheme_rule, f"the {label}'s EndpointID needs a schemeID", doc.where(endpoint))
    for tax_scheme in doc.findall(".//cac:PartyTaxScheme"):
        company = doc.find("cbc:CompanyID", tax_scheme)
        value = (company.text or "").strip() if company is not None else ""
        is_vat = doc.text("cac:TaxScheme/cbc:ID", tax_scheme) == "VAT"
        if company is not None and is_vat and value and not _VAT_PREFIX.match(value):
            yield _finding(
                "BR-CO-09",
                f"a VAT identifier must start with its country prefix, {value!r} does not",
                doc.where(company),
            )


def _currency_findings(doc: _Doc) -> Iterator[Finding]:
    currency = doc.text("cbc:DocumentCurrencyCode")
    tax_currency = doc.text("cbc:TaxCurrencyCode")
    for element in doc.root.iter(etree.Element):
        found = element.get("currencyID")
        if found is None or found == currency:
            continue
        parent = element.getparent()
        is_bt111 = (
            tax_currency is not None
            and found == tax_currency
            and etree.QName(element).localname == "TaxAmount"
            and parent is not None
            and etree.QName(parent).localname == "TaxTotal"
        )
        if not is_bt111:
            yield _finding(
                "PEPPOL-EN16931-R051",
                f"currencyID {found!r} differs from the document currency {currency!r}",
                doc.where(element),
            )
    for element in doc.root.iter(etree.Element):
        name = etree.QName(element).localname
        if not name.endswith("Amount") or name.endswith("PriceAmount"):
            continue
        parent = element.getparent()
        grandparent = parent.getparent() if parent is not None else None
        if grandparent is not None and etree.QName(grandparent).localname == "Price":
            continue
        text = (element.text or "").strip()
        if parse_decimal(text) is None:
            yield _finding(
                NUMBER_RULE,
                f"{text[:40]!r} is not a number an invoice can hold (a plain decimal of at most "
                f"{MAX_INTEGER_DIGITS} digits before the point; no exponent, NaN or INF)",
                doc.where(element),
            )
        elif "." in text and len(text.split(".", 1)[1]) > 2:
            yield _finding("UBL-DT-01", f"amounts have at most two decimals, found {text!r}", doc.where(element))


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def _document_allowances(doc: _Doc, charge: bool) -> list[etree._Element]:
    wanted = "true" if charge else "false"
    return [
        e for e in doc.findall("cac:AllowanceCharge") if (doc.text("cbc:ChargeIndicator", e) or "").lower() == wanted
    ]


def _arithmetic_findings(doc: _Doc) -> Iterator[Finding]:
    totals = doc.find("cac:LegalMonetaryTotal")
    if totals is None:
        return
    where = doc.where(totals)

    def total(name: str) -> Decimal | None:
        return doc.amount(f"cbc:{name}", totals)

    line_extension = total("LineExtensionAmount")
    lines_sum = _sum(doc.amount("cbc:LineExtensionAmount", line) for line in doc.lines())
    if line_extension is not None and line_extension != lines_sum:
        yield _finding(
            "BR-CO-10",
            f"LineExtensionAmount {line_extension} differs from the sum of the line amounts {lines_sum}",
            where,
        )
    allowances = _sum(doc.amount("cbc:Amount", e) for e in _document_allowances(doc, charge=False))
    charges = _sum(doc.amount("cbc:Amount", e) for e in _document_allowances(doc, charge=True))
    allowance_total, charge_total = total("AllowanceTotalAmount"), total("ChargeTotalAmount")
    for rule, declared, computed, label, present in (
        ("BR-CO-11", allowance_total, allowances, "AllowanceTotalAmount", bool(_document_allowances(doc, False))),
        ("BR-CO-12", charge_total, charges, "ChargeTotalAmount", bool(_document_allowances(doc, True))),
    ):
        if (declared is None and present) or (declared is not None and declared != computed):
            yield _finding(
                rule, f"{label} {declared} differs from the sum of the document-level amounts {computed}", where
            )
    tax_exclusive = total("TaxExclusiveAmount")
    if line_extension is not None and tax_exclusive is not None:
        expected = line_extension - (allowance_total or 0) + (charge_total or 0)
        if tax_exclusive != expected:
            yield _finding("BR-CO-13", f"TaxExclusiveAmount {tax_exclusive} should be {expected}", where)

    with_subtotals = [t for t in doc.findall("cac:TaxTotal") if doc.find("cac:TaxSubtotal", t) is not None]
    without = [t for t in doc.findall("cac:TaxTotal") if doc.find("cac:TaxSubtotal", t) is None]
    if len(with_subtotals) != 1:
        yield _finding(
            "PEPPOL-EN16931-R053",
            f"exactly one TaxTotal with TaxSubtotals is required, found {len(with_subtotals)}",
            doc.where(doc.root),
        )
    expected_without = 1 if doc.text("cbc:TaxCurrencyCode") else 0
    if len(without) != expected_without:
        yield _finding(
            "PEPPOL-EN16931-R054",
            f"expected {expected_without} TaxTotal without subtotals (one only with a TaxCurrencyCode), "
            f"found {len(without)}",
            doc.where(doc.root),
        )
    vat_total: Decimal | None = None
    if with_subtotals:
        tax_total = with_subtotals[0]
        vat_total = doc.amount("cbc:TaxAmount", tax_total)
        subtotal_sum = _sum(doc.amount("cbc:TaxAmount", s) for s in doc.findall("cac:TaxSubtotal", tax_total))
        if vat_total is not None and vat_total != subtotal_sum:
            yield _finding(
                "BR-CO-14",
                f"the VAT total {vat_total} differs from the sum of the VAT category amounts {subtotal_sum}",
                doc.where(tax_total),
            )
    tax_inclusive = total("TaxInclusiveAmount")
    if tax_exclusive is not None and tax_inclusive is not None:
        expected = tax_exclusive + (vat_total or 0)
        if tax_inclusive != expected:
            yield _finding("BR-CO-15", f"TaxInclusiveAmount {tax_inclusive} should be {expected}", where)
    payable = total("PayableAmount")
    if tax_inclusive is not None and payable is not None:
        expected = tax_inclusive - (total("PrepaidAmount") or 0) + (total("PayableRoundingAmount") or 0)
        if payable != expected:
            yield _finding("BR-CO-16", f"PayableAmount {payable} should be {expected}", where)

    for line in doc.lines():
        yield from _line_arithmetic(doc, line)


def _line_arithmetic(doc: _Doc, line: etree._Element) -> Iterator[Finding]:
    net = doc.amount("cbc:LineExtensionAmount", line) or Decimal(0)
    quantity = doc.amount(doc.quantity_tag, line)
    quantity = _ONE if quantity is None else quantity
    price = doc.amount("cac:Price/cbc:PriceAmount", line) or Decimal(0)
    base = doc.amount("cac:Price/cbc:BaseQuantity", line)
    if base is not None and base <= 0:
        yield _finding("PEPPOL-EN16931-R121", "the price base quantity must be above zero", doc.where(line))
    if price < 0:
        yield _finding("BR-27", "the item net price must not be negative", doc.where(line))
    divisor = base if base else _ONE
    line_allowances = [e for e in doc.findall("cac:AllowanceCharge", line)]
    charges = _sum(
        doc.amount("cbc:Amount", e) for e in line_allowances if (doc.text("cbc:ChargeIndicator", e) or "") == "true"
    )
    allowances = _sum(
        doc.amount("cbc:Amount", e) for e in line_allowances if (doc.text("cbc:ChargeIndicator", e) or "") == "false"
    )
    expected = quantity * (price / divisor) + _xpath_round2(charges) - _xpath_round2(allowances)
    if abs(net - expected) > Decimal("0.02"):
        yield _finding(
            "PEPPOL-EN16931-R120",
            f"the line net amount {net} should be quantity x price / base quantity + charges - allowances "
            f"= {expected.quantize(_CENT, rounding=ROUND_HALF_UP)}",
            doc.where(line),
        )


def _unit_findings(doc: _Doc) -> Iterator[Finding]:
    for line in doc.lines():
        quantity = doc.find(doc.quantity_tag, line)
        if quantity is None:
            continue
        unit = (quantity.get("unitCode") or "").strip().upper()
        if unit in _NOT_REC20:
            yield _finding(
                "BR-CL-23",
                f"unit {unit!r} is not a UN/ECE Recommendation 20 code; use {_NOT_REC20[unit]}",
                doc.where(quantity),
            )


def _vat_ids(doc: _Doc) -> tuple[bool, bool, bool]:
    seller_vat = doc.find("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") is not None
    representative_vat = doc.find("cac:TaxRepresentativeParty/cac:PartyTaxScheme/cbc:CompanyID") is not None
    buyer_vat = doc.find("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") is not None
    return seller_vat, representative_vat, buyer_vat


def _group_key(category: str, rate: Decimal | None) -> tuple[str, Decimal | None]:
    # The schematron groups S per rate (BR-S-08) and every other category as a whole (BR-AE-08, ...).
    return (category, rate.normalize() if rate is not None else None) if category == "S" else (category, None)


def _at(rate: Decimal | None, category: str) -> str:
    return f" at {rate} %" if category == "S" and rate is not None else ""


def _category_findings(doc: _Doc) -> Iterator[Finding]:
    # (category, rate) -> net from lines, charges, allowances
    groups: dict[tuple[str, Decimal | None], Decimal] = {}
    used: set[str] = set()

    def add(category: str, rate: Decimal | None, amount: Decimal) -> None:
        key = _group_key(category, rate)
        groups[key] = groups.get(key, Decimal(0)) + amount
        used.add(category)

    def rate_rules(
        category: str, rate: Decimal | None, element: etree._Element, number: int, what: str
    ) -> Iterator[Finding]:
        if category not in _CATEGORIES:
            yield _finding("BR-CL-18", f"{category!r} is not a VAT category code (UNCL5305 subset)", doc.where(element))
            return
        family = _FAMILY.get(category)
        if family is None:
            return
        rule = f"BR-{family}-{number:02d}"
        if category == "S" and (rate is None or rate <= 0):
            yield _finding(rule, f"a standard-rated {what} needs a VAT rate above 0", doc.where(element))
        elif category in _ZERO and rate != 0:
            yield _finding(
                rule, f"a {what} in VAT category {category} must have a 0 % rate, found {rate}", doc.where(element)
            )
        elif category == "O" and rate is not None:
            yield _finding(rule, f"a {what} not subject to VAT (O) must not state a VAT rate", doc.where(element))

    for line in doc.lines():
        category, rate, element = doc.tax_category(line, "cac:Item/cac:ClassifiedTaxCategory")
        yield from rate_rules(category, rate, element, 5, "line")
        add(category, rate, doc.amount("cbc:LineExtensionAmount", line) or Decimal(0))
    for charge in (False, True):
        for allowance in _document_allowances(doc, charge):
            category, rate, element = doc.tax_category(allowance, "cac:TaxCategory")
            yield from rate_rules(category, rate, element, 7 if charge else 6, "charge" if charge else "allowance")
            amount = doc.amount("cbc:Amount", allowance) or Decimal(0)
            add(category, rate, amount if charge else -amount)

    seller_vat, representative_vat, buyer_vat = _vat_ids(doc)
    buyer_legal = doc.find("cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID") is not None
    subtotals = doc.findall("cac:TaxTotal/cac:TaxSubtotal")
    breakdown: set[tuple[str, Decimal | None]] = set()
    for subtotal in subtotals:
        category, rate, element = doc.tax_category(subtotal, "cac:TaxCategory")
        family = _FAMILY.get(category)
        taxable = doc.amount("cbc:TaxableAmount", subtotal) or Decimal(0)
        tax = doc.amount("cbc:TaxAmount", subtotal) or Decimal(0)
        key = _group_key(category, rate)
        breakdown.add(key)
        where = doc.where(subtotal)
        if family is None:
            if category not in _CATEGORIES:
                yield _finding("BR-CL-18", f"{category!r} is not a VAT category code", doc.where(element))
            continue
        computed = groups.get(key, Decimal(0))
        # CEN allows one unit of slack for S (grouped per rate) and none for the zero-rated categories.
        if (abs(taxable - computed) >= 1) if category == "S" else (taxable != computed):
            yield _finding(
                f"BR-{family}-08",
                f"the {category} taxable amount{_at(rate, category)} is {taxable}, but its lines, allowances and "
                f"charges add up to {computed}",
                where,
            )
        percent = rate or Decimal(0)
        expected = _xpath_round2(abs(taxable) * percent / _HUNDRED)
        if percent != 0 and not (abs(tax) - 1 < expected < abs(tax) + 1):
            yield _finding("BR-CO-17", f"VAT {tax} at {percent} % of {taxable} should be about {expected}", where)
        if category in _ZERO | {"O"} and tax != 0:
            yield _finding(f"BR-{family}-09", f"the VAT amount of category {category} must be 0, found {tax}", where)
        code = doc.text("cbc:TaxExemptionReasonCode", element)
        reason = doc.text("cbc:TaxExemptionReason", element)
        if category in _NEEDS_REASON and not (code or reason):
            yield _finding(
                f"BR-{family}-10",
                f"a VAT breakdown in category {category} needs an exemption reason code or text"
                + (
                    f" (e.g. {DEFAULT_EXEMPTION_CODES[VatCategory(category)]})"
                    if VatCategory(category) in DEFAULT_EXEMPTION_CODES
                    else ""
                ),
                doc.where(element),
            )
        if category in {"S", "Z"} and (code or reason):
            yield _finding(
                f"BR-{family}-10",
                f"a VAT breakdown in category {category} must not have an exemption reason",
                doc.where(element),
            )
    for key in groups:
        if key not in breakdown and _FAMILY.get(key[0]):
            family = _FAMILY[key[0]]
            yield _finding(
                f"BR-{family}-08",
                f"lines or allowances in category {key[0]}{_at(key[1], key[0])} have no VAT breakdown (TaxSubtotal)",
                doc.where(doc.root),
            )

    root_where = doc.where(doc.root)
    for category in sorted(used & set(_FAMILY)):
        family = _FAMILY[category]
        if category == "O":
            if seller_vat or representative_vat or buyer_vat:
                yield _finding(
                    "BR-O-02",
                    "a document with VAT category O (not subject to VAT) must not carry VAT identifiers "
                    "(seller, tax representative or buyer PartyTaxScheme/CompanyID)",
                    root_where,
                )
            if len(used) > 1:
                yield _finding("BR-O-11", "VAT category O cannot be mixed with other categories", root_where)
            continue
        if not (seller_vat or representative_vat):
            yield _finding(
                f"BR-{family}-02", f"VAT category {category} requires the seller's VAT identifier", root_where
            )
        if category == "AE" and not (buyer_vat or buyer_legal):
            yield _finding("BR-AE-02", "reverse charge (AE) requires the buyer's VAT identifier", root_where)
        if category == "K":
            if not buyer_vat:
                yield _finding("BR-IC-02", "an intra-EU supply (K) requires the buyer's VAT identifier", root_where)
            if doc.text("cac:Delivery/cbc:ActualDeliveryDate") is None and doc.find("cac:InvoicePeriod") is None:
                yield _finding(
                    "BR-IC-11", "an intra-EU supply (K) requires a delivery date or an invoicing period", root_where
                )
            if doc.text("cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") is None:
                yield _finding("BR-IC-12", "an intra-EU supply (K) requires a deliver-to country", root_where)


def _payment_findings(doc: _Doc) -> Iterator[Finding]:
    for means in doc.findall("cac:PaymentMeans"):
        code = doc.text("cbc:PaymentMeansCode", means)
        if code in {"30", "58"} and doc.text("cac:PayeeFinancialAccount/cbc:ID", means) is None:
            yield _finding(
                "BR-61", f"payment means {code} (credit transfer) requires the payee's account", doc.where(means)
            )
        if code == "59" and doc.text("cac:PaymentMandate/cbc:ID", means) is None:
            yield _finding(
                "PEPPOL-EN16931-R061", "SEPA direct debit (59) requires the mandate reference", doc.where(means)
            )


_TREE_CHECKS = (
    _header_findings,
    _empty_findings,
    _identifier_findings,
    _currency_findings,
    _arithmetic_findings,
    _unit_findings,
    _category_findings,
    _payment_findings,
)


def preflight_tree(root: etree._Element) -> list[Finding]:
    """Run the XML pre-flight checks on a parsed UBL Invoice or CreditNote."""
    doc = _Doc(root)
    return [finding for check in _TREE_CHECKS for finding in check(doc)]


# --- document checks --------------------------------------------------------------------------------------


def _rule_of(reason: str, default: str) -> str:
    found = _RULE_IN_TEXT.search(reason)
    return found.group(1) if found else default


def _endpoint_findings(endpoint: Endpoint | None, path: str) -> Iterator[Finding]:
    if endpoint is None:
        return
    if endpoint.scheme == SCHEME_KBO and not (
        _KBO.match(endpoint.identifier) and _check_digits_ok(endpoint.identifier)
    ):
        yield _finding("PEPPOL-COMMON-R043", f"{endpoint} is not a valid 0208 enterprise number", path)
    if endpoint.scheme == SCHEME_BE_VAT and not (
        _BE_VAT_ENDPOINT.match(endpoint.identifier) and _check_digits_ok(endpoint.identifier[2:])
    ):
        yield _finding(
            "INVOICEKIT-9925", f"{endpoint}: a 9925 endpoint must be BE + a valid 10-digit enterprise number", path
        )


def _model_findings(document: Invoice | CreditNote, seller: Seller, extras: UblExtras) -> Iterator[Finding]:
    if not document.number:
        yield _finding("BT-1", "an invoice number is required before the document can be sent", "number")
    conflict = period_conflict(document, extras)
    if conflict is not None:
        yield _finding("INVOICEKIT-PERIOD", conflict.reason, conflict.path)
    legacy = extras.invoice_period
    legacy_period = legacy is not None and (legacy.start is not None or legacy.end is not None)
    for issue in document_issues(document):
        rule = _rule_of(issue.reason, "INVOICEKIT-MODEL")
        if rule == "BR-IC-11" and legacy_period:
            continue  # the period given the older way, in UblExtras, satisfies BR-IC-11 too
        yield _finding(rule, issue.reason, issue.path)
    client = document.client
    if seller_endpoint(seller, extras) is None:
        yield _finding(
            "PEPPOL-EN16931-R020",
            "the seller needs a Peppol address: an enterprise number (scheme 0208) or pass "
            "UblExtras(seller_endpoint=...)",
            "seller.enterprise_number",
        )
    if buyer_endpoint(client, extras) is None:
        yield _finding(
            "PEPPOL-EN16931-R010",
            "the buyer needs a Peppol address: an enterprise number (scheme 0208), a VAT number of a country "
            "whose Peppol scheme is the VAT number, or UblExtras(buyer_endpoint=...)",
            "client.enterprise_number",
        )
    yield from _endpoint_findings(extras.seller_endpoint, "extras.seller_endpoint")
    yield from _endpoint_findings(extras.buyer_endpoint, "extras.buyer_endpoint")
    kbo = client.enterprise_number
    if kbo and extras.buyer_endpoint is None and not (_KBO.match(kbo) and _check_digits_ok(kbo)):
        yield _finding(
            "PEPPOL-COMMON-R043", f"{kbo!r} is not a valid Belgian enterprise number", "client.enterprise_number"
        )
    if client.address is None:
        yield _finding("BR-10", "the buyer's postal address (with its country) is required", "client.address")
    for index, row in enumerate(document.rows):
        path = f"rows.{index}"
        category = row.vat_category.value
        family = _FAMILY.get(category)
        unit = row.unit.strip().upper()
        if unit in _NOT_REC20:
            yield _finding(
                "BR-CL-23", f"{unit!r} is not a UN/ECE Rec 20 unit code; use {_NOT_REC20[unit]}", f"{path}.unit"
            )
        if family is None:
            continue
        if category == "S" and row.vat_rate <= 0:
            yield _finding("BR-S-05", "a standard-rated row needs a VAT rate above 0", f"{path}.vat_rate")
        elif category in _ZERO | {"O"} and row.vat_rate != 0:
            yield _finding(f"BR-{family}-05", f"VAT category {category} requires a 0 % rate", f"{path}.vat_rate")
        if category in {"S", "Z"} and (row.exemption_code or row.exemption_reason):
            yield _finding(
                f"BR-{family}-10",
                f"VAT category {category} must not carry an exemption code or reason",
                f"{path}.exemption_reason",
            )
    for index, item in enumerate(document.allowances_charges):
        category = item.vat_category.value
        family = _FAMILY.get(category)
        number = 7 if item.is_charge else 6
        if family is None:
            continue
        if (category == "S" and item.vat_rate <= 0) or (category in _ZERO | {"O"} and item.vat_rate != 0):
            yield _finding(
                f"BR-{family}-{number:02d}",
                f"VAT category {category} does not allow a {item.vat_rate} % rate",
                f"allowances_charges.{index}.vat_rate",
            )
    categories = {row.vat_category for row in document.rows}
    if VatCategory.K in categories and client.delivery_address is None and client.address is None:
        yield _finding("BR-IC-12", "an intra-EU supply needs a deliver-to country", "client.delivery_address")
    if isinstance(document, Invoice) and document.rows:
        terms = document.effective_due_date or document.payment_term_days is not None or extras.payment_terms
        if not terms and document.totals.payable > 0:
            yield _finding(
                "BR-CO-25",
                "a positive amount due needs a due date or payment terms (set due_date or payment_term_days)",
                "due_date",
            )
    if document.currency != "EUR" and extras.tax_currency_code != "EUR" and seller.vat_number.startswith("BE"):
        yield _finding(
            "INVOICEKIT-BE-EUR",
            f"an invoice in {document.currency} from a Belgian seller must also state its VAT in EUR: pass "
            "UblExtras(tax_currency_code='EUR', tax_total_in_tax_currency=...)",
            "extras.tax_currency_code",
            Flag.WARNING,
        )
    if extras.payment_means_code in {"30", "58"} and not seller.iban:
        yield _finding("BR-61", "a credit transfer needs the seller's IBAN", "seller.iban")
    if isinstance(document, CreditNote) and not extras.billing_references:
        yield _finding(
            "BT-25",
            "the credit note does not reference the invoice it corrects (pass UblExtras(billing_references=...))",
            "extras.billing_references",
            Flag.WARNING,
        )


def _document_findings(document: Invoice | CreditNote, seller: Seller, extras: UblExtras) -> list[Finding]:
    findings = list(_model_findings(document, seller, extras))
    if not document.number or not document.rows:
        return findings  # no UBL can be built; the model findings say why
    reported = {f.rule_id for f in findings}
    try:
        tree = build_tree(document, seller, extras)
    except ValidationError as exc:  # text XML cannot hold: no UBL can be built
        findings.extend(_finding(XML_CHARACTER_RULE, issue.reason, issue.path) for issue in exc.issues)
        return findings
    tree_findings = preflight_tree(tree)
    # The model checks named the field to fix; only add what the XML checks found beyond them.
    findings.extend(f for f in tree_findings if f.rule_id not in reported)
    return findings


def preflight(
    data_or_document: bytes | Invoice | CreditNote,
    seller: Seller | None = None,
    *,
    extras: UblExtras | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Finding]:
    """Check UBL bytes, or a neutral document about to be exported, against the rules users hit most.

    For a document, ``seller`` is required and findings name model fields (``client.address``); for bytes
    they carry an XPath (bytes above ``max_bytes`` are refused). Needs neither saxon nor the XSDs. See
    :data:`COVERED_RULES`.
    """
    if isinstance(data_or_document, Invoice | CreditNote):
        if seller is None:
            raise TypeError("preflight(document, seller): the seller is required to check a neutral document")
        return _document_findings(data_or_document, seller, extras or UblExtras())
    if not isinstance(data_or_document, bytes | bytearray | memoryview):
        raise TypeError(f"preflight takes UBL bytes or an Invoice/CreditNote, not {type(data_or_document).__name__}")
    try:
        root = parse_xml(bytes(data_or_document), max_bytes=max_bytes)
    except XmlError as exc:
        return [_finding("XML-WELLFORMED", str(exc), "")]
    return preflight_tree(root)


def preflight_or_raise(
    document: Invoice | CreditNote, seller: Seller, *, extras: UblExtras | None = None
) -> list[Finding]:
    """Run :func:`preflight` on a document and raise if anything fatal is found; return the warnings.

    Adapters call this before sending through Peppol, so a document Peppol would bounce fails here, with
    field paths, before any request. Raises :class:`invoicekit.errors.ValidationError`.
    """
    findings = preflight(document, seller, extras=extras)
    fatal = [f for f in findings if f.is_fatal]
    if fatal:
        raise ValidationError(FieldIssue(_field_path(f), f"{f.message} [{f.rule_id}]") for f in fatal)
    return findings


def _field_path(finding: Finding) -> str:
    # Model checks carry a field path; XML safety-net checks carry an XPath, which means nothing to a caller
    # holding a neutral document, so they are reported against the document as a whole.
    return "document" if finding.location.startswith("/") or not finding.location else finding.location
