"""The Upload Document pop-up: a server check before a file is attached, and per-file titles."""

import pytest
from django.test import Client
from django.urls import reverse

from requests_chat.models import Document, Request
from tests.requests_chat.conftest import make_pdf, stored_files, upload
from tests.requests_chat.test_documents import BAD_UPLOADS

pytestmark = pytest.mark.django_db

CHECK = reverse("requests_chat:check_document")


def test_it_accepts_a_pdf_and_describes_it(cast, client_for, private_media):
    response = client_for(cast.alice).post(
        CHECK, {"document": upload(make_pdf(pages=2), "Avril - Rx Upload.pdf")}
    )
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "name": "Avril - Rx Upload.pdf",
        "summary": response.json()["summary"],
    }
    assert (
        response.json()["summary"].startswith("PDF · ") and "2 pages" in response.json()["summary"]
    )
    assert stored_files(private_media) == []


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_it_refuses_what_the_chat_would_refuse_and_stores_nothing(
    cast, client_for, settings, private_media, kind
):
    settings.DOCUMENT_MAX_BYTES = 4000
    data, reason = BAD_UPLOADS[kind]
    response = client_for(cast.phil).post(CHECK, {"document": upload(data(), "letter.pdf")})
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert reason in response.json()["error"]
    assert stored_files(private_media) == []
    assert not Document.objects.exists()


def test_it_is_only_for_people_who_take_part_in_chats(cast, client_for):
    # Ops have no Requests pages at all (portal.gates): 404; a prescriber who reaches nobody: 403.
    for outsider, status in ((cast.mallory, 403), (cast.olivia, 404)):
        response = client_for(outsider).post(CHECK, {"document": upload(make_pdf(), "a.pdf")})
        assert response.status_code == status


def test_it_asks_for_a_file(cast, client_for):
    response = client_for(cast.alice).post(CHECK, {})
    assert response.status_code == 400
    assert response.json()["error"]


def test_it_needs_a_signed_in_verified_user(cast):
    anonymous = Client().post(CHECK, {"document": upload(make_pdf(), "a.pdf")})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    unverified = Client()
    unverified.force_login(cast.alice)
    response = unverified.post(CHECK, {"document": upload(make_pdf(), "a.pdf")})
    assert response.status_code == 302 and "/accounts/mfa" in response["Location"]


def test_each_attached_file_keeps_its_own_title(cast, client_for, private_media):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    response = client_for(cast.alice).post(
        reverse("requests_chat:send", args=[chat.pk]),
        {
            "body": "Two letters",
            "client_id": "t1",
            "document_titles": ["Lab results", "Insurance letter"],
            "documents": [upload(make_pdf("one"), "a.pdf"), upload(make_pdf("two"), "b.pdf")],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    titles = list(Document.objects.order_by("pk").values_list("title", "original_name"))
    assert titles == [("Lab results", "a.pdf"), ("Insurance letter", "b.pdf")]
    assert "Lab results" in response.content.decode()


def test_titles_that_do_not_match_the_files_fall_back_to_the_form_title(
    cast, client_for, private_media
):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    client_for(cast.alice).post(
        reverse("requests_chat:send", args=[chat.pk]),
        {
            "body": "x",
            "client_id": "t2",
            "title": "Letter",
            "document_titles": ["Only one title"],
            "documents": [upload(make_pdf("one"), "a.pdf"), upload(make_pdf("two"), "b.pdf")],
        },
        headers={"HX-Request": "true"},
    )
    assert list(Document.objects.order_by("pk").values_list("title", flat=True)) == [
        "Letter (1)",
        "Letter (2)",
    ]
