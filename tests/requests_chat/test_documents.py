import pytest
from django.urls import reverse

from requests_chat.documents import InvalidDocument, check_pdf
from requests_chat.models import Document, Message, Request

from .conftest import make_pdf, stored_files, upload


def test_it_accepts_a_plain_pdf():
    checked = check_pdf(make_pdf(pages=3), name="a.pdf")
    assert checked.page_count == 3
    assert len(checked.sha256) == 64


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "The file is empty."),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "not a PDF"),
        (make_pdf()[:-300], "damaged or incomplete"),
        (make_pdf(encrypt=True), "Encrypted"),
        (make_pdf(js=True), "JavaScript"),
        (make_pdf(launch=True), "launch actions"),
        (make_pdf(attachment=True), "embedded files"),
        (make_pdf(page_aa=True), "automatic actions"),
        (b"%PDF-1.7\n garbage that is not a pdf body\n%%EOF\n", "damaged or incomplete"),
    ],
    ids=[
        "empty",
        "executable",
        "truncated",
        "encrypted",
        "javascript",
        "launch",
        "embedded",
        "page-aa",
        "garbage",
    ],
)
def test_it_refuses_bad_pdfs_with_a_reason(data, reason):
    with pytest.raises(InvalidDocument, match=reason):
        check_pdf(data)


def test_it_refuses_a_pdf_over_the_limit(settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    with pytest.raises(InvalidDocument, match="larger than 1000"):
        check_pdf(make_pdf(pages=5))


BAD_UPLOADS = {
    "renamed executable": (lambda: b"MZ\x90\x00" + b"\x00" * 500, "not a PDF"),
    "truncated PDF": (lambda: make_pdf()[:-400], "damaged or incomplete"),
    "empty file": (lambda: b"", "empty"),
    "encrypted PDF": (lambda: make_pdf(encrypt=True), "Encrypted or password-protected"),
    "over the limit": (lambda: make_pdf(pages=20), "larger than"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_it_refuses_bad_uploads_in_the_chat_and_stores_nothing(
    cast, client_for, settings, private_media, kind
):
    settings.DOCUMENT_MAX_BYTES = 4000
    data, reason = BAD_UPLOADS[kind]
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    response = client_for(cast.alice).post(
        reverse("requests_chat:send", args=[chat.pk]),
        {
            "body": "see attached",
            "client_id": "c1",
            "title": "Letter",
            "documents": [upload(data(), "letter.pdf")],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#message-form-errors"
    assert reason in response.content.decode()
    assert not Message.objects.exists()
    assert not Document.objects.exists()
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_it_refuses_bad_uploads_on_create_and_keeps_what_was_typed(cast, client_for, private_media):
    response = client_for(cast.alice).post(
        reverse("requests_chat:create"),
        {
            "patient": cast.pat_alice.pk,
            "prescription": cast.rx_alice.pk,
            "body": "Any update?",
            "documents": [upload(make_pdf(js=True), "evil.pdf")],
        },
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert "PDFs that contain JavaScript cannot be attached." in content
    assert "Any update?" in content
    assert not Request.objects.exists()
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_documents_adding_up_to_more_than_the_message_limit_are_refused(
    cast, client_for, settings, private_media
):
    """Each file within its own limit, together over the message's: refused, nothing stored."""
    pdf = make_pdf(pages=3)
    settings.DOCUMENT_MAX_BYTES = len(pdf) + 100
    settings.DOCUMENT_MAX_TOTAL_BYTES = 2 * len(pdf) + 100
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    url = reverse("requests_chat:send", args=[chat.pk])
    response = client_for(cast.alice).post(
        url,
        {
            "body": "three parts",
            "client_id": "c1",
            "documents": [upload(pdf, f"part-{n}.pdf") for n in range(3)],
        },
        headers={"HX-Request": "true"},
    )
    assert "These documents add up to more than" in response.content.decode()
    assert "send some of them in another message" in response.content.decode()
    assert not Message.objects.exists()
    assert stored_files(private_media) == []
    # Two of them fit.
    response = client_for(cast.alice).post(
        url,
        {
            "body": "two parts",
            "client_id": "c2",
            "documents": [upload(pdf, f"part-{n}.pdf") for n in range(2)],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Document.objects.count() == 2
