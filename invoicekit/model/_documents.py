"""Invoices, credit notes, their rows, and payments."""

import functools
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from invoicekit import belgium
from invoicekit.errors import FieldIssue, ValidationError
from invoicekit.model._base import Amount, NeutralModel, ProviderDocument, is_from_provider
from invoicekit.model._key import IdempotencyKey
from invoicekit.model._party import Client
from invoicekit.model._totals import Totals, compute_totals
from invoicekit.vat import DEFAULT_EXEMPTION_CODES, VatCategory

__all__ = [
    "CURRENCY_CODES",
    "AllowanceCharge",
    "CreditNote",
    "DocumentStatus",
    "Invoice",
    "InvoiceRow",
    "InvoicingPeriod",
    "Payment",
    "PaymentMethod",
]

# Units people type that are not UN/ECE Recommendation 20 codes (Peppol rejects them with BR-CL-23).
# (ST and STK are real Rec 20 codes, sheet and stick, so they are not in this list.)
_NOT_REC20 = {"PCS": "C62", "PC": "C62", "STUK": "C62", "UUR": "HUR", "HR": "HUR"}
_ZERO_RATED = {VatCategory.Z, VatCategory.E, VatCategory.AE, VatCategory.K, VatCategory.G, VatCategory.O}
_EU = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip

Percent = Annotated[Amount, Field(ge=0, le=100)]

if TYPE_CHECKING:
    #: The ISO 4217 codes a document may be in (see :func:`currency_codes`).
    CURRENCY_CODES: frozenset[str]


@functools.cache
def currency_codes() -> frozenset[str]:
    """ISO 4217 as the iso4217 package has it (its members include lower-case aliases), plus ANG and BGN:
    withdrawn (by XCG on 2025-03-31 and the euro on 2026-01-01) but still on Peppol BIS 3.0.19's list, so
    that a credit note can still correct an invoice made in them."""
    # Imported on first use: the package builds its table when imported (about 10 ms of every start-up).
    import iso4217

    return frozenset({code for code in iso4217.Currency.__members__ if code.isupper()} | {"ANG", "BGN"})


def __getattr__(name: str) -> object:
    if name == "CURRENCY_CODES":  # the name this table always had, computed on first use
        return currency_codes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DocumentStatus(StrEnum):
    """Where a document stands at the provider, as read back (``Invoice.status``)."""

    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    """How a payment was made (``Payment.method``; a transfer by default)."""

    TRANSFER = "transfer"
    CASH = "cash"
    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
    ONLINE = "online"
    OTHER = "other"


class InvoiceRow(NeutralModel):
    """One row of an invoice or credit note.

    ``quantity`` x ``unit_price``, less ``discount_percent``, is the row's net amount (rounded to the cent).
    ``vat_category`` S (the default) needs a ``vat_rate`` above 0; every other category needs 0, and E an
    ``exemption_code`` or ``exemption_reason``. ``unit`` is a UN/ECE Recommendation 20 code.
    """

    description: str = Field(min_length=1, max_length=1000)
    quantity: Amount = Decimal(1)
    unit: str = Field(default="C62", description="UN/ECE Recommendation 20 code (C62 = one, HUR = hour)")
    unit_price: Amount
    discount_percent: Percent | None = None
    vat_rate: Amount = Field(ge=0, le=100)
    vat_category: VatCategory = VatCategory.S
    exemption_code: str | None = Field(default=None, pattern=r"^VATEX-[A-Z0-9-]+$")
    exemption_reason: str | None = Field(default=None, max_length=300)

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().upper()
        if is_from_provider(info):
            return value
        if value in _NOT_REC20:
            raise ValueError(
                f"{value!r} is not a UN/ECE Rec 20 unit code (Peppol rule BR-CL-23); use {_NOT_REC20[value]!r}"
            )
        if not (2 <= len(value) <= 3 and value.isalnum()):
            raise ValueError(f"{value!r} is not a UN/ECE Rec 20 unit code (2-3 letters/digits, e.g. C62, HUR)")
        return value

    @model_validator(mode="after")
    def _category_rate(self, info: ValidationInfo) -> Self:
        if is_from_provider(info):
            return self
        if self.vat_category in _ZERO_RATED and self.vat_rate != 0:
            raise ValueError(f"VAT category {self.vat_category} requires a 0 % rate, not {self.vat_rate} %")
        if self.vat_category is VatCategory.S and self.vat_rate == 0:
            raise ValueError("VAT category S (standard) needs a rate above 0 %; use Z, E, AE, K, G or O")
        if self.exemption_code is None and self.vat_category in DEFAULT_EXEMPTION_CODES:
            object.__setattr__(self, "exemption_code", DEFAULT_EXEMPTION_CODES[self.vat_category])
        return self


class AllowanceCharge(NeutralModel):
    """A document-level allowance (``is_charge=False``) or charge, with the VAT group it belongs to."""

    is_charge: bool = False
    amount: Amount = Field(gt=0)
    reason: str = Field(min_length=1, max_length=200)
    vat_category: VatCategory = VatCategory.S
    vat_rate: Amount = Field(ge=0, le=100)


def period_issues(start: date | None, end: date | None, path: str = "") -> list[FieldIssue]:
    """A period that ends before it starts (BR-29), named at ``<path>.end``."""
    if start is not None and end is not None and end < start:
        prefix = f"{path}." if path else ""
        return [FieldIssue(f"{prefix}end", f"the period ends ({end}) before it starts ({start}) (BR-29)")]
    return []


class InvoicingPeriod(NeutralModel):
    """The period an invoice covers (EN 16931 BG-14): a start, an end, or both.

    Peppol accepts it instead of a delivery date for an intra-EU supply (BR-IC-11).
    """

    model_config = ConfigDict(**NeutralModel.model_config, frozen=True)

    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _bounds(self, info: ValidationInfo) -> Self:
        if is_from_provider(info):
            return self
        if self.start is None and self.end is None:
            raise ValueError("an invoicing period needs a start, an end or both (BR-CO-19)")
        issues = period_issues(self.start, self.end)
        if issues:
            raise ValidationError(issues)
        return self


class _Document(ProviderDocument):
    number: str | None = Field(default=None, description="None: the provider assigns the next number")
    issue_date: date
    due_date: date | None = None
    payment_term_days: int | None = Field(default=None, ge=0, le=365)
    delivery_date: date | None = None
    invoicing_period: InvoicingPeriod | None = None
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 (BR-CL-04)")
    client: Client
    rows: list[InvoiceRow] = Field(default_factory=list)
    discount_percent: Percent | None = None
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=2000)
    buyer_reference: str | None = Field(default=None, max_length=200)
    order_reference: str | None = Field(default=None, max_length=200)
    structured_communication: str | None = Field(default=None, description="OGM, stored as 12 digits")
    status: DocumentStatus | None = None
    paid_amount: Amount | None = Field(default=None, description="what the provider recorded as paid so far")
    #: The reconciliation key of the create (docs/idempotency.md): the caller's, or one the library made.
    idempotency_key: IdempotencyKey | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str, info: ValidationInfo) -> str:
        if value not in currency_codes() and not is_from_provider(info):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (BR-CL-04)")
        return value

    @field_validator("structured_communication", mode="before")
    @classmethod
    def _ogm(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        provider = is_from_provider(info)
        if provider and len(value) == 12 and value.isdigit():
            return value  # already compact: kept as read whether its check digits match or not
        try:
            return belgium.validate_ogm(value)
        except ValueError:
            if provider:
                return value
            raise

    @property
    def totals(self) -> Totals:
        return compute_totals(
            self.rows,
            self.allowances_charges,
            discount_percent=self.discount_percent,
        )

    @property
    def outstanding(self) -> Decimal | None:
        """What is still to be paid: the payable amount less what the provider recorded as paid; ``None`` when
        the provider reports no paid amount (capability ``invoices.paid_amount``), rather than a guess that
        would show a half-paid invoice as wholly open."""
        if self.paid_amount is None:
            return None
        return self.totals.payable - self.paid_amount

    @property
    def effective_due_date(self) -> date | None:
        if self.due_date is not None:
            return self.due_date
        if self.payment_term_days is not None:
            return self.issue_date + timedelta(days=self.payment_term_days)
        return None

    @property
    def structured_communication_formatted(self) -> str | None:
        """``+++ddd/dddd/ddddd+++``, as printed on Belgian invoices."""
        sc = self.structured_communication
        return belgium.format_ogm(sc) if sc and len(sc) == 12 and sc.isdigit() else sc

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        if is_from_provider(info):
            return self
        issues = list(document_issues(self))
        if issues:
            raise ValidationError(issues)
        return self


def document_issues(doc: _Document) -> list[FieldIssue]:
    """The Belgian/EN 16931 rules that span fields; every issue names the field to fix."""
    issues: list[FieldIssue] = []
    if not doc.rows:
        issues.append(FieldIssue("rows", "a document needs at least one row"))
    if doc.due_date is not None and doc.due_date < doc.issue_date:
        issues.append(FieldIssue("due_date", "must not be before issue_date"))
    if doc.invoicing_period is not None:
        issues += period_issues(doc.invoicing_period.start, doc.invoicing_period.end, "invoicing_period")
    categories = {row.vat_category for row in doc.rows} | {ac.vat_category for ac in doc.allowances_charges}
    vat = doc.client.vat_number
    for i, row in enumerate(doc.rows):
        path = f"rows.{i}"
        if row.vat_category is VatCategory.AE and not vat:
            issues.append(
                FieldIssue(
                    "client.vat_number",
                    f"required: row {i} is reverse charge (VAT category AE), which needs the buyer's VAT "
                    "number (BR-AE-02)",
                )
            )
        if row.vat_category is VatCategory.K:
            if doc.delivery_date is None and doc.invoicing_period is None:
                issues.append(
                    FieldIssue(
                        "delivery_date",
                        f"required, or an invoicing_period: row {i} is an intra-EU supply (VAT category K) (BR-IC-11)",
                    )
                )
            if not vat or vat[:2] not in _EU or vat.startswith("BE"):
                issues.append(
                    FieldIssue(
                        "client.vat_number",
                        f"row {i} is an intra-EU supply (VAT category K): the buyer needs a VAT number "
                        "of another EU member state (BR-IC-02)",
                    )
                )
        if row.vat_category is VatCategory.E and not (row.exemption_code or row.exemption_reason):
            issues.append(
                FieldIssue(
                    f"{path}.exemption_reason",
                    "an exempt row (VAT category E) needs an exemption code (VATEX-EU-...) or a reason (BR-E-10)",
                )
            )
    if VatCategory.O in categories:
        if vat:
            issues.append(
                FieldIssue(
                    "client.vat_number",
                    "must be empty: a document with VAT category O (not subject to VAT) may not carry VAT "
                    "identifiers (BR-O-02)",
                )
            )
        if len(categories) > 1:
            issues.append(FieldIssue("rows", "VAT category O cannot be mixed with other categories (BR-O-11)"))
    seen: dict[tuple[VatCategory, Decimal], tuple[str | None, str | None]] = {}
    for i, row in enumerate(doc.rows):
        key = (row.vat_category, row.vat_rate.normalize())
        reason = (row.exemption_code, row.exemption_reason)
        if seen.setdefault(key, reason) != reason:
            issues.append(
                FieldIssue(
                    f"rows.{i}.exemption_reason",
                    f"rows with VAT category {row.vat_category} at {row.vat_rate} % must share one exemption "
                    "code and reason (one VAT breakdown per category and rate)",
                )
            )
    return issues


class Invoice(_Document):
    """An invoice. ``number=None`` lets the provider assign the next number."""


class CreditNote(_Document):
    """A credit note, with positive amounts, correcting an earlier invoice."""

    corrects_invoice_id: str | None = Field(default=None, description="provider id of the corrected invoice")
    corrects_invoice_number: str | None = None


class Payment(ProviderDocument):
    """A payment received against an invoice (``invoice_id`` is the invoice's provider id)."""

    invoice_id: str = Field(min_length=1)
    date: date
    amount: Amount = Field(gt=0)
    method: PaymentMethod = PaymentMethod.TRANSFER
    reference: str | None = Field(default=None, max_length=140)
    #: The reconciliation key of the create (docs/idempotency.md): the caller's, or one the library made.
    idempotency_key: IdempotencyKey | None = None

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.01")):
            raise ValueError("a payment amount has at most 2 decimals")
        return value
