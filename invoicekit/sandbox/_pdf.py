"""A real PDF of an invoice or credit note, for the sandboxes' download endpoints.

Both sandboxes serve a PDF where the provider does (EF ``?format=pdf``, Cashaca ``pdf_url_for_client``).
The amounts arrive as strings because each sandbox computes and formats them its own way, like the
provider it imitates; this module only lays them out.

ReportLab draws the page with the standard PDF fonts (Helvetica, with ReportLab's fallback to Symbol for
Greek), so nothing is embedded or loaded from disk and it works offline. Text the fonts cannot show is
approximated (accents dropped, ``ł`` -> ``l``) instead of failing: a fake API must never crash on a name.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

__all__ = ["PdfDocument", "PdfLine", "render_pdf"]


@dataclass(frozen=True)
class PdfLine:
    """One row of the document, every figure already formatted by the sandbox."""

    description: str
    quantity: str
    unit_price: str
    vat_rate: str
    net: str


@dataclass(frozen=True)
class PdfDocument:
    """What the PDF shows; every amount is a string formatted the way the provider formats it."""

    title: str  # "Factuur", "Creditnota", ...
    number: str
    issue_date: str
    due_date: str | None
    seller: Sequence[str]  # name and address lines
    buyer: Sequence[str]
    lines: Sequence[PdfLine]
    net_total: str
    vat_total: str
    payable: str
    currency: str = "EUR"
    payment_reference: str | None = None  # the OGM, +++ddd/dddd/ddddd+++


# cp1252 is what Helvetica shows (WinAnsiEncoding); ReportLab falls back to the Symbol font for the Greek
# letters without accents (accented ones decompose into these).
_GREEK = frozenset(range(0x0391, 0x03AA)) | frozenset(range(0x03B1, 0x03CA))
# Letters with no decomposition into a base letter and an accent.
_APPROXIMATE = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "ı": "i", "ø": "o", "Ø": "O"})


def _showable(char: str) -> bool:
    if ord(char) in _GREEK:
        return True
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with every character the standard fonts cannot draw replaced by its closest match."""
    if all(_showable(char) for char in text):
        return text
    out: list[str] = []
    for char in text.translate(_APPROXIMATE):
        if _showable(char):
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(_showable(c) for c in base) else "?")
    return "".join(out)


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    from reportlab.platypus import Paragraph

    # Paragraph reads a small XML markup: escape, so a client named "A <b> & Co" prints as written.
    return Paragraph(escape(printable(text)).replace("\n", "<br/>"), style)


def render_pdf(document: PdfDocument) -> bytes:
    """The document as PDF bytes (A4, one or more pages; byte-for-byte the same for the same input)."""
    # Imported here: ReportLab costs a third of a second to import, and only downloads need it.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    right = ParagraphStyle("right", parent=body, alignment=2)
    heading = ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold", fontSize=18, leading=22)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=printable(f"{document.title} {document.number}"),
        author=printable(document.seller[0] if document.seller else ""),
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=True,  # no timestamp or random id inside: the same document gives the same bytes
    )
    width = pdf.width
    facts = [f"{document.title} {document.number}", f"Datum: {document.issue_date}"]
    if document.due_date:
        facts.append(f"Vervaldatum: {document.due_date}")
    parties = Table(
        [[_para("\n".join(document.seller), body), _para("\n".join(document.buyer), body)]],
        colWidths=[width / 2, width / 2],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    header = ["Omschrijving", "Aantal", "Prijs", "Btw", "Netto"]
    rows: list[list[Paragraph | str]] = [[_para(h, small) for h in header]]
    rows += [
        [
            _para(line.description, small),
            *(_para(v, small) for v in (line.quantity, line.unit_price, line.vat_rate, line.net)),
        ]
        for line in document.lines
    ]
    table = Table(rows, colWidths=[width * 0.46, width * 0.12, width * 0.16, width * 0.1, width * 0.16], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.whitesmoke]),
            ]
        )
    )
    totals = Table(
        [
            [_para("Totaal excl. btw", right), _para(f"{document.currency} {document.net_total}", right)],
            [_para("Btw", right), _para(f"{document.currency} {document.vat_total}", right)],
            [_para("Te betalen", right), _para(f"{document.currency} {document.payable}", right)],
        ],
        colWidths=[width * 0.7, width * 0.3],
    )
    story = [
        _para(facts[0], heading),
        _para("\n".join(facts[1:]), body),
        Spacer(1, 6 * mm),
        parties,
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 6 * mm),
        totals,
    ]
    if document.payment_reference:
        story += [Spacer(1, 6 * mm), _para(f"Gestructureerde mededeling: {document.payment_reference}", body)]
    pdf.build(story)
    return buffer.getvalue()
