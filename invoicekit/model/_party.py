"""Clients and what hangs off them: addresses, contacts, the SEPA direct-debit mandate."""

import functools
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from invoicekit import belgium
from invoicekit.model._base import NeutralModel, ProviderDocument, is_from_provider
from invoicekit.model._key import IdempotencyKey

# A full RFC 5322 check needs a dependency and still cannot tell if the mailbox exists; this catches typos.
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

__all__ = [
    "COUNTRY_CODES",
    "Address",
    "Client",
    "ClientKind",
    "Contact",
    "Language",
    "Seller",
    "SepaMandate",
    "SequenceType",
    "check_country",
    "country_codes",
]


class Language(StrEnum):
    """The language a client receives documents in."""

    NL = "nl"
    FR = "fr"
    EN = "en"
    DE = "de"


class ClientKind(StrEnum):
    """A company (the default) or a private person."""

    COMPANY = "company"
    PERSON = "person"


class SequenceType(StrEnum):
    """SEPA direct-debit sequence types (ISO 20022 SeqTp)."""

    FIRST = "FRST"
    RECURRING = "RCUR"
    ONE_OFF = "OOFF"
    FINAL = "FNAL"


if TYPE_CHECKING:
    #: The EN 16931 country codes (see :func:`country_codes`).
    COUNTRY_CODES: frozenset[str]


@functools.cache
def country_codes() -> frozenset[str]:
    """EN 16931's country list (BR-CL-14): ISO 3166-1 alpha-2 with Kosovo as 1A (not the user-assigned XK)
    and XI for Northern Ireland (its VAT numbers), the list every Peppol validator checks."""
    # Imported on first use, as iso4217 is (model/_documents.py): the package builds its tables when imported,
    # which every connect() would otherwise pay before any address is read.
    import iso3166

    return frozenset(set(iso3166.countries_by_alpha2) - {"XK"} | {"1A", "XI"})


def __getattr__(name: str) -> object:
    if name == "COUNTRY_CODES":  # the name this table always had, computed on first use
        return country_codes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_COUNTRY_HINTS = {"UK": "the United Kingdom is GB (XI for Northern Ireland)", "XK": "Kosovo is 1A in EN 16931"}


def check_country(value: str) -> str:
    """An EN 16931 country code (ISO 3166-1 alpha-2, plus 1A and XI), or ValueError naming the right one."""
    if value not in country_codes():
        hint = _COUNTRY_HINTS.get(value, "use the ISO 3166-1 alpha-2 code, e.g. BE, NL, FR, DE, GB")
        raise ValueError(f"{value!r} is not an ISO 3166-1 country code: {hint} (BR-CL-14)")
    return value


class Address(NeutralModel):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code (default ``BE``)."""

    street: str = Field(min_length=1, max_length=150)
    street2: str | None = Field(default=None, max_length=150)
    postal_code: str = Field(min_length=1, max_length=10)
    city: str = Field(min_length=1, max_length=50)
    country: str = Field(default="BE", pattern=r"^[A-Z0-9]{2}$", description="ISO 3166-1 alpha-2 (BR-CL-14)")

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str, info: ValidationInfo) -> str:
        # Read tolerantly from a provider, like VAT numbers: the sending rules catch it before export.
        return value if is_from_provider(info) and value not in country_codes() else check_country(value)


class Contact(NeutralModel):
    """A person at a client, with their own e-mail address and phone number."""

    name: str = Field(min_length=1, max_length=254)
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=20)
    provider_id: str | None = None


class SepaMandate(NeutralModel):
    """A SEPA direct-debit mandate the client signed; the IBAN and BIC are checked."""

    iban: str
    bic: str | None = None
    mandate_reference: str = Field(min_length=1, max_length=35)
    signature_date: date
    sequence_type: SequenceType = SequenceType.RECURRING
    account_holder: str | None = Field(default=None, max_length=100)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        # Checksum and format only: stdnum's Belgian bank-code table ages, and a new bank must not block
        # invoicing. belgium.validate_iban(check_bank=True) is there for callers who want the strict check.
        return belgium.validate_iban(value, check_bank=False)

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        return None if value is None else belgium.validate_bic(value)


class Client(ProviderDocument):
    """A customer. ``vat_number`` and ``enterprise_number`` are normalised (``BE0403019261``, ``0403019261``)."""

    kind: ClientKind = ClientKind.COMPANY
    name: str = Field(min_length=1, max_length=150)
    vat_number: str | None = None
    enterprise_number: str | None = None
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=30)
    website: str | None = None
    language: Language = Language.NL
    address: Address | None = None
    delivery_address: Address | None = None
    site_address: Address | None = None
    contacts: list[Contact] = Field(default_factory=list)
    sepa_mandate: SepaMandate | None = None
    external_id: str | None = Field(default=None, max_length=50)
    custom_fields: dict[str, str] = Field(default_factory=dict)
    #: The reconciliation key of the create (docs/idempotency.md); defaults to ``external_id`` when set.
    idempotency_key: IdempotencyKey | None = None

    @field_validator("vat_number", mode="before")
    @classmethod
    def _vat(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        if is_from_provider(info):
            if value[:2] == "BE" and len(value) == 12 and value[2:].isdigit():
                return value  # already compact: kept as read whether its check digits match or not
            try:
                return belgium.validate_vat(value)
            except ValueError:
                return value  # keep what the provider holds; sending rules will catch it later
        return belgium.validate_vat(value)

    @field_validator("enterprise_number", mode="before")
    @classmethod
    def _kbo(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        if is_from_provider(info):
            if len(value) == 10 and value.isdigit():
                return value  # already compact: kept as read whether its check digits match or not
            try:
                return belgium.validate_kbo(value)
            except ValueError:
                return value
        return belgium.validate_kbo(value)

    @model_validator(mode="after")
    def _kbo_from_vat(self) -> Self:
        # A Belgian VAT number *is* BE + the enterprise number: keep both consistent.
        if self.vat_number and self.vat_number.startswith("BE") and self.enterprise_number is None:
            digits = self.vat_number[2:]
            if digits.isdigit() and len(digits) == 10:
                object.__setattr__(self, "enterprise_number", digits)
        return self

    @property
    def peppol_id(self) -> str | None:
        """``0208:<KBO>`` for Belgian companies, else None."""
        return f"0208:{self.enterprise_number}" if self.enterprise_number else None


class Seller(NeutralModel):
    """Your own company, as it appears on the documents you send (the UBL AccountingSupplierParty)."""

    name: str = Field(min_length=1, max_length=150)
    vat_number: str
    enterprise_number: str | None = None
    address: Address
    iban: str | None = None
    bic: str | None = None
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=30)

    @field_validator("vat_number")
    @classmethod
    def _vat(cls, value: str) -> str:
        return belgium.validate_vat(value)

    @field_validator("enterprise_number")
    @classmethod
    def _kbo(cls, value: str | None) -> str | None:
        return None if value is None else belgium.validate_kbo(value)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return None if value is None else belgium.validate_iban(value, check_bank=False)

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        return None if value is None else belgium.validate_bic(value)

    @model_validator(mode="after")
    def _kbo_from_vat(self) -> Self:
        if self.enterprise_number is None and self.vat_number.startswith("BE"):
            object.__setattr__(self, "enterprise_number", self.vat_number[2:])
        return self
