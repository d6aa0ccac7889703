"""Serving a private stored file, after the caller's access check: the one way every app does it.

From our storage: inline or as a download, with nosniff, a CSP that runs nothing and no-store.
On S3: a short-lived presigned URL carrying the same content type and disposition.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

# What a served file may do in the browser: nothing but be shown (a PDF in its viewer, an image).
DOCUMENT_CSP = (
    "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'"
)


def safe_filename(title: str) -> str:
    """An ASCII file name for Content-Disposition, ending in .pdf."""
    stem = "".join(c if c.isalnum() or c in " -_." else "_" for c in title).strip(" .")[:80]
    stem = stem.encode("ascii", "ignore").decode() or "document"
    return stem if stem.lower().endswith(".pdf") else f"{stem}.pdf"


def safe_download_name(name: str, default: str = "attachment") -> str:
    """An ASCII file name for Content-Disposition that keeps the original's extension."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return stem.encode("ascii", "ignore").decode().strip("._")[:80] or default


def is_s3(storage: object) -> bool:
    from storages.backends.s3 import S3Storage

    # default_storage is a LazyObject; isinstance() sees through it.
    return isinstance(storage, S3Storage)


def serve_private_file(
    name: str | None, *, content_type: str, filename: str, download: bool = False
) -> HttpResponseBase:
    """The stored file `name` (already access-checked by the caller), or a 404."""
    if not name:
        raise Http404("No file")
    response: HttpResponseBase
    if is_s3(default_storage):
        # S3Storage.url takes the response headers S3 sends; Django's Storage stub does not.
        url = default_storage.url(  # type: ignore[call-arg]
            name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition_header(download, filename),
            },
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "no-store"
        return response
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("File not found") from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=download, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["Cache-Control"] = "private, no-store"
    return response
