"""Records fixtures: the patient-portal family (tests/patient_portal/conftest.py), files."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.pdf import PortalPDF
from tests.invites.conftest import clinics, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": "/no-public-media/"},
        },
    }
    return tmp_path / "media"


def pdf_bytes(title: str = "Lab result", text: str = "Cholesterol 180 mg/dL") -> bytes:
    doc = PortalPDF(title=title)
    doc.paragraph(text)
    return doc.bytes()


def js_pdf() -> bytes:
    """A PDF carrying a document-level script (the chat's test helper)."""
    from tests.requests_chat.conftest import make_pdf

    return make_pdf(js=True)


def png_with_metadata(size: tuple[int, int] = (60, 40)) -> bytes:
    from PIL import PngImagePlugin

    image = Image.new("RGB", size, (200, 30, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 51.5,-0.12 <script>alert(1)</script>")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (80, 50), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "<script>alert(1)</script>"  # Software
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def pdf() -> bytes:
    return pdf_bytes()


def act_for(client, user, chart) -> None:
    """Sign `user` in and choose `chart` in the switch."""
    from django.urls import reverse

    client.force_login(user)
    response = client.post(reverse("patient_portal:switch"), {"chart": chart.pk})
    assert response.status_code == 302
