"""PDF checks: a document is judged by its content (pypdf), never by its name or browser type.

Refused, each with a reason a person can act on: empty files, files over
settings.DOCUMENT_MAX_BYTES, anything that is not a PDF, damaged or truncated PDFs, encrypted
PDFs, and PDFs carrying active content: JavaScript, automatic actions, actions that reach outside
the document (launch, remote and embedded go-to, form submit and import, media), links to
anything but web and email addresses, media and 3D annotations, XFA forms and embedded files.
See find_active_content().
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

logger = logging.getLogger(__name__)

# The walk of the object graph stops here (containers visited, and seconds): a well-formed office
# PDF has far fewer objects, and a crafted one must not keep a web worker busy. Cycles are cut by
# remembering every indirect object seen; the walk keeps its own stack, so depth costs no recursion.
MAX_OBJECTS = 100_000
MAX_CHECK_SECONDS = 5.0

REASON_JS = "PDFs that contain JavaScript cannot be attached."
REASON_LAUNCH = "PDFs with launch actions (that open other programs) cannot be attached."
REASON_AUTO = "PDFs with automatic actions cannot be attached."
REASON_EMBEDDED = "PDFs with embedded files cannot be attached."
REASON_TOO_COMPLEX = "This PDF is too complex to check and cannot be attached."
REASON_OPENS_URI = (
    "PDFs that open a web address by themselves (a “URI” action run on opening) cannot be attached."
)
REASON_XFA = (
    "PDFs with XML forms (“XFA”, which can run scripts and contact servers) cannot be "
    "attached; print the form to a PDF first."
)
REASON_OTHER_FILE = (
    "PDFs with actions that open other files or network locations (“{kind}”) cannot be attached."
)
REASON_FORM_SUBMIT = "PDFs with forms that send data elsewhere (“SubmitForm”) cannot be attached."
REASON_FORM_IMPORT = (
    "PDFs with forms that load data from other files (“ImportData”) cannot be attached."
)
REASON_MEDIA = "PDFs with embedded media, 3D or rich-media content (“{kind}”) cannot be attached."
REASON_LINK_SCHEME = (
    "PDFs with links to {target} cannot be attached; only web (http, https) and email links are."
)

# Dictionary keys that mark active content wherever they appear, and why each is refused.
ACTIVE_KEYS = {
    "/JS": REASON_JS,
    "/JavaScript": REASON_JS,
    "/AA": REASON_AUTO,
    "/Launch": REASON_LAUNCH,
    "/EmbeddedFiles": REASON_EMBEDDED,
    "/EmbeddedFile": REASON_EMBEDDED,
    "/XFA": REASON_XFA,
}
ACTIVE_NAMES = {
    "/JavaScript": REASON_JS,
    "/Launch": REASON_LAUNCH,
    "/EmbeddedFile": REASON_EMBEDDED,
    "/FileAttachment": REASON_EMBEDDED,
}
# Action types (/S) that reach outside the document or run code, wherever they are triggered.
ACTIVE_ACTIONS = {
    "/JavaScript": REASON_JS,
    "/Launch": REASON_LAUNCH,
    "/GoToR": REASON_OTHER_FILE.format(kind="GoToR"),
    "/GoToE": REASON_OTHER_FILE.format(kind="GoToE"),
    "/SubmitForm": REASON_FORM_SUBMIT,
    "/ImportData": REASON_FORM_IMPORT,
    "/RichMediaExecute": REASON_MEDIA.format(kind="RichMediaExecute"),
    "/Rendition": REASON_MEDIA.format(kind="Rendition"),
    "/Sound": REASON_MEDIA.format(kind="Sound"),
    "/Movie": REASON_MEDIA.format(kind="Movie"),
    "/GoTo3DView": REASON_MEDIA.format(kind="GoTo3DView"),
}
# Annotation subtypes that play media or run their own content.
ACTIVE_ANNOTATIONS = {
    kind: REASON_MEDIA.format(kind=kind[1:])
    for kind in ("/RichMedia", "/Screen", "/3D", "/Movie", "/Sound")
} | {"/FileAttachment": REASON_EMBEDDED}
# Links a person clicks may go to these; the viewer shows the address (and usually asks) first.
LINK_SCHEMES = {"http", "https", "mailto"}
URI_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")

# Where an action sits: run by the viewer on its own (/OpenAction, /AA, and their /Next chains),
# or anywhere else (a link or button the person clicks, a bookmark).
AUTOMATIC, ELSEWHERE = True, False


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

    Everything a viewer can act on hangs off the trailer: the catalog's /OpenAction and /AA,
    /Names (JavaScript, EmbeddedFiles), /AcroForm (fields and /XFA), pages with their /AA and
    /Annots (each annotation's /A and /AA), bookmarks, and each action's /Next chain. Walking the
    whole graph rather than those paths finds them wherever a producer put them (including in
    object streams). Refused: any action type in ACTIVE_ACTIONS, any /AA, URI actions that the
    document runs by itself or that point anywhere but a web or email address, media and 3D
    annotations, XFA forms, embedded files and external stream data.
    """
    deadline = time.monotonic() + MAX_CHECK_SECONDS
    seen: set[tuple[int, int, bool]] = set()
    stack: list[tuple[PdfObject, bool]] = [(reader.trailer, ELSEWHERE)]
    obj: PdfObject | None  # a reference can point at nothing (a broken file)
    containers = 0
    while stack:
        obj, automatic = stack.pop()
        if isinstance(obj, IndirectObject):
            # The same object can be reached both ways (a URI action shared by a link and the
            # /OpenAction): it is judged once in each.
            key = (obj.idnum, obj.generation, automatic)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, NameObject):
            if obj in ACTIVE_NAMES:
                return ACTIVE_NAMES[obj]
            continue
        if not isinstance(obj, DictionaryObject | ArrayObject):
            continue
        containers += 1
        if containers > MAX_OBJECTS or (containers % 256 == 1 and time.monotonic() >= deadline):
            return REASON_TOO_COMPLEX
        if isinstance(obj, ArrayObject):
            # Arrays inherit: /Next may be an array of actions.
            stack.extend((item, automatic) for item in obj)
            continue
        if reason := judge_dictionary(obj, automatic=automatic):
            return reason
        for key, value in obj.items():
            if key in ACTIVE_KEYS:
                return ACTIVE_KEYS[key]
            if key == "/OpenAction":
                stack.append((value, AUTOMATIC))
            elif key == "/Next":
                stack.append((value, automatic))
            else:
                stack.append((value, ELSEWHERE))
    return None


def judge_dictionary(obj: DictionaryObject, *, automatic: bool) -> str | None:
    """Why this one dictionary (an action, an annotation, a stream) is refused, or None."""
    if isinstance(obj, StreamObject) and "/F" in obj:
        # Stream data read from an external file (PDF 1.2+): the viewer would fetch it.
        return REASON_OTHER_FILE.format(kind="external stream")
    kind = resolve(obj.get("/S"))
    if isinstance(kind, NameObject):
        if kind in ACTIVE_ACTIONS:
            return ACTIVE_ACTIONS[kind]
        if kind == "/Thread" and "/F" in obj:
            return REASON_OTHER_FILE.format(kind="Thread")
        if kind == "/URI":
            if automatic:
                return REASON_OPENS_URI
            return judge_link(resolve(obj.get("/URI")))
    subtype = resolve(obj.get("/Subtype"))
    if isinstance(subtype, NameObject) and subtype in ACTIVE_ANNOTATIONS:
        # /Subtype /3D and friends also name the streams that hold the content.
        return ACTIVE_ANNOTATIONS[subtype]
    return None


def judge_link(uri: object) -> str | None:
    """A clicked link may go to a web or email address; not to files, shares or scripts."""
    if isinstance(uri, bytes):
        uri = uri.decode("latin-1")
    if not isinstance(uri, str):
        return None  # no address: the viewer has nowhere to go
    # Browsers drop tabs, newlines and leading spaces inside a scheme ("java\tscript:").
    compact = "".join(ch for ch in uri if ch > " " and ch != "\x7f").lower()
    if match := URI_SCHEME.match(compact):
        scheme = match.group(1)
        if scheme in LINK_SCHEMES:
            return None
        return REASON_LINK_SCHEME.format(target=f"“{scheme}:” addresses")
    return REASON_LINK_SCHEME.format(target="a file or network path")


def resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value
