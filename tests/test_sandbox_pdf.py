"""render_pdf: a real PDF that a reader opens, with the document's number, payable amount and OGM."""

from __future__ import annotations

import io
import re

import pypdf

from invoicekit.sandbox import PdfDocument, PdfLine, render_pdf


def document(**changes: object) -> PdfDocument:
    values: dict[str, object] = {
        "title": "Factuur",
        "number": "2026-0042",
        "issue_date": "2026-12-01",
        "due_date": "2026-12-31",
        "seller": ["Acme BV", "Kerkstraat 1", "2000 Antwerpen"],
        "buyer": ["Café Zoë & <Co>", "Rue de l'Église 5", "1000 Bruxelles"],
        "lines": [PdfLine("Consultancy", "2", "1.234,56", "21 %", "2.469,12")],
        "net_total": "2.469,12",
        "vat_total": "518,52",
        "payable": "2.987,64",
        "payment_reference": "+++123/4567/89012+++",
    }
    values.update(changes)
    return PdfDocument(**values)  # type: ignore[arg-type]


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_the_pdf_opens_and_shows_number_payable_and_ogm() -> None:
    data = render_pdf(document())
    assert data.startswith(b"%PDF-")
    text = text_of(data)
    assert "Factuur 2026-0042" in text
    assert "EUR 2.987,64" in text
    assert "+++123/4567/89012+++" in text
    assert "Café Zoë & <Co>" in text  # markup characters are text, not Paragraph tags
    assert "Consultancy" in text


def test_text_beyond_latin_1_is_drawn_or_approximated_never_a_crash() -> None:
    data = render_pdf(
        document(
            buyer=["Ελένη Παπαδοπούλου", "Łódź, ulica Żółta 3", "Straße 1"],
            lines=[PdfLine("Werk € 1.000 – “spoed”", "1", "€ 1.000,00", "21 %", "1.000,00")],
            currency="€",
        )
    )
    text = text_of(data)
    assert "Ελενη Παπαδοπουλου" in text  # Greek through the Symbol font, accents dropped
    assert "Lódz, ulica Zólta 3" in text  # ó is in WinAnsi; ł, ź and ż are approximated
    assert "Straße 1" in text
    assert "€ 2.987,64" in text
    assert "“spoed”" in text


def test_a_credit_note_without_due_date_or_ogm_and_many_lines_spans_pages() -> None:
    lines = [PdfLine(f"Row {i}", "1", "1,00", "6 %", "1,00") for i in range(120)]
    data = render_pdf(document(title="Creditnota", due_date=None, payment_reference=None, lines=lines))
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 1
    text = text_of(data)
    assert "Creditnota 2026-0042" in text
    assert "Row 0 " in text
    assert "Row 119 " in text
    assert "Vervaldatum" not in text
    assert "Gestructureerde mededeling" not in text


def test_the_same_document_gives_the_same_bytes() -> None:
    assert render_pdf(document()) == render_pdf(document())
    assert render_pdf(document()) != render_pdf(document(payable="2.987,65"))
