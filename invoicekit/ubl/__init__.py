"""Peppol BIS Billing 3.0: UBL 2.1 export, import and offline validation."""

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
