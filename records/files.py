"""Uploads judged by their content: insurance-card images (JPEG/PNG) and PDFs.

Images are decoded by Pillow under a pixel cap (checked from the header, before any pixel is
decoded, so a decompression bomb costs nothing), `verify()`-ed, then re-encoded from the pixels
alone: EXIF (GPS position, camera), XMP, ICC and text chunks are dropped, and a script or a
second file appended to the image does not survive. PDFs go through the chat's checks
(`requests_chat.documents.check_pdf`: active content, encryption, damage, size).

Another app that takes photos (messaging attachments) may reuse `check_image` — a candidate
for the lead to move into `portal/`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageOps, UnidentifiedImageError

from requests_chat.documents import InvalidDocument, check_pdf

# 40 megapixels: any phone camera's photo, far below what would exhaust a worker's memory.
MAX_PIXELS = 40_000_000
IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
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
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise InvalidUpload(f"{label}{REASON_TYPE}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in IMAGE_TYPES:
                raise InvalidUpload(f"{label}{REASON_TYPE}")
            width, height = probe.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise InvalidUpload(
                    f"{label}The photo is too large ({width}×{height} pixels); "
                    "take it at a lower resolution."
                )
            probe.verify()
            # verify() leaves the image unusable: open again to decode the pixels.
            image: Image.Image = Image.open(io.BytesIO(data))
            image.load()
    except InvalidUpload:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidUpload(f"{label}This photo cannot be read.") from None
    except Exception:  # Pillow raises many kinds of errors for broken files
        raise InvalidUpload(f"{label}This photo is damaged or incomplete.") from None
    fmt = str(image.format)
    content_type, extension = IMAGE_TYPES[fmt]
    out = io.BytesIO()
    try:
        # Phones store rotation in EXIF: apply it, since the EXIF goes.
        image = ImageOps.exif_transpose(image) or image
        if fmt == "JPEG":
            image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
        else:
            if image.mode not in {"RGB", "RGBA", "L", "LA", "P", "1", "I;16"}:
                image = image.convert("RGBA")
            image.save(out, "PNG", optimize=True)
    except Exception:  # an odd mode or a broken EXIF block: refused, never a 500
        raise InvalidUpload(f"{label}This photo cannot be read.") from None
    clean = out.getvalue()
    kind = "JPEG" if fmt == "JPEG" else "PNG"
    return CheckedFile(
        data=clean,
        content_type=content_type,
        extension=extension,
        summary=f"{kind} photo, {image.width}×{image.height}, {filesizeformat(len(clean))}",
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
