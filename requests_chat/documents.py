"""PDF checks: a document is judged by its content (pypdf), never by its name or browser type.

Refused, each with a reason a person can act on: empty files, files over
settings.DOCUMENT_MAX_BYTES, anything that is not a PDF, damaged or truncated PDFs, encrypted
PDFs, and PDFs carrying active content (JavaScript, launch actions, automatic actions, embedded
files).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

logger = logging.getLogger(__name__)

# The walk of the object graph stops here: a well-formed office PDF has far fewer objects, and a
# crafted one must not keep a web worker busy.
MAX_OBJECTS = 200_000

REASON_JS = "PDFs that contain JavaScript cannot be attached."
REASON_LAUNCH = "PDFs with launch actions (that open other programs) cannot be attached."
REASON_AUTO = "PDFs with automatic actions cannot be attached."
REASON_EMBEDDED = "PDFs with embedded files cannot be attached."

# Dictionary keys and name values that mark active content, and why each is refused.
ACTIVE_KEYS = {
    "/JS": REASON_JS,
    "/JavaScript": REASON_JS,
    "/AA": REASON_AUTO,
    "/Launch": REASON_LAUNCH,
    "/EmbeddedFiles": REASON_EMBEDDED,
    "/EmbeddedFile": REASON_EMBEDDED,
}
ACTIVE_NAMES = {
    "/JavaScript": REASON_JS,
    "/Launch": REASON_LAUNCH,
    "/EmbeddedFile": REASON_EMBEDDED,
    "/FileAttachment": REASON_EMBEDDED,
}


class InvalidDocument(ValueError):
    """The upload is refused; str(error) is the reason shown to the user."""


@dataclass(frozen=True)
class CheckedPdf:
    name: str
    data: bytes
    page_count: int
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def check_pdf(data: bytes, *, name: str = "") -> CheckedPdf:
    """Return the checked document, or raise InvalidDocument with the reason."""
    label = f"“{name}”: " if name else ""
    if not data:
        raise InvalidDocument(f"{label}The file is empty.")
    if len(data) > settings.DOCUMENT_MAX_BYTES:
        raise InvalidDocument(
            f"{label}The file is larger than {filesizeformat(settings.DOCUMENT_MAX_BYTES)}."
        )
    # The PDF header must open the file (readers tolerate a little junk; we do not need to).
    if not data[:1024].lstrip(b"\r\n\t \x00").startswith(b"%PDF-"):
        raise InvalidDocument(f"{label}Only PDF documents can be attached; this file is not a PDF.")
    if b"%%EOF" not in data[-2048:]:
        raise InvalidDocument(f"{label}This PDF is damaged or incomplete and cannot be read.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise InvalidDocument(
                f"{label}Encrypted or password-protected PDFs cannot be attached."
            )
        page_count = len(reader.pages)
        reason = find_active_content(reader)
    except InvalidDocument:
        raise
    except Exception as error:  # pypdf raises many kinds of errors for broken files
        logger.info("PDF refused as unreadable: %r", error)
        raise InvalidDocument(
            f"{label}This PDF is damaged or incomplete and cannot be read."
        ) from error
    if page_count < 1:
        raise InvalidDocument(f"{label}This PDF has no pages.")
    if reason:
        raise InvalidDocument(f"{label}{reason}")
    return CheckedPdf(
        name=name, data=data, page_count=page_count, sha256=hashlib.sha256(data).hexdigest()
    )


def find_active_content(reader: PdfReader) -> str | None:
    """Walk every object reachable from the trailer; return why it is refused, or None.

    The catalog's /Names /JavaScript and /EmbeddedFiles, /OpenAction with /JS or /Launch, /AA on
    the catalog or pages, and annotations with /Launch or /JavaScript actions are all found this
    way, wherever a producer put them (including in object streams).
    """
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            return "This PDF is too complex to check and cannot be attached."
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key in ACTIVE_KEYS:
                    return ACTIVE_KEYS[key]
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject) and obj in ACTIVE_NAMES:
            return ACTIVE_NAMES[obj]
    return None
