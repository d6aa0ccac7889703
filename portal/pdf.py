"""One way to write the portal's PDFs (forms, consents, exports, invoices, superbills).

fpdf2 is pure Python (no system libraries, so `bin/run` and CI install it anywhere); the DejaVu
Sans fonts shipped in `portal/fonts/` give every PDF Unicode text (a patient named "Zoë
Łukasiewicz" prints as written), which fpdf2's built-in fonts (Latin-1 only) cannot.

Text is always drawn as text — never interpreted as markup — so whatever a patient typed (HTML,
script, Markdown) appears literally. Control characters are replaced before drawing.

Usage:
    doc = PortalPDF(title="Superbill", subtitle="Riverside Family Clinic")
    doc.heading("Patient")
    doc.key_values([("Name", "Jane Doe"), ("Date of birth", "1980-02-03")])
    doc.data_table(["Date", "CPT", "Amount"], rows, widths=[30, 30, 30])
    data: bytes = doc.bytes()
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
# C0 (except tab and newline) and C1 controls, DEL, and bidi overrides: never drawn.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """The text of `value` as it may be drawn: control characters become spaces."""
    return _UNPRINTABLE.sub(" ", "" if value is None else str(value))


class PortalPDF(FPDF):
    """A4/Letter page with the portal's header line, footer 'Page x of y' and text helpers."""

    def __init__(self, *, title: str, subtitle: str = "", footer_note: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.doc_title = printable(title)
        self.doc_subtitle = printable(subtitle)
        self.footer_note = printable(footer_note)
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(self.doc_title)
        self.set_creator("Specialty-pharmacy care portal")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.alias_nb_pages()
        self.add_page()

    # Page furniture -------------------------------------------------------------------------

    def header(self) -> None:
        self.set_font(FAMILY, "B", 14)
        self.cell(0, 8, self.doc_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.doc_subtitle:
            self.set_font(FAMILY, "", 10)
            self.set_text_color(80, 80, 80)
            self.cell(0, 6, self.doc_subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0, 0, 0)
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(5)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(110, 110, 110)
        if self.footer_note:
            self.cell(0, 5, self.footer_note, align="L")
            self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # Content ----------------------------------------------------------------------------------

    def heading(self, text: str, *, size: int = 12) -> None:
        self.ln(2)
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, 7, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, *, size: int = 10) -> None:
        self.set_font(FAMILY, "", size)
        self.multi_cell(0, 5.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def key_values(self, pairs: Iterable[tuple[str, object]], *, key_width: float = 48) -> None:
        """Label: value lines (labels bold), wrapping long values under themselves."""
        for key, value in pairs:
            self.set_font(FAMILY, "B", 10)
            y = self.get_y()
            self.multi_cell(key_width, 5.5, printable(key), new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FAMILY, "", 10)
            self.multi_cell(0, 5.5, printable(value) or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), y + 5.5))
        self.ln(1.5)

    def data_table(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        widths: Sequence[float] | None = None,
        align_right: Sequence[int] = (),
    ) -> None:
        """A simple table with a bold heading row repeated on each new page."""
        self.set_font(FAMILY, "", 9)
        col_widths = tuple(widths) if widths else None
        with self.table(
            col_widths=col_widths,
            text_align=tuple("RIGHT" if i in align_right else "LEFT" for i in range(len(headings))),
            line_height=5.5,
            repeat_headings=1,
            first_row_as_headings=True,
        ) as table:
            head = table.row()
            for text in headings:
                head.cell(printable(text))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(printable(value))
        self.ln(2)

    def bytes(self) -> bytes:  # noqa: A003 - the natural name for the document's bytes
        return bytes(self.output())
