"""The client links of a Cashaca document: ``html_url_for_client``, ``pdf_url_for_client`` and
``xml_url_for_client`` (stijn1989 Entity/Invoice.php lists all three), served by the sandbox.

The links carry a secret key of the document instead of the API token: they are what a client receives.
The page contents are the sandbox's own (assumed; provenance.toml): the PDF is made by
:func:`invoicekit.sandbox.render_pdf` from the figures the sandbox computed itself, the XML is a small UBL
invoice written here, never by invoicekit's exporter.
"""

from __future__ import annotations

import hmac
from decimal import Decimal
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from invoicekit.belgium import format_ogm
from invoicekit.sandbox import PdfDocument, PdfLine, Sandbox, cents, render_pdf
from invoicekit_cashaca._sandbox_documents import CREDIT_NOTE, INVOICE, QUOTATION, DocumentKind, total_of
from invoicekit_cashaca._sandbox_http import COMPANY, COMPANY_ID, Params, json_response, money

__all__ = ["CLIENT_KEY", "link_routes", "pdf_document"]

#: The secret of a document's client links (never served itself), indexed.
CLIENT_KEY = "client_key"

_KINDS = {kind.collection: kind for kind in (INVOICE, CREDIT_NOTE, QUOTATION)}
_TITLES = {"invoice": "Factuur", "credit_note": "Creditnota", "quotation": "Offerte"}
_UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def pdf_document(record: Params, company: Params, kind: DocumentKind) -> PdfDocument:
    """What the PDF of a stored document shows, from the sandbox's own stored figures."""

    net = money(record["amount"])
    vat = money(record["vat_amount"])
    buyer = [
        str(record.get(key))
        for key in ("client_name", "client_address1", "client_address2", "client_vat_number")
        if record.get(key)
    ]
    lines = [
        PdfLine(
            description=str(line["description"]),
            quantity=str(line["number_skus"]),
            unit_price=str(line["unit_price"]),
            vat_rate=str(line["vat_percentage"]),
            net=money(str(_line_net(line))),
        )
        for line in record.get("commercial_document_lines") or []
    ]
    return PdfDocument(
        title=_TITLES[kind.wrapper],
        number=str(record["serial_number"]),
        issue_date=str(record["date"]),
        due_date=str(record.get("due_date") or ""),
        seller=[
            str(company.get(key))
            for key in ("sender_name", "sender_address1", "sender_address2", "sender_vat_number")
            if company.get(key)
        ],
        buyer=buyer,
        lines=lines,
        net_total=net,
        vat_total=vat,
        payable=money(str(total_of(record))),
        currency="EUR",
        payment_reference=_formatted_ogm(record),
    )


def _line_net(line: Params) -> Decimal:
    return cents(Decimal(str(line["number_skus"])) * Decimal(str(line["unit_price"])))


def _formatted_ogm(record: Params) -> str | None:
    ogm = record.get("ogm")
    return format_ogm(str(ogm)) if ogm else None


def _html(record: Params, kind: DocumentKind) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(line['description']))}</td><td>{escape(str(line['number_skus']))}</td>"
        f"<td>{escape(str(line['unit_price']))}</td><td>{escape(str(line['vat_percentage']))}%</td></tr>"
        for line in record.get("commercial_document_lines") or []
    )
    ogm = _formatted_ogm(record)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_TITLES[kind.wrapper]} "
        f"{escape(str(record['serial_number']))}</title></head><body>"
        f"<h1>{_TITLES[kind.wrapper]} {escape(str(record['serial_number']))}</h1>"
        f"<p>{escape(str(record.get('client_name') or ''))}</p><table>{rows}</table>"
        f"<p>Totaal excl. btw: {money(record['amount'])} EUR; btw: {money(record['vat_amount'])} EUR; "
        f"te betalen: {money(str(total_of(record)))} EUR</p>"
        + (f"<p>Mededeling: {escape(ogm)}</p>" if ogm else "")
        + "</body></html>"
    )


def _xml(record: Params) -> bytes:
    fields = [
        ("ID", record["serial_number"]),
        ("IssueDate", record["date"]),
        ("DueDate", record.get("due_date")),
        ("DocumentCurrencyCode", "EUR"),
    ]
    body = "".join(f"<cbc:{name}>{escape(str(value))}</cbc:{name}>" for name, value in fields if value)
    payable = f'<cbc:PayableAmount currencyID="EUR">{money(str(total_of(record)))}</cbc:PayableAmount>'
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="{_UBL}" xmlns:cbc="{_CBC}">{body}{payable}</Invoice>'
    )
    return text.encode()


def link_routes(sandbox: Sandbox) -> list[Route]:
    store = sandbox.store

    def find(request: Request) -> tuple[Params, DocumentKind] | None:
        kind = _KINDS.get(request.path_params["collection"])
        if kind is None:
            return None
        key = str(request.path_params["key"])
        # Through the index on client_key; the comparison stays constant-time.
        for record in store.find(kind.collection, CLIENT_KEY, key, limit=1):
            if hmac.compare_digest(str(record.get(CLIENT_KEY) or ""), key):
                return record, kind
        return None

    async def page(request: Request) -> Response:
        found = find(request)
        extension = request.path_params["extension"]
        if found is None or extension not in ("html", "pdf", "xml"):
            return json_response({"error": "not found"}, 404)
        record, kind = found
        name = f"{kind.wrapper}_{record['serial_number']}.{extension}"
        disposition = {"Content-Disposition": f'inline; filename="{name}"'}
        if extension == "pdf":
            company = store.get(COMPANY, COMPANY_ID) or {}
            body = render_pdf(pdf_document(record, company, kind))
            return Response(body, media_type="application/pdf", headers=disposition)
        if extension == "xml":
            return Response(_xml(record), media_type="application/xml", headers=disposition)
        return HTMLResponse(_html(record, kind))

    return [Route("/documents/{collection}/{key}.{extension}", page, methods=["GET"])]
