"""What UBL can say and the neutral model cannot: export options and import leftovers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from stdnum import ean

from invoicekit.errors import FieldIssue, ValidationError
from invoicekit.model._base import is_from_provider
from invoicekit.model._documents import CURRENCY_CODES, period_issues
from invoicekit.ubl._ns import EAS_CODES, PAYMENT_MEANS_CODES, SCHEME_GLN

if TYPE_CHECKING:
    from invoicekit.model import CreditNote, Invoice, Seller

__all__ = [
    "DocumentReference",
    "Endpoint",
    "Identifier",
    "ImportedDocument",
    "Leftovers",
    "Period",
    "UblExtras",
    "extras_issues",
]


def _raise(issues: list[FieldIssue]) -> None:
    # Read tolerantly from a document being imported (like a provider's data): from_ubl reports the issues.
    if issues and not is_from_provider():
        raise ValidationError(issues)


def endpoint_issues(endpoint: Endpoint, path: str = "") -> list[FieldIssue]:
    prefix = f"{path}." if path else ""
    issues = []
    if endpoint.scheme not in EAS_CODES:
        issues.append(
            FieldIssue(f"{prefix}scheme", f"{endpoint.scheme!r} is not a Peppol EAS code (PEPPOL-EN16931-CL008)")
        )
    if endpoint.scheme == SCHEME_GLN and not _gs1_check_digit_ok(endpoint.identifier):
        issues.append(
            FieldIssue(
                f"{prefix}identifier",
                f"{endpoint.identifier!r} is not a GLN with a valid GS1 check digit (PEPPOL-COMMON-R040)",
            )
        )
    return issues


def _gs1_check_digit_ok(value: str) -> bool:
    # Peppol's u:gln applies the GS1 mod-10 check digit to a digit string of any length (the official examples
    # use a 19-digit one), so stdnum's ean.is_valid, which also insists on 8/12/13/14 digits, is too strict.
    digits = value.strip()
    return (
        len(digits) >= 2 and digits.isascii() and digits.isdigit() and ean.calc_check_digit(digits[:-1]) == digits[-1]
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Peppol electronic address (BT-34/BT-49): an EAS scheme code and the identifier in that scheme."""

    scheme: str
    identifier: str

    @classmethod
    def parse(cls, value: str) -> Endpoint:
        """``"0208:0403019261"`` (also accepts the ``iso6523-actorid-upis::`` prefix)."""
        value = value.strip().removeprefix("iso6523-actorid-upis::")
        scheme, sep, identifier = value.partition(":")
        if not sep or not scheme or not identifier:
            raise ValueError(f"{value!r} is not an endpoint of the form <scheme>:<identifier>, e.g. 0208:0403019261")
        return cls(scheme.strip(), identifier.strip())

    def __post_init__(self) -> None:
        _raise(endpoint_issues(self))

    def __str__(self) -> str:
        return f"{self.scheme}:{self.identifier}"


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier with an optional ISO 6523 scheme (BT-30, BT-47: legal registration identifiers)."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentReference:
    """A preceding invoice (BT-25/BT-26): on a credit note, the invoice it corrects."""

    id: str
    issue_date: date | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """The invoicing period (BG-14)."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        _raise(period_issues(self.start, self.end))


@dataclass(frozen=True, slots=True)
class UblExtras:
    """UBL data the neutral model has no field for. :func:`to_ubl` honours every field; :func:`from_ubl`
    fills them from the document it reads, so an import followed by an export keeps them.

    All fields are optional: without them :func:`to_ubl` derives what Peppol needs from the neutral model
    (the 0208 endpoint from the enterprise number, PaymentTerms from ``payment_term_days``, ...).
    """

    #: Peppol address of the seller; default: 0208 + enterprise number, else the VAT-number scheme.
    seller_endpoint: Endpoint | None = None
    #: Peppol address of the buyer; default as for the seller, from the client.
    buyer_endpoint: Endpoint | None = None
    #: Trading names (BT-28, BT-45) when they differ from the registered names.
    seller_trading_name: str | None = None
    buyer_trading_name: str | None = None
    #: Legal registration identifiers (BT-30, BT-47); default for Belgian parties: 0208 + enterprise number.
    seller_legal_id: Identifier | None = None
    buyer_legal_id: Identifier | None = None
    #: Party identifiers (BT-29, BT-46: PartyIdentification), e.g. a GLN (0088) or a SEPA creditor id.
    seller_party_ids: tuple[Identifier, ...] = ()
    buyer_party_ids: tuple[Identifier, ...] = ()
    #: Seller additional legal information (BT-33) and contact point name (BT-41).
    seller_legal_form: str | None = None
    seller_contact_name: str | None = None
    #: Deliver-to location identifier (BT-71) and party name (BT-70).
    delivery_location_id: Identifier | None = None
    delivery_party_name: str | None = None
    #: Preceding invoices (BG-3); on a credit note, the invoice(s) it credits.
    billing_references: tuple[DocumentReference, ...] = ()
    contract_reference: str | None = None
    #: Invoice only: a CreditNote has no ProjectReference in Peppol BIS.
    project_reference: str | None = None
    accounting_cost: str | None = None
    tax_point_date: date | None = None
    #: Kept for compatibility: the invoicing period belongs on the document (``invoicing_period``). When
    #: both are given they must agree.
    invoice_period: Period | None = None
    #: UNCL4461 code (30 credit transfer, 58 SEPA credit transfer, 59 SEPA direct debit, ...).
    payment_means_code: str | None = None
    #: The remittance information (BT-83) when it is not a Belgian structured communication.
    payment_id: str | None = None
    payee_account_name: str | None = None
    #: SEPA direct debit: mandate reference (BT-89) and debited account (BT-91), when not on the client.
    mandate_reference: str | None = None
    payer_account: str | None = None
    #: Payment terms text (BT-20); default: generated from ``payment_term_days`` in the client's language.
    payment_terms: str | None = None
    #: Amount paid before this invoice (BT-113) and the payable rounding (BT-114): inputs of the totals
    #: engine that the neutral document does not hold (its ``paid_amount`` records later payments).
    prepaid_amount: Decimal | None = None
    rounding_amount: Decimal | None = None
    #: VAT accounting currency (BT-6) and the VAT total in it (BT-111).
    tax_currency_code: str | None = None
    tax_total_in_tax_currency: Decimal | None = None

    def __post_init__(self) -> None:
        _raise(extras_issues(self))


def extras_issues(extras: UblExtras) -> list[FieldIssue]:
    """What the extras hold that no Peppol document may: unknown codes, a bad GLN, a reversed period."""
    issues: list[FieldIssue] = []
    for name in ("seller_endpoint", "buyer_endpoint"):
        endpoint = getattr(extras, name)
        if endpoint is not None:
            issues += endpoint_issues(endpoint, name)
    if extras.invoice_period is not None:
        issues += period_issues(extras.invoice_period.start, extras.invoice_period.end, "invoice_period")
    if extras.payment_means_code is not None and extras.payment_means_code not in PAYMENT_MEANS_CODES:
        issues.append(
            FieldIssue("payment_means_code", f"{extras.payment_means_code!r} is not a UNCL 4461 code (BR-CL-16)")
        )
    if extras.tax_currency_code is not None and extras.tax_currency_code not in CURRENCY_CODES:
        issues.append(
            FieldIssue("tax_currency_code", f"{extras.tax_currency_code!r} is not an ISO 4217 code (BR-CL-05)")
        )
    return issues


def invoicing_period(document: Invoice | CreditNote, extras: UblExtras) -> tuple[date | None, date | None] | None:
    """The invoicing period to export: the document's, else the legacy ``UblExtras.invoice_period``.

    Raises ValidationError naming ``invoicing_period`` when both are given and differ, since either choice
    would silently drop a date the caller set.
    """
    issue = period_conflict(document, extras)
    if issue is not None:
        raise ValidationError([issue])
    period = document.invoicing_period or extras.invoice_period
    if period is None or (period.start is None and period.end is None):
        return None
    return period.start, period.end


def period_conflict(document: Invoice | CreditNote, extras: UblExtras) -> FieldIssue | None:
    model, legacy = document.invoicing_period, extras.invoice_period
    if model is None or legacy is None or (model.start, model.end) == (legacy.start, legacy.end):
        return None
    return FieldIssue(
        "invoicing_period",
        f"differs from UblExtras.invoice_period ({legacy.start} to {legacy.end}); give the period once, "
        "on the document",
    )


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What an import could not put in the neutral document or in :class:`UblExtras`.

    ``raw`` is the document exactly as received (archive it: it is the legal original); ``unmapped`` lists
    the XPath of every element whose content the import did not carry over; ``issues`` lists values that
    were kept as read although the neutral model's rules reject them, and totals the neutral engine computes
    differently from the document.
    """

    raw: bytes = field(repr=False)
    unmapped: tuple[str, ...] = ()
    issues: tuple[FieldIssue, ...] = ()
    customization_id: str | None = None
    profile_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedDocument:
    """The result of :func:`invoicekit.ubl.from_ubl`."""

    document: Invoice | CreditNote
    #: The AccountingSupplierParty as a :class:`Seller`. When its data breaks the model's rules (e.g. a
    #: foreign VAT number python-stdnum rejects), it is kept as read and ``leftovers.issues`` says so.
    seller: Seller | None
    extras: UblExtras
    leftovers: Leftovers

    def to_ubl(self) -> bytes:
        """Export again, with the extras the import collected."""
        from invoicekit.ubl._export import to_ubl

        if self.seller is None:
            raise ValueError("the imported document has no seller; call to_ubl(document, seller) instead")
        return to_ubl(self.document, self.seller, extras=self.extras)
