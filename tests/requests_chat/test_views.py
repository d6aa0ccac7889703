import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEvent
from requests_chat.models import Document, Message, ReadState, Request
from requests_chat.services import create_request, send_message
from tests.conftest import sign_in

from .conftest import make_pdf, stored_files, upload

pytestmark = pytest.mark.django_db


def client_as(user):
    return sign_in(Client(), user)


def new_chat(cast, body="Any update on the PA?", files=()):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body=body, files=files)
    return chat


# Create -------------------------------------------------------------------------------------


def test_it_shows_the_create_form_with_the_note(cast):
    response = client_as(cast.alice).get(
        reverse("requests_chat:create"),
        {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Note: This portal cannot be used to transmit/receive prescriptions" in content
    assert "Avril Lavigne (01 January 1980)" in content
    assert f'<option value="{cast.rx_alice.pk}" data-prescriber="Alice Adams" selected>' in content
    assert "Stelara" not in content  # carol's prescription
    assert 'id="id_prescriber"' not in content  # prescribers do not get the Prescriber field


def test_it_shows_the_prescriber_field_to_pharmacists(cast):
    response = client_as(cast.phil).get(
        reverse("requests_chat:create"),
        {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk},
    )
    assert b'id="id_prescriber"' in response.content
    assert b'value="Alice Adams"' in response.content


def test_it_reloads_the_prescriptions_of_a_patient(cast):
    response = client_as(cast.alice).get(
        reverse("requests_chat:prescription_options"),
        {"patient": cast.pat_shared.pk},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert "Dupixent" in content and "(Rx: 3001)" in content
    assert "Enbrel" not in content  # the same patient's prescription from carol
    assert "<html" not in content


def test_it_creates_a_request_with_a_document(cast, private_media):
    response = client_as(cast.alice).post(
        reverse("requests_chat:create"),
        {
            "patient": cast.pat_alice.pk,
            "prescription": cast.rx_alice.pk,
            "body": "Any update?",
            "client_id": "abc",
            "title": "PA letter",
            "documents": [upload(make_pdf(pages=2))],
        },
        headers={"HX-Request": "true"},
    )
    assert b"Your request has been successfully created." in response.content
    chat = Request.objects.get()
    assert f'href="/requests/{chat.pk}/"'.encode() in response.content
    message = chat.messages.get()
    assert (message.body, message.author_role, message.client_id) == (
        "Any update?",
        "Prescriber",
        "abc",
    )
    doc = Document.objects.get()
    assert (doc.title, doc.page_count, doc.message) == ("PA letter", 2, message)
    assert doc.file.name.startswith("documents/") and "letter" not in doc.file.name
    assert len(stored_files(private_media)) == 1
    assert AuditEvent.objects.filter(action="create", object_type="requests_chat.Request").exists()


def test_it_says_a_request_already_exists(cast):
    chat = new_chat(cast)
    response = client_as(cast.phil).post(
        reverse("requests_chat:create"),
        {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk, "body": "Hello"},
        headers={"HX-Request": "true"},
    )
    assert b"A request already exists for this Rx." in response.content
    assert f'href="/requests/{chat.pk}/"'.encode() in response.content
    assert Request.objects.count() == 1 and Message.objects.count() == 1


def test_it_requires_patient_prescription_and_message(cast):
    response = client_as(cast.alice).post(
        reverse("requests_chat:create"), {}, headers={"HX-Request": "true"}
    )
    assert response["HX-Retarget"] == "#create-form"
    assert response.content.decode().count("This field is required.") == 3


@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_refuses_a_prescription_the_user_cannot_see(cast, who):
    response = client_as(getattr(cast, who)).post(
        reverse("requests_chat:create"),
        {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk, "body": "Hello"},
    )
    assert response.status_code == 200
    assert not Request.objects.exists()


def test_it_redirects_to_the_request_without_htmx(cast):
    response = client_as(cast.bob).post(
        reverse("requests_chat:create"),
        {"patient": cast.pat_alice.pk, "prescription": cast.rx_alice.pk, "body": "Hello"},
    )
    assert response.status_code == 302
    assert response.url == reverse("requests_chat:detail", args=[Request.objects.get().pk])


# List and details ---------------------------------------------------------------------------


def test_it_lists_requests_with_unread_counts(cast, django_assert_max_num_queries):
    chat = new_chat(cast)
    send_message(chat=chat, author=cast.phil, body="Checking", client_id="p1")
    client = client_as(cast.alice)
    # includes the access gate's prescriber list and the page count
    with django_assert_max_num_queries(14):
        response = client.get(reverse("requests_chat:list"))
    assert b"1 unread" in response.content
    assert b"Humira Pen" in response.content
    assert b"1 unread" not in client_as(cast.phil).get(reverse("requests_chat:list")).content


@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_lists_nothing_for_outsider_and_other_prescriber(cast, who):
    new_chat(cast)
    response = client_as(getattr(cast, who)).get(reverse("requests_chat:list"))
    assert b"No requests yet" in response.content


def test_it_shows_request_details_and_marks_them_read(cast, pdf_bytes):
    from requests_chat.documents import check_pdf

    chat = new_chat(cast, files=[("Lab results", check_pdf(pdf_bytes, name="lab.pdf"))])
    other, _ = create_request(prescription=cast.rx_alice_old, author=cast.phil, body="Old one")
    message, _ = send_message(chat=chat, author=cast.phil, body="Got it", client_id="p1")
    response = client_as(cast.alice).get(reverse("requests_chat:detail", args=[chat.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    for text in [
        "Patient Details",
        "Avril Lavigne",
        "1980-01-01",
        "4165552639",
        "Female",
        "2751 PENNSYLVANIA AVE",
        "avril@example.com",
        "Any update on the PA?",
        "Got it",
        "Phil Pharm",
        "Pharmacist",
        "Lab results",
        "Other Requests",
        "Otezla",
    ]:
        assert text in content, text
    assert f'href="/requests/{other.pk}/"' in content
    try:
        profile = reverse("prescriptions:patient", args=[cast.pat_alice.pk])
    except NoReverseMatch:  # the profile page belongs to another app
        profile = None
    if profile:
        assert f'href="{profile}">GO TO PATIENT PROFILE' in content
    assert ReadState.objects.get(user=cast.alice, request=chat).last_read_message_id == message.pk
    assert AuditEvent.objects.filter(
        action="view", object_type="requests_chat.Request", object_id=str(chat.pk)
    ).exists()


def test_it_hides_other_requests_the_user_cannot_see(cast):
    chat, _ = create_request(prescription=cast.rx_shared_alice, author=cast.alice, body="Mine")
    create_request(prescription=cast.rx_shared_carol, author=cast.carol, body="Carol's")
    content = (
        client_as(cast.alice).get(reverse("requests_chat:detail", args=[chat.pk])).content.decode()
    )
    assert "Enbrel" not in content
    assert "No other requests for this patient." in content


@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_404s_details_for_outsider_and_other_prescriber(cast, who):
    chat = new_chat(cast)
    client = client_as(getattr(cast, who))
    assert client.get(reverse("requests_chat:detail", args=[chat.pk])).status_code == 404
    assert client.get(reverse("requests_chat:detail", args=[99999])).status_code == 404
    assert (
        client.post(reverse("requests_chat:send", args=[chat.pk]), {"body": "hi"}).status_code
        == 404
    )
    assert client.get(reverse("requests_chat:messages_since", args=[chat.pk])).status_code == 404


def test_it_404s_for_a_revoked_delegate(cast):
    chat = new_chat(cast)
    client = client_as(cast.bob)
    assert client.get(reverse("requests_chat:detail", args=[chat.pk])).status_code == 200
    cast.bob.delegations.get().revoke()
    assert client.get(reverse("requests_chat:detail", args=[chat.pk])).status_code == 404


# Sending and polling ------------------------------------------------------------------------


def test_it_sends_a_message_and_answers_with_the_row(cast):
    chat = new_chat(cast)
    client = client_as(cast.phil)
    url = reverse("requests_chat:send", args=[chat.pk])
    response = client.post(
        url, {"body": "On it", "client_id": "k1"}, headers={"HX-Request": "true"}
    )
    message = Message.objects.get(body="On it")
    assert f'id="message-{message.pk}"'.encode() in response.content
    assert b"Pharmacist" in response.content
    # A retry with the same client id is stored once and answers with the same row.
    again = client.post(url, {"body": "On it", "client_id": "k1"}, headers={"HX-Request": "true"})
    assert again.content == response.content
    assert Message.objects.filter(body="On it").count() == 1


def test_it_refuses_an_empty_message(cast):
    chat = new_chat(cast)
    response = client_as(cast.phil).post(
        reverse("requests_chat:send", args=[chat.pk]),
        {"body": "  "},
        headers={"HX-Request": "true"},
    )
    assert b"Enter a message or attach a document." in response.content
    assert Message.objects.count() == 1


def test_it_returns_messages_since_an_id(cast):
    chat = new_chat(cast)
    first = chat.messages.get()
    send_message(chat=chat, author=cast.phil, body="Second", client_id="p1")
    response = client_as(cast.alice).get(
        reverse("requests_chat:messages_since", args=[chat.pk]), {"after": first.pk}
    )
    assert b"Second" in response.content and b"Any update" not in response.content


def test_it_still_stores_the_message_when_the_channel_layer_is_down(cast, monkeypatch):
    chat = new_chat(cast)

    class Broken:
        async def group_send(self, *args, **kwargs):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr("requests_chat.services.get_channel_layer", lambda: Broken())
    client = client_as(cast.phil)
    response = client.post(
        reverse("requests_chat:send", args=[chat.pk]),
        {"body": "Still here", "client_id": "z"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Message.objects.filter(body="Still here").exists()


# Documents ----------------------------------------------------------------------------------


@pytest.fixture
def doc(cast, pdf_bytes):
    from requests_chat.documents import check_pdf

    new_chat(cast, files=[("PA letter", check_pdf(pdf_bytes, name="pa.pdf"))])
    return Document.objects.get()


@pytest.mark.parametrize("who", ["alice", "bob", "phil"])
def test_it_serves_a_document_inline_to_participants(cast, doc, pdf_bytes, who):
    response = client_as(getattr(cast, who)).get(reverse("requests_chat:document", args=[doc.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="PA letter.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert AuditEvent.objects.filter(action="download", object_id=str(doc.pk)).count() == 1


@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_404s_documents_for_outsider_and_other_prescriber(cast, doc, who):
    response = client_as(getattr(cast, who)).get(reverse("requests_chat:document", args=[doc.pk]))
    assert response.status_code == 404


@pytest.fixture
def unreachable_redis(settings):
    """The portal's Redis channel layer, pointed at a port where nothing listens."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def test_nothing_fails_when_redis_itself_is_unreachable(
    cast, unreachable_redis, django_capture_on_commit_callbacks, caplog
):
    """Push, unread badges and the bell all need Redis: the message is stored regardless."""
    chat = new_chat(cast)
    client = client_as(cast.phil)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("requests_chat:send", args=[chat.pk]),
            {"body": "Redis is down but this is stored", "client_id": "r1"},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    assert b"Redis is down but this is stored" in response.content
    assert Message.objects.filter(body="Redis is down but this is stored").count() == 1
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Could not broadcast message" in logged  # the push really tried Redis and failed
    assert "Could not announce unread counts" in logged
    # The pages still work (the chat page then polls).
    with django_capture_on_commit_callbacks(execute=True):
        page = client_as(cast.alice).get(reverse("requests_chat:detail", args=[chat.pk]))
    assert page.status_code == 200
    assert client_as(cast.alice).get(reverse("requests_chat:list")).status_code == 200
