"""Messages fixtures: the patient portal's family (mary with her own charts and tim's, peter,
grace with a proxy ending tomorrow; clinics A and B with alice and carol) and a few helpers."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from messaging.services import start_thread
from patient_portal.selectors import SESSION_CHART
from tests.invites.conftest import clinics, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


def png_bytes(width: int = 8, height: int = 6, **info) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG", **info)
    return out.getvalue()


def png_upload(name: str = "rash.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


def choose_chart(client, chart) -> None:
    session = client.session
    session[SESSION_CHART] = chart.pk
    session.save()


def as_patient(client, user, chart=None):
    client.force_login(user)
    if chart is not None:
        choose_chart(client, chart)
    return client


def a_thread(chart, author, subject="Question about my dose", body="Hello", to="clinician"):
    thread, _, _ = start_thread(chart=chart, author=author, to=to, subject=subject, body=body)
    return thread
