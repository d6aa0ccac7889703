"""Attachments of a message: PDF, JPEG or PNG, judged by content, never by name or browser type.

PDFs go through the requests chat's checks (`requests_chat.documents.check_pdf`: encrypted,
JavaScript, automatic and outward actions, embedded files… refused with a reason); images
through `portal.images.check_image` (pixel cap, verify, re-encoded without metadata).
Files over `ATTACHMENT_MAX_BYTES` are refused before they are read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from portal.images import InvalidImage, check_image, looks_like_image
from requests_chat.documents import InvalidDocument, check_pdf

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


class InvalidAttachment(ValueError):
    """Refused, with a reason the sender can act on; nothing is stored."""


@dataclass(frozen=True)
class CheckedAttachment:
    data: bytes
    name: str
    content_type: str
    extension: str
    sha256: str
    width: int | None = None
    height: int | None = None
    page_count: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def check_attachment(upload: UploadedFile) -> CheckedAttachment:
    """One uploaded file: its size first (unread), then what its bytes are."""
    name = (upload.name or "file")[:255]
    if (upload.size or 0) > ATTACHMENT_MAX_BYTES:
        raise InvalidAttachment(
            f"“{name}”: The file is larger than {filesizeformat(ATTACHMENT_MAX_BYTES)}."
        )
    data = upload.read(ATTACHMENT_MAX_BYTES + 1)
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise InvalidAttachment(
            f"“{name}”: The file is larger than {filesizeformat(ATTACHMENT_MAX_BYTES)}."
        )
    if not data:
        raise InvalidAttachment(f"“{name}”: The file is empty.")
    if looks_like_image(data):
        try:
            image = check_image(data, name=name)
        except InvalidImage as error:
            raise InvalidAttachment(str(error)) from None
        return CheckedAttachment(
            data=image.data,
            name=image.name,
            content_type=image.content_type,
            extension=image.extension,
            sha256=image.sha256,
            width=image.width,
            height=image.height,
        )
    if data[:1024].lstrip(b"\r\n\t \x00").startswith(b"%PDF-"):
        try:
            pdf = check_pdf(data, name=name)
        except InvalidDocument as error:
            raise InvalidAttachment(str(error)) from None
        return CheckedAttachment(
            data=pdf.data,
            name=name,
            content_type="application/pdf",
            extension="pdf",
            sha256=pdf.sha256,
            page_count=pdf.page_count,
        )
    raise InvalidAttachment(
        f"“{name}”: Only PDF documents and JPEG or PNG images can be attached "
        "(the file's content is neither, whatever its name says)."
    )
