"""A create POST sent twice (double click, retry after a failover) creates one thing, and the
second answer is the first one."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import DelegateInvite
from invites import sms
from invites.models import Invite
from portal.models import IdempotencyKey
from tests.invites.conftest import invite_post

pytestmark = pytest.mark.django_db

KEY = "0123456789abcdef0123456789abcdef"
INVITE = reverse("invites:invite")
IMPORT = reverse("invites:import_csv")
DELEGATE = reverse("accounts:invite_delegate")


@pytest.fixture(autouse=True)
def outboxes(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "invites.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def key_in(html: str) -> list[str]:
    return re.findall(r'name="idempotency_key" value="([^"]+)"', html)


def test_the_invite_form_carries_one_key_from_review_to_confirm(client_for, cast, clinics):
    client = client_for(cast.alice)
    [first, csv_key] = key_in(client.get(INVITE).content.decode())
    assert first != csv_key  # each form its own
    review = client.post(
        INVITE,
        {
            **invite_post([("Pat", "One", "pat@example.com", "")], action="review"),
            "idempotency_key": first,
        },
    )
    assert set(key_in(review.content.decode())) >= {first}
    assert not Invite.objects.exists()


def test_confirming_invites_twice_invites_once_and_answers_the_same(client_for, cast, clinics):
    client = client_for(cast.alice)
    data = {
        **invite_post([("Pat", "One", "pat@example.com", ""), ("Sam", "Two", "", "2155550123")]),
        "idempotency_key": KEY,
    }
    first = client.post(INVITE, data)
    second = client.post(INVITE, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Invite.objects.count() == 2
    assert len(mail.outbox) == 1 and len(sms.outbox) == 1
    # The summary page still shows what the first POST did: both invited, with their codes.
    summary = client.get(second["Location"]).content.decode()
    assert all(code in summary for code in Invite.objects.values_list("code", flat=True))


def test_uploading_the_same_csv_twice_imports_once_and_answers_the_same(client_for, cast, clinics):
    client = client_for(cast.alice)
    content = b"First Name,Last Name,Email,Mobile Number\r\nPat,One,pat@example.com,\r\n"

    def upload():
        return client.post(
            IMPORT,
            {
                "csv_file": SimpleUploadedFile("p.csv", content, content_type="text/csv"),
                "idempotency_key": KEY,
            },
        )

    first, second = upload(), upload()
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert Invite.objects.count() == 1 and len(mail.outbox) == 1


def test_inviting_a_delegate_twice_sends_one_email(client_for, cast):
    client = client_for(cast.alice)
    data = {"email": "new.delegate@example.com", "idempotency_key": KEY}
    first, second = client.post(DELEGATE, data), client.post(DELEGATE, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert DelegateInvite.objects.filter(email="new.delegate@example.com").count() == 1
    assert len(mail.outbox) == 1


def test_a_new_key_is_a_new_submission(client_for, cast):
    client = client_for(cast.alice)
    client.post(DELEGATE, {"email": "new.delegate@example.com", "idempotency_key": KEY})
    client.post(DELEGATE, {"email": "new.delegate@example.com", "idempotency_key": KEY[::-1]})
    assert len(mail.outbox) == 2  # a deliberate resend from a fresh form still works


def test_keys_belong_to_their_user(client_for, cast, clinics):
    client_for(cast.alice).post(
        DELEGATE, {"email": "a.delegate@example.com", "idempotency_key": KEY}
    )
    client_for(cast.carol).post(
        DELEGATE, {"email": "c.delegate@example.com", "idempotency_key": KEY}
    )
    assert DelegateInvite.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


def test_a_failed_post_is_not_remembered(client_for, cast):
    client = client_for(cast.alice)
    bad = client.post(DELEGATE, {"email": "not-an-email", "idempotency_key": KEY})
    assert bad.status_code == 400
    good = client.post(DELEGATE, {"email": "fixed@example.com", "idempotency_key": KEY})
    assert good.status_code == 302 and len(mail.outbox) == 1


@pytest.mark.parametrize("key", ["short", "x" * 65, "bad key with spaces!!", "'><script>"])
def test_a_malformed_key_is_refused_with_a_clear_message(client_for, cast, key):
    response = client_for(cast.alice).post(
        DELEGATE, {"email": "d@example.com", "idempotency_key": key}
    )
    assert response.status_code == 400
    assert "Reload the page" in response.content.decode()
    assert not DelegateInvite.objects.exists()
