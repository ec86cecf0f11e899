"""Peppol BIS Billing 3.0: UBL 2.1 export, import and offline validation.

* :func:`to_ubl` -- neutral Invoice/CreditNote + Seller (+ :class:`UblExtras`) -> UBL bytes;
* :func:`from_ubl` -- UBL bytes -> :class:`ImportedDocument` (document, seller, extras, leftovers);
* :func:`validate` -- XSD, CEN and Peppol layers, offline -> :class:`ValidationReport` of :class:`Finding`;
* :func:`preflight` / :func:`preflight_or_raise` -- the common rules in pure Python, before any send.

See docs/ubl.md for where the rule files come from and which versions they are.
"""

from invoicekit.ubl._artefacts import ArtefactUnavailable, StaleArtefactWarning
from invoicekit.ubl._export import buyer_endpoint, seller_endpoint, to_ubl
from invoicekit.ubl._extras import (
    DocumentReference,
    Endpoint,
    Identifier,
    ImportedDocument,
    Leftovers,
    Period,
    UblExtras,
)
from invoicekit.ubl._import import UblImportError, from_ubl
from invoicekit.ubl._preflight import COVERED_RULES, preflight, preflight_or_raise
from invoicekit.ubl._report import Finding, Flag, Layer, ValidationReport
from invoicekit.ubl._validate import DEFAULT_LAYERS, validate

__all__ = [
    "COVERED_RULES",
    "DEFAULT_LAYERS",
    "ArtefactUnavailable",
    "DocumentReference",
    "Endpoint",
    "Finding",
    "Flag",
    "Identifier",
    "ImportedDocument",
    "Layer",
    "Leftovers",
    "Period",
    "StaleArtefactWarning",
    "UblExtras",
    "UblImportError",
    "ValidationReport",
    "buyer_endpoint",
    "from_ubl",
    "preflight",
    "preflight_or_raise",
    "seller_endpoint",
    "to_ubl",
    "validate",
]
