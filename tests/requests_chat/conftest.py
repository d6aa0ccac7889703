"""Fixtures of the requests tests: PDFs of every kind, and a private storage folder."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)


def make_pdf(
    text: str = "Prior authorization letter",
    *,
    pages: int = 1,
    js: bool = False,
    launch: bool = False,
    attachment: bool = False,
    encrypt: bool = False,
    page_aa: bool = False,
) -> bytes:
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for n in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 24 Tf 72 700 Td ({text} - page {n + 1}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
        if page_aa and n == 0:
            page[NameObject("/AA")] = DictionaryObject(
                {
                    NameObject("/O"): DictionaryObject(
                        {
                            NameObject("/S"): NameObject("/URI"),
                            NameObject("/URI"): TextStringObject("https://example.com/track"),
                        }
                    )
                }
            )
    if js:
        # A document-level script in the catalog's /Names /JavaScript tree.
        action = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("app.alert('hello');"),
                }
            )
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {
                NameObject("/JavaScript"): DictionaryObject(
                    {NameObject("/Names"): ArrayObject([TextStringObject("hello"), action])}
                )
            }
        )
    if attachment:
        writer.add_attachment("payload.txt", b"hidden payload")
    if launch:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("calc.exe"),
            }
        )
    if encrypt:
        writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def upload(data: bytes, name: str = "letter.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def pdf_bytes() -> bytes:
    return make_pdf()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Documents go to a temporary folder, never the development media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": "/no-public-media/"},
        },
    }
    return tmp_path / "media"


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(scope="session", autouse=True)
def close_socket_db_threads(django_db_setup):
    """The consumer's database threads keep connections; close them before the test DB goes."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from requests_chat.live import close_db_connections

    close_db_connections()
    # And the one the tests' own database_sync_to_async calls used.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
