"""Uploads judged by their content: insurance-card images (JPEG/PNG) and PDFs.

Images go through the portal's one image check (`portal.images.check_image`: a pixel cap read
from the header before any pixel is decoded, `verify()`, re-encoded from the pixels alone, so
EXIF, XMP, ICC and text chunks — and anything appended — do not survive). PDFs go through the chat's checks
(`requests_chat.documents.check_pdf`: active content, encryption, damage, size).

"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from portal.images import InvalidImage, looks_like_image
from portal.images import check_image as check_image_content
from requests_chat.documents import InvalidDocument, check_pdf

REASON_TYPE = "Only JPEG or PNG photos, or PDF documents, can be added; this file is neither."


class InvalidUpload(ValueError):
    """The upload is refused; str(error) is the reason shown to the person."""


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    extension: str
    summary: str


def check_image(data: bytes, *, name: str = "") -> CheckedFile:
    """A JPEG or PNG re-encoded without metadata, or InvalidUpload with the reason."""
    label = f"“{name}”: " if name else ""
    if not data:
        raise InvalidUpload(f"{label}The file is empty.")
    if len(data) > settings.DOCUMENT_MAX_BYTES:
        raise InvalidUpload(
            f"{label}The file is larger than {filesizeformat(settings.DOCUMENT_MAX_BYTES)}."
        )
    if not looks_like_image(data):
        raise InvalidUpload(f"{label}{REASON_TYPE}")
    try:
        image = check_image_content(data, name=name)
    except InvalidImage as refused:
        raise InvalidUpload(str(refused)) from None
    kind = "JPEG" if image.content_type == "image/jpeg" else "PNG"
    return CheckedFile(
        data=image.data,
        content_type=image.content_type,
        extension=image.extension,
        summary=f"{kind} photo, {image.width}×{image.height}, {filesizeformat(image.size)}",
    )


def check_card(data: bytes, *, name: str = "") -> CheckedFile:
    """An insurance card: a JPEG/PNG photo (re-encoded) or a PDF (the chat's checks)."""
    if data[:1024].lstrip(b"\r\n\t \x00").startswith(b"%PDF-"):
        try:
            pdf = check_pdf(data, name=name)
        except InvalidDocument as refused:
            raise InvalidUpload(str(refused)) from None
        pages = f"{pdf.page_count} page{'s' if pdf.page_count != 1 else ''}"
        return CheckedFile(
            data=pdf.data,
            content_type="application/pdf",
            extension="pdf",
            summary=f"PDF, {pages}, {filesizeformat(pdf.size)}",
        )
    return check_image(data, name=name)


def read_upload(upload: object) -> bytes:
    """The bytes of an uploaded file, reading at most one byte more than the limit."""
    reader = getattr(upload, "read", None)
    if reader is None:
        return b""
    if hasattr(upload, "seek"):
        upload.seek(0)
    return bytes(reader(settings.DOCUMENT_MAX_BYTES + 1))
