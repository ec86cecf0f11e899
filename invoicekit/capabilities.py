"""What an adapter can do. An adapter declares a frozenset of these; calling anything else raises
:class:`invoicekit.errors.UnsupportedOperation` before a request is sent, and the conformance suite
skips (undeclared) or requires (declared) the matching scenarios.

``<resource>.create_by_key``: creates of that resource carry their reconciliation key
(``idempotency_key``) to the provider, in the field named by ``Adapter.reconciliation_fields``, the
adapter finds a document by that key alone (``Adapter.find_*_by_key``), and concurrent creates never
collide on numbers. See docs/idempotency.md."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Capability"]


class Capability(StrEnum):
    CLIENTS_CREATE = "clients.create"
    CLIENTS_GET = "clients.get"
    CLIENTS_LIST = "clients.list"
    CLIENTS_SEARCH = "clients.search"
    CLIENTS_UPDATE = "clients.update"
    CLIENTS_DELETE = "clients.delete"
    CLIENTS_CONTACTS = "clients.contacts"
    CLIENTS_CHECK_VAT = "clients.check_vat"
    CLIENTS_CREATE_BY_KEY = "clients.create_by_key"

    INVOICES_CREATE = "invoices.create"
    INVOICES_GET = "invoices.get"
    INVOICES_LIST = "invoices.list"
    INVOICES_LIST_UNPAID = "invoices.list_unpaid"
    INVOICES_UPDATE = "invoices.update"
    INVOICES_DELETE = "invoices.delete"
    INVOICES_SEND_EMAIL = "invoices.send_email"
    INVOICES_SEND_PEPPOL = "invoices.send_peppol"
    INVOICES_UBL = "invoices.ubl"
    INVOICES_PDF = "invoices.pdf"
    INVOICES_PAID_AMOUNT = "invoices.paid_amount"
    INVOICES_NEXT_NUMBER = "invoices.next_number"
    INVOICES_CREATE_BY_KEY = "invoices.create_by_key"

    CREDIT_NOTES_CREATE = "credit_notes.create"
    CREDIT_NOTES_GET = "credit_notes.get"
    CREDIT_NOTES_LIST = "credit_notes.list"
    CREDIT_NOTES_DELETE = "credit_notes.delete"
    CREDIT_NOTES_SEND_EMAIL = "credit_notes.send_email"
    CREDIT_NOTES_SEND_PEPPOL = "credit_notes.send_peppol"
    CREDIT_NOTES_PDF = "credit_notes.pdf"
    CREDIT_NOTES_CREATE_BY_KEY = "credit_notes.create_by_key"

    PAYMENTS_CREATE = "payments.create"
    PAYMENTS_LIST = "payments.list"
    PAYMENTS_CREATE_BY_KEY = "payments.create_by_key"

    @property
    def resource(self) -> str:
        return self.value.split(".", 1)[0]
