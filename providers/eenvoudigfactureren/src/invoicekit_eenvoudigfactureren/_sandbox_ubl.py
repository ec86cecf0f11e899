"""``GET /invoices/{id}?format=peppolbis3`` (and ``peppol``, ``ublbe``, ``efff``, ``ubl``): the invoice as
Peppol BIS Billing 3.0 UBL, written by the sandbox's own code.

EF builds this file itself from the invoice, the client and the account. The sandbox does the same from its
records and its own totals (:func:`_sandbox_invoices.totals`), never through the adapter's mapping or
invoicekit's exporter: :func:`invoicekit.ubl.validate`, built on the official rules, is then an independent
check of what it writes. EF's Belgian flavours (``ublbe``, ``efff``) are not documented; the sandbox serves
the same Peppol file for them (assumed, ``ubl.from_sandbox_writer`` in provenance.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from invoicekit.sandbox import cents
from invoicekit_eenvoudigfactureren._sandbox_common import ACCOUNT, Env, money
from invoicekit_eenvoudigfactureren._sandbox_invoices import HUNDRED, line_net, render_invoice, totals

__all__ = ["invoice_ubl"]

_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

# tax_rate_special_status (EF's code for a 0 % item) -> UNCL5305 category and VATEX code.
_SPECIAL: Mapping[str, tuple[str, str]] = {
    "": ("Z", ""),
    "MC": ("AE", "VATEX-EU-AE"),
    "VERLEGD": ("AE", "VATEX-EU-AE"),
    "ICD": ("K", "VATEX-EU-IC"),
    "ICL": ("K", "VATEX-EU-IC"),
    "EXPORT": ("G", "VATEX-EU-G"),
    "NIET ONDERWORPEN": ("O", "VATEX-EU-O"),
}


# The Peppol electronic address scheme (EAS) of a VAT number, by country, where one exists.
_VAT_SCHEMES: Mapping[str, str] = {
    "NL": "9944",
    "DE": "9930",
    "FR": "9957",
    "LU": "9938",
    "AT": "9914",
    "ES": "9920",
    "IE": "9935",
    "PT": "9946",
}


def _category(rate: Decimal, special: str) -> tuple[str, str, str]:
    """(category, exemption code, exemption reason) of an item."""
    if rate > 0:
        return "S", "", ""
    code = special.strip().upper().rstrip("*")
    if code in _SPECIAL:
        category, vatex = _SPECIAL[code]
        return category, vatex, ""
    return "E", "", special.strip()  # any other code: exempt, with EF's text as the reason


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    return _sub(parent, _CBC, name, text, **attrs)


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return _sub(parent, _CAC, name)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _vat(value: str) -> str:
    text = "".join(ch for ch in value.upper() if ch.isalnum())
    return text if text[:2].isalpha() else ("BE" + text if text else "")


def _party(parent: etree._Element, role: str, data: Mapping[str, str]) -> None:
    party = _cac(_cac(parent, role), "Party")
    vat, company, email = _vat(data.get("vat", "")), _digits(data.get("company_id", "")), data.get("email", "")
    if vat.startswith("BE") or company:
        _cbc(party, "EndpointID", company or vat[2:], schemeID="0208")
    elif vat[:2] in _VAT_SCHEMES:
        _cbc(party, "EndpointID", vat, schemeID=_VAT_SCHEMES[vat[:2]])
    else:
        _cbc(party, "EndpointID", email or "unknown@invalid.example", schemeID="EM")
    _cbc(_cac(party, "PartyName"), "Name", data["name"])
    address = _cac(party, "PostalAddress")
    for name, key in (("StreetName", "street"), ("CityName", "city"), ("PostalZone", "postal_code")):
        if data.get(key):
            _cbc(address, name, data[key])
    _cbc(_cac(address, "Country"), "IdentificationCode", data.get("country_code") or "BE")
    if vat:
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", vat)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", data["name"])
    if vat.startswith("BE") or company:
        _cbc(legal, "CompanyID", company or vat[2:], schemeID="0208")


def _tax_category(parent: etree._Element, name: str, category: str, rate: Decimal, vatex: str, reason: str) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    if category != "O":
        _cbc(element, "Percent", f"{rate.normalize():f}")
    if name == "TaxCategory" and vatex:
        _cbc(element, "TaxExemptionReasonCode", vatex)
    if name == "TaxCategory" and reason:
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def invoice_ubl(env: Env, record: dict[str, Any]) -> bytes:
    data = render_invoice(env, record)
    credit = data["type"] == "creditnote"
    sign = Decimal(-1) if credit else Decimal(1)  # EF keeps a credit note's amounts negative; UBL's are positive
    currency = str(data["currency"])
    root = etree.Element(f"{{{_CREDIT_NOTE if credit else _INVOICE}}}{'CreditNote' if credit else 'Invoice'}")

    def amount(parent: etree._Element, name: str, value: Decimal) -> None:
        _cbc(parent, name, money(value * sign), currencyID=currency)

    _cbc(root, "CustomizationID", _CUSTOMIZATION)
    _cbc(root, "ProfileID", _PROFILE)
    _cbc(root, "ID", str(data["number"]))
    _cbc(root, "IssueDate", str(data["date"]))
    if not credit and data["date_overdue"]:
        _cbc(root, "DueDate", str(data["date_overdue"]))
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    if data["note"]:
        _cbc(root, "Note", str(data["note"]))
    _cbc(root, "DocumentCurrencyCode", currency)
    _cbc(root, "BuyerReference", str(data["reference"] or data["number"]))
    if credit and data["reference"]:
        _cbc(_cac(_cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", str(data["reference"]))
    seller = {
        "name": str(ACCOUNT["name"]),
        "vat": str(ACCOUNT["vat_number"]),
        "street": str(ACCOUNT["street"]),
        "city": str(ACCOUNT["city"]),
        "postal_code": str(ACCOUNT["postal_code"]),
        "country_code": str(ACCOUNT["country_code"]),
    }
    client = env.store.get("clients", int(record["client_id"])) or {}
    buyer = {
        "name": str(client.get("name") or data["client_name"] or "?"),
        "vat": str(client.get("tax_code") or ""),
        "company_id": str(client.get("company_id") or ""),
        "email": str(client.get("email_address") or ""),
        "street": str(client.get("street") or ""),
        "city": str(client.get("city") or ""),
        "postal_code": str(client.get("postal_code") or ""),
        "country_code": str(client.get("country_code") or ""),
    }
    _party(root, "AccountingSupplierParty", seller)
    _party(root, "AccountingCustomerParty", buyer)

    figures = totals(record)
    items = list(record.get("items", []))
    categories = [
        _category(Decimal(str(i.get("tax_rate", "0"))), str(i.get("tax_rate_special_status", ""))) for i in items
    ]
    if any(category == "K" for category, _, _ in categories):
        # An intra-community supply names when and where it was delivered (BR-IC-11, BR-IC-12).
        delivery = _cac(root, "Delivery")
        _cbc(delivery, "ActualDeliveryDate", str(data["date_delivery"] or data["date"]))
        address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
        _cbc(_cac(address, "Country"), "IdentificationCode", buyer["country_code"] or "BE")
    if not credit:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "30")
        if data["structured_message"]:
            _cbc(means, "PaymentID", str(data["structured_message"]))
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", str(ACCOUNT["iban"]))
    days = int(data["days_due"] or 0)
    # An amount due needs a due date or payment terms (BR-CO-25); a credit note has no DueDate element.
    terms = f"Betaling binnen {days} dagen" if days and not credit else "Contant" if not credit else "Creditnota"
    _cbc(_cac(root, "PaymentTerms"), "Note", terms)

    # Line nets as EF shows them; with prices including VAT the last line of a rate absorbs the cent that
    # taking VAT out of the rate's total leaves, so that the lines add up to the taxable amount (BR-CO-10).
    nets = [line_net(i) for i in items]
    discount_pct = Decimal(str(record.get("discount_percentage") or "0"))
    groups: dict[tuple[str, Decimal, str, str], list[int]] = {}
    for index, (item, (category, vatex, reason)) in enumerate(zip(items, categories, strict=True)):
        groups.setdefault((category, Decimal(str(item.get("tax_rate", "0"))), vatex, reason), []).append(index)
    subtotals: list[tuple[tuple[str, Decimal, str, str], Decimal, Decimal, Decimal]] = []
    for key, indexes in groups.items():
        rate = key[1]
        base = sum((nets[i] for i in indexes), Decimal(0))
        discount = cents(base * discount_pct / HUNDRED)
        if record.get("tax_included") == "yes":
            gross = sum((line_net(items[i], gross=True) for i in indexes), Decimal(0))
            gross_after = gross - cents(gross * discount_pct / HUNDRED)
            taxable = gross_after - cents(gross_after * rate / (HUNDRED + rate))
            nets[indexes[-1]] += taxable + discount - base
            base = sum((nets[i] for i in indexes), Decimal(0))
            discount = base - taxable
        # EF sums VAT per rate; only 0 % categories (Z, E, AE, K, ...) can share a rate, and they carry none.
        tax = figures["tax_by_rate"].get(rate, Decimal(0)) if rate else Decimal(0)
        subtotals.append((key, base - discount, tax, discount))
    for (category, rate, _, _), _, _, discount in subtotals:
        if discount:
            charge = _cac(root, "AllowanceCharge")
            _cbc(charge, "ChargeIndicator", "false")
            _cbc(charge, "AllowanceChargeReason", "Korting")
            amount(charge, "Amount", discount)
            _tax_category(charge, "TaxCategory", category, rate, "", "")
    tax_total = sum((tax for _, _, tax, _ in subtotals), Decimal(0))
    tax_element = _cac(root, "TaxTotal")
    amount(tax_element, "TaxAmount", tax_total)
    for (category, rate, vatex, reason), taxable, tax, _ in subtotals:
        subtotal = _cac(tax_element, "TaxSubtotal")
        amount(subtotal, "TaxableAmount", taxable)
        amount(subtotal, "TaxAmount", tax)
        _tax_category(subtotal, "TaxCategory", category, rate, vatex, reason)
    line_total = sum(nets, Decimal(0))
    allowances = sum((discount for *_, discount in subtotals), Decimal(0))
    exclusive = line_total - allowances
    paid = figures["total_paid"]
    monetary = _cac(root, "LegalMonetaryTotal")
    amount(monetary, "LineExtensionAmount", line_total)
    amount(monetary, "TaxExclusiveAmount", exclusive)
    amount(monetary, "TaxInclusiveAmount", exclusive + tax_total)
    if allowances:
        amount(monetary, "AllowanceTotalAmount", allowances)
    if paid and not credit:
        _cbc(monetary, "PrepaidAmount", money(paid), currencyID=currency)
    amount(monetary, "PayableAmount", exclusive + tax_total - (paid * sign if not credit else Decimal(0)))

    for number, (item, net, (category, _, _)) in enumerate(zip(items, nets, categories, strict=True), start=1):
        line = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(line, "ID", str(number))
        quantity = Decimal(str(item.get("quantity", "1")))
        _cbc(line, "CreditedQuantity" if credit else "InvoicedQuantity", f"{quantity.normalize():f}", unitCode="C62")
        amount(line, "LineExtensionAmount", net)
        product = _cac(line, "Item")
        _cbc(product, "Name", str(item.get("description") or "?"))
        rate = Decimal(str(item.get("tax_rate", "0")))
        _tax_category(product, "ClassifiedTaxCategory", category, rate, "", "")
        price = abs(net / quantity) if quantity else Decimal(0)
        _cbc(
            _cac(line, "Price"),
            "PriceAmount",
            f"{price.quantize(Decimal('0.000001')).normalize():f}",
            currencyID=currency,
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
