"""portal.pdf: every generated PDF opens with pypdf and holds its text, Unicode and all."""

from __future__ import annotations

import io

from pypdf import PdfReader

from portal.pdf import PortalPDF, printable


def text_of(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_it_writes_headings_values_tables_and_page_numbers() -> None:
    doc = PortalPDF(title="Superbill", subtitle="Riverside Family Clinic", footer_note="Made 2026")
    doc.heading("Patient")
    doc.key_values([("Name", "Zoë Łukasiewicz"), ("Date of birth", None)])
    doc.data_table(
        ["Date", "CPT", "Amount"],
        [(f"2026-01-0{i % 9 + 1}", "99213", "$120.00") for i in range(120)],
        widths=[40, 40, 40],
        align_right=[2],
    )
    pages, text = text_of(doc.bytes())
    assert pages >= 2
    assert "Superbill" in text and "Riverside Family Clinic" in text
    assert "Zoë Łukasiewicz" in text
    assert "99213" in text and "$120.00" in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_it_draws_markup_as_text_and_drops_control_characters() -> None:
    doc = PortalPDF(title="Form")
    doc.paragraph("<script>alert(1)</script> **bold**\x00\x1b[31m")
    _, text = text_of(doc.bytes())
    assert "<script>alert(1)</script> **bold**" in text
    assert "\x00" not in text and "\x1b" not in text
    assert printable("a\u202eb") == "a b"
