"""UBL 2.1 namespaces and the fixed Peppol BIS Billing 3.0 identifiers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
SVRL: Final = "http://purl.oclc.org/dsdl/svrl"

NSMAP: Final = {"cac": CAC, "cbc": CBC}
PREFIXES: Final = {CAC: "cac", CBC: "cbc", INVOICE_NS: "", CREDIT_NOTE_NS: ""}

CUSTOMIZATION_ID: Final = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID: Final = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE_CODE: Final = "380"
CREDIT_NOTE_TYPE_CODE: Final = "381"

# ISO 6523 ICD of the Belgian enterprise number (KBO/BCE), the scheme BOSA requires for Belgian participants.
SCHEME_KBO: Final = "0208"
# The legacy Belgian VAT-number scheme; its value must be BE + 10 digits, which no official rule checks.
SCHEME_BE_VAT: Final = "9925"

# Peppol EAS codes whose value is the VAT number itself (prefix included), per VAT prefix. Only used when a
# buyer has no Belgian enterprise number: the buyer's own Peppol registration may differ, in which case the
# caller passes the endpoint explicitly (UblExtras.buyer_endpoint). Countries whose Peppol scheme is not the
# VAT number (SE, DK, NO, ...) are deliberately absent.
VAT_ENDPOINT_SCHEMES: Final = {
    "AD": "9922",
    "AL": "9923",
    "AT": "9914",
    "BA": "9924",
    "BE": "9925",
    "BG": "9926",
    "CH": "9927",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "EL": "9933",
    "ES": "9920",
    "FR": "9957",
    "GB": "9932",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "IT": "0211",
    "LI": "9936",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MC": "9940",
    "ME": "9941",
    "MK": "9942",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "RS": "9948",
    "SI": "9949",
    "SK": "9950",
    "SM": "9951",
    "TR": "9952",
    "VA": "9953",
}


def cac(name: str) -> str:
    return f"{{{CAC}}}{name}"


def cbc(name: str) -> str:
    return f"{{{CBC}}}{name}"


# xs:decimal's lexical form: no exponent, no NaN or INF (which Python's Decimal would accept). The digit
# bounds keep every value well inside the 28 significant digits of decimal's default context, so the totals
# arithmetic (quantize to cents) can never overflow or raise InvalidOperation on a hostile number.
_XS_DECIMAL = re.compile(r"^[+-]?(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))$")
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 12


def parse_decimal(text: str | None) -> Decimal | None:
    """A UBL number as Decimal; None when absent, not an xs:decimal, or beyond what an invoice can hold."""
    if text is None:
        return None
    found = _XS_DECIMAL.match(text.strip())
    if found is None:
        return None
    whole, fraction = found.group(1) or "", found.group(2) or found.group(3) or ""
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction.rstrip("0")) > MAX_FRACTION_DIGITS:
        return None
    return Decimal(text.strip())


#: Peppol's EAS list (electronic address schemes, BT-34/BT-49 schemeID), as PEPPOL-EN16931-UBL.sch of BIS
#: 3.0.19 states it (PEPPOL-EN16931-CL008). A newer rule pack is the verdict; this catches typos before export.
EAS_CODES: Final = frozenset(
    [
        "0002",
        "0007",
        "0009",
        "0037",
        "0060",
        "0088",
        "0096",
        "0097",
        "0106",
        "0130",
        "0135",
        "0142",
        "0147",
        "0151",
        "0154",
        "0158",
        "0170",
        "0177",
        "0183",
        "0184",
        "0188",
        "0190",
        "0191",
        "0192",
        "0193",
        "0194",
        "0195",
        "0196",
        "0198",
        "0199",
        "0200",
        "0201",
        "0202",
        "0203",
        "0204",
        "0205",
        "0208",
        "0209",
        "0210",
        "0211",
        "0212",
        "0213",
        "0215",
        "0216",
        "0217",
        "0218",
        "0221",
        "0225",
        "0230",
        "0235",
        "0240",
        "9910",
        "9913",
        "9914",
        "9915",
        "9918",
        "9919",
        "9920",
        "9922",
        "9923",
        "9924",
        "9925",
        "9926",
        "9927",
        "9928",
        "9929",
        "9930",
        "9931",
        "9932",
        "9933",
        "9934",
        "9935",
        "9936",
        "9937",
        "9938",
        "9939",
        "9940",
        "9941",
        "9942",
        "9943",
        "9944",
        "9945",
        "9946",
        "9947",
        "9948",
        "9949",
        "9950",
        "9951",
        "9952",
        "9953",
        "9957",
        "9959",
    ]
)
#: UNCL 4461 payment means codes as EN 16931 (BR-CL-16) lists them: 1-70, 74-78, 91-98 and ZZZ.
PAYMENT_MEANS_CODES: Final = frozenset({str(n) for n in (*range(1, 71), *range(74, 79), *range(91, 99))} | {"ZZZ"})
SCHEME_GLN: Final = "0088"
