"""Peppol BIS Billing 3.0: UBL 2.1 export, import and offline validation.

* :func:`to_ubl` -- neutral Invoice/CreditNote + Seller (+ :class:`UblExtras`) -> UBL bytes;
* :func:`from_ubl` -- UBL bytes -> :class:`ImportedDocument` (document, seller, extras, leftovers);
* :func:`validate` -- pre-flight, XSD, and the CEN and Peppol layers of the newest installed :class:`RulePack`,
  offline -> :class:`ValidationReport` of :class:`Finding`;
* :func:`install_pack` / :func:`fetch_pack` / :func:`installed_packs` -- rule packs: official releases
  compiled once and stored in :func:`rules_dir` (:data:`RELEASES` has their mandatory dates);
* :func:`preflight` / :func:`preflight_or_raise` -- the common rules in pure Python, before any send.

See docs/ubl.md for where the rule files come from and which versions they are.
"""

from invoicekit._extras import require_extra

# Before anything imports lxml: a core-only install gets an error naming the extra.
require_extra("ubl", "UBL export, import and validation")

from invoicekit.ubl._artefacts import ArtefactUnavailable, RulePackError
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
from invoicekit.ubl._packs import RulePack, fetch_pack, install_pack, installed_packs, newest_pack, rules_dir
from invoicekit.ubl._preflight import COVERED_RULES, preflight, preflight_or_raise
from invoicekit.ubl._releases import RELEASES, Release, mandatory_release
from invoicekit.ubl._report import Finding, Flag, Layer, ValidationReport
from invoicekit.ubl._validate import DEFAULT_LAYERS, OUTDATED_RULE_ID, validate

__all__ = [
    "COVERED_RULES",
    "DEFAULT_LAYERS",
    "OUTDATED_RULE_ID",
    "RELEASES",
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
    "Release",
    "RulePack",
    "RulePackError",
    "UblExtras",
    "UblImportError",
    "ValidationReport",
    "buyer_endpoint",
    "fetch_pack",
    "from_ubl",
    "install_pack",
    "installed_packs",
    "mandatory_release",
    "newest_pack",
    "preflight",
    "preflight_or_raise",
    "rules_dir",
    "seller_endpoint",
    "to_ubl",
    "validate",
]
