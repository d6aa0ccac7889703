import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import DelegateInvite, Delegation, User
from audit.models import AuditEvent

NEW_PASSWORD = "Blue-Kettle-2024!"


def invite_url_from_mail(message) -> str:
    return re.search(r"https?://\S+/accounts/invite/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def send_invite(client, email="dee.legate@example.com") -> str:
    mail.outbox.clear()
    response = client.post(reverse("accounts:invite_delegate"), {"email": email})
    assert response.status_code == 302
    return path_of(invite_url_from_mail(mail.outbox[-1]))


def registration(**extra):
    return {
        "first_name": "Dee",
        "last_name": "Legate",
        "email": "dee.legate@example.com",
        "phone": "2155550199",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **extra,
    }


def test_it_shows_the_administration_page_to_prescribers(
    cast, client_for, django_assert_max_num_queries
):
    client = client_for(cast.alice)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:administration"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Invite Delegate" in html and cast.bob.get_full_name() in html


@pytest.mark.parametrize("who", ["bob", "phil", "olivia"])
def test_it_403s_for_non_prescribers(cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get(reverse("accounts:administration")).status_code == 403
    assert (
        client.post(reverse("accounts:invite_delegate"), {"email": "x@example.com"}).status_code
        == 403
    )


def test_it_403s_for_a_prescriber_user_without_a_directory_record(cast, client_for):
    assert client_for(cast.mallory).get(reverse("accounts:administration")).status_code == 403


def test_it_sends_a_signed_single_use_link(cast, client_for):
    client = client_for(cast.alice)
    link = send_invite(client)
    invite = DelegateInvite.objects.get(email="dee.legate@example.com")
    assert invite.prescriber == cast.npi_alice and invite.status == "pending"
    assert link.split("/")[-2] not in invite.token_hash  # only a digest is stored
    assert "Complete Registration" in mail.outbox[-1].body
    assert (
        "dee.legate@example.com" in client.get(reverse("accounts:administration")).content.decode()
    )
    assert AuditEvent.objects.filter(
        action="create", object_type="accounts.DelegateInvite"
    ).exists()


def test_it_rejects_a_bad_invite_email_in_the_dialog(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("accounts:invite_delegate"), {"email": "not-an-email"}
    )
    assert response.status_code == 400
    assert "data-open-on-page-load" in response.content.decode()


def test_a_delegate_registers_from_the_link(cast, client_for, client):
    link = send_invite(client_for(cast.alice))
    client.logout()
    page = client.get(link).content.decode()
    for text in (
        "Complete your account",
        "Email must match with the email where you received the invite.",
        "First name",
        "Last name",
        "Phone",
        "Confirm Password",
        "Have an account?",
        "Password requirement: at least 10 characters - 1 each of lower case, upper case, number, symbol",
    ):
        assert text in page
    response = client.post(link, registration())
    assert response.url == reverse("accounts:login")
    dee = User.objects.get(email="dee.legate@example.com")
    assert dee.role == User.Role.DELEGATE
    assert Delegation.objects.active().filter(delegate=dee, prescriber=cast.npi_alice).exists()
    assert DelegateInvite.objects.get().status == "accepted"
    # Then the first sign-in walks through MFA enrolment.
    response = client.post(
        reverse("accounts:login"), {"username": dee.email, "password": NEW_PASSWORD}
    )
    assert response.url == reverse("accounts:mfa")


def test_it_requires_the_invited_email(cast, client_for, client):
    link = send_invite(client_for(cast.alice))
    client.logout()
    response = client.post(link, registration(email="someone.else@example.com"))
    html = response.content.decode()
    assert "Email must match with the email where you received the invite." in html
    assert not User.objects.filter(email="someone.else@example.com").exists()


def test_it_rejects_weak_and_mismatched_invite_passwords(cast, client_for, client):
    link = send_invite(client_for(cast.alice))
    client.logout()
    html = client.post(link, registration(password1="weak", password2="weak")).content.decode()
    assert "at least 10 characters" in html
    html = client.post(link, registration(password2="Other-Kettle-2024!")).content.decode()
    assert "The two passwords do not match." in html
    assert not User.objects.filter(email="dee.legate@example.com").exists()


def test_a_used_link_cannot_be_reused(cast, client_for, client):
    link = send_invite(client_for(cast.alice))
    client.logout()
    client.post(link, registration())
    response = client.get(link)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_a_revoked_link_stops_working(cast, client_for, client):
    alice = client_for(cast.alice)
    link = send_invite(alice)
    invite = DelegateInvite.objects.get()
    alice.post(reverse("accounts:revoke_invite", args=[invite.pk]))
    client.logout()
    response = client.get(link)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert client.post(link, registration()).status_code == 410


def test_an_expired_link_stops_working(cast, client_for, client, settings):
    link = send_invite(client_for(cast.alice))
    DelegateInvite.objects.update(
        sent_at=timezone.now() - dt.timedelta(days=settings.DELEGATE_INVITE_MAX_AGE_DAYS + 1)
    )
    client.logout()
    response = client.get(link)
    assert response.status_code == 410 and "expired" in response.content.decode()


def test_a_resend_replaces_the_old_link(cast, client_for, client):
    alice = client_for(cast.alice)
    old = send_invite(alice)
    invite = DelegateInvite.objects.get()
    mail.outbox.clear()
    alice.post(reverse("accounts:resend_invite", args=[invite.pk]))
    new = path_of(invite_url_from_mail(mail.outbox[-1]))
    client.logout()
    assert client.get(old).status_code == 410
    assert client.get(new).status_code == 200


def test_a_tampered_link_is_refused(cast, client_for, client):
    link = send_invite(client_for(cast.alice))
    client.logout()
    assert client.get(link[:-3] + "xx/").status_code == 410


def test_another_prescriber_cannot_touch_alices_invites_or_delegates(cast, client_for):
    send_invite(client_for(cast.alice))
    invite = DelegateInvite.objects.get()
    delegation = Delegation.objects.get(delegate=cast.bob)
    carol = client_for(cast.carol)
    assert carol.post(reverse("accounts:resend_invite", args=[invite.pk])).status_code == 404
    assert carol.post(reverse("accounts:revoke_invite", args=[invite.pk])).status_code == 404
    assert carol.post(reverse("accounts:remove_delegate", args=[delegation.pk])).status_code == 404
    assert (
        f'id="invite-{invite.pk}"'
        not in carol.get(reverse("accounts:administration")).content.decode()
    )


def test_it_removes_a_delegates_access(cast, client_for):
    delegation = Delegation.objects.get(delegate=cast.bob)
    response = client_for(cast.alice).post(
        reverse("accounts:remove_delegate", args=[delegation.pk])
    )
    assert response.status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    assert AuditEvent.objects.filter(action="update", object_type="accounts.Delegation").exists()


def test_an_existing_delegate_is_linked_by_a_second_prescriber(cast, client_for, client):
    link = send_invite(client_for(cast.carol), email=cast.bob.email)
    client.logout()
    # Signed out: asked to sign in rather than to register again.
    page = client.get(link).content.decode()
    assert "You already have an account" in page
    bob = client_for(cast.bob)
    assert "Accept invitation" in bob.get(link).content.decode()
    bob.post(link)
    assert set(
        Delegation.objects.active().filter(delegate=cast.bob).values_list("prescriber", flat=True)
    ) == {cast.npi_alice.pk, cast.npi_carol.pk}
    assert User.objects.filter(email=cast.bob.email).count() == 1


def test_a_signed_in_stranger_cannot_accept_someone_elses_invite(cast, client_for):
    link = send_invite(client_for(cast.alice))
    response = client_for(cast.mallory).post(link)
    assert response.status_code == 403
    assert DelegateInvite.objects.get().status == "pending"


def test_the_nav_links_administration_for_prescribers_only(cast, client_for):
    url = reverse("accounts:administration")
    assert url in client_for(cast.alice).get(reverse("accounts:profile")).content.decode()
    assert url not in client_for(cast.bob).get(reverse("accounts:profile")).content.decode()
