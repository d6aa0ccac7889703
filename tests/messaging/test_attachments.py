"""Bad input: attachments judged by content (renamed, oversized, encrypted or scripted PDFs,
image bombs), metadata stripped, over-long or control-character text; nothing stored."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from messaging.attachments import ATTACHMENT_MAX_BYTES, InvalidAttachment, check_attachment
from messaging.models import Attachment, Message, Thread
from portal.images import check_image
from tests.messaging.conftest import a_thread, as_patient, png_bytes
from tests.requests_chat.conftest import make_pdf


def upload(data: bytes, name: str, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height (an "image bomb" of a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = zlib.compress(b"\x00" * 64)
    idat = b"IDAT" + data
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(data))
        + idat
        + struct.pack(">I", zlib.crc32(idat))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "photo.png", "Only PDF documents and JPEG or PNG"),
        (b"<script>alert(1)</script>", "note.pdf", "Only PDF documents and JPEG or PNG"),
        (make_pdf(encrypt=True), "locked.pdf", "Encrypted"),
        (make_pdf(js=True), "script.pdf", "JavaScript"),
        (make_pdf(launch=True), "launch.pdf", ""),
        (png_header_only(50_000, 50_000), "bomb.png", "megapixels"),
        (png_bytes()[:40], "cut.png", "damaged"),
        (b"", "empty.png", "empty"),
    ],
)
def test_it_refuses_bad_files_with_a_reason(data, name, reason):
    with pytest.raises(InvalidAttachment) as refused:
        check_attachment(upload(data, name))
    assert reason in str(refused.value)


def test_an_image_bomb_is_refused_before_decoding(monkeypatch):
    # If any pixel were decoded, load() would run: it must not.
    def boom(self, *args, **kwargs):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(Image.Image, "load", boom)
    with pytest.raises(InvalidAttachment, match="megapixels"):
        check_attachment(upload(png_header_only(50_000, 50_000), "bomb.png"))


def test_an_oversized_file_is_refused_unread():
    class Huge(SimpleUploadedFile):
        def read(self, *args, **kwargs):  # pragma: no cover - must not be called
            raise AssertionError("read an oversized file")

    big = Huge("big.pdf", b"x", content_type="application/pdf")
    big.size = ATTACHMENT_MAX_BYTES + 1
    with pytest.raises(InvalidAttachment, match="larger than"):
        check_attachment(big)


def test_exif_is_stripped_and_the_image_reencoded():
    checked = check_image(jpeg_with_exif(), name="IMG_0001.JPG")
    again = Image.open(io.BytesIO(checked.data))
    assert checked.content_type == "image/jpeg"
    assert not again.getexif()
    assert (checked.width, checked.height) == (40, 30)


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "Patient: Mary Doe, DOB 1980-01-01")
    checked = check_image(png_bytes(pnginfo=info), name="scan.png")
    assert b"Mary Doe" not in checked.data


def test_a_plain_pdf_is_accepted():
    checked = check_attachment(upload(make_pdf(), "letter.pdf"))
    assert checked.content_type == "application/pdf" and checked.page_count == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"body": "x" * 5001}, "at most 5000"),
        ({"body": "hello\x07there"}, "control character"),
        ({"body": "evil \u202e txt"}, "control character"),
        ({"body": "  "}, "Write a message or attach a file"),
    ],
)
def test_bad_replies_are_refused_and_nothing_is_stored(client, family, fields, reason):
    thread = a_thread(family.peter_a, family.peter)
    as_patient(client, family.peter, family.peter_a)
    response = client.post(
        reverse("messaging:reply", args=[thread.pk]),
        {"client_id": "d" * 32, **fields},
        HTTP_HX_REQUEST="true",
    )
    # Control characters are refused by the portal's middleware (a 400 naming the field) or, for
    # those it lets through (bidi overrides), by the form; either way with a reason.
    assert response.status_code in {200, 400}
    assert reason in response.content.decode()
    assert Message.objects.filter(thread=thread).count() == 1


def test_a_renamed_exe_is_refused_and_nothing_stored(client, family, tmp_path):
    thread = a_thread(family.peter_a, family.peter)
    as_patient(client, family.peter, family.peter_a)
    response = client.post(
        reverse("messaging:reply", args=[thread.pk]),
        {
            "client_id": "e" * 32,
            "body": "see attached",
            "attachments": [upload(b"MZ" + b"\x00" * 500, "photo.png", "image/png")],
        },
    )
    assert response.status_code == 400
    assert "neither" in response.content.decode()
    assert Message.objects.filter(thread=thread).count() == 1
    assert not Attachment.objects.exists()
    media = tmp_path / "media"
    assert not media.exists() or not any(media.rglob("*.*"))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"subject": "s" * 151}, "at most 150"),
        ({"subject": "Hi\x1bthere"}, "control character"),
        (
            {"subject": "Fine", "attachments": [upload(make_pdf(encrypt=True), "x.pdf")]},
            "Encrypted",
        ),
    ],
)
def test_bad_compose_is_refused_with_a_reason(client, family, fields, reason):
    as_patient(client, family.peter, family.peter_a)
    response = client.post(
        reverse("messaging:compose"),
        {"to": "clinician", "body": "Hello", "client_id": "f" * 32, **fields},
    )
    assert response.status_code == 400
    assert reason in response.content.decode().replace("&#x27;", "'")
    assert not Thread.objects.exists()
