"""``GET /invoices/{id}?format=peppolbis3``: the sandbox renders the invoice as Peppol BIS 3.0 UBL.

EF builds that file itself from the invoice, the client and the account; the sandbox does the same with
invoicekit's own exporter (:func:`invoicekit.ubl.to_ubl`), reading its records back through the adapter's
mapping so that what it exports is what a caller would fetch.
"""

from __future__ import annotations

from typing import Any

from invoicekit.errors import ValidationError
from invoicekit.model import Address, CreditNote, Invoice, Seller
from invoicekit_eenvoudigfactureren import _mapping as m
from invoicekit_eenvoudigfactureren._sandbox_clients import render_client
from invoicekit_eenvoudigfactureren._sandbox_common import ACCOUNT, Env
from invoicekit_eenvoudigfactureren._sandbox_invoices import render_invoice
from invoicekit_eenvoudigfactureren._sandbox_wire import ApiError

__all__ = ["account_seller", "invoice_ubl"]


def account_seller() -> Seller:
    """The sandbox account as the UBL seller (AccountingSupplierParty)."""
    return Seller(
        name=str(ACCOUNT["name"]),
        vat_number=str(ACCOUNT["vat_number"]),
        address=Address(
            street=str(ACCOUNT["street"]),
            postal_code=str(ACCOUNT["postal_code"]),
            city=str(ACCOUNT["city"]),
            country=str(ACCOUNT["country_code"]),
        ),
        iban=str(ACCOUNT["iban"]),
        bic=str(ACCOUNT["bic"]),
        email=str(ACCOUNT["email_address"]),
    )


def invoice_ubl(env: Env, record: dict[str, Any]) -> bytes:
    from invoicekit.ubl import to_ubl

    data = render_invoice(env, record)
    client_record = env.store.get("clients", int(record["client_id"]))
    client = m.client_from_ef(render_client(env, client_record)) if client_record else None
    cls = CreditNote if data["type"] == "creditnote" else Invoice
    document = m.document_from_ef(data, cls, client)
    try:
        return to_ubl(document, account_seller())
    except ValidationError as exc:
        raise ApiError(400, f"peppolbis3: {exc}") from None
