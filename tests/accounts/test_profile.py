import re
import time

from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.middleware import IdleTimeoutMiddleware
from audit.models import AuditEvent
from tests.conftest import PASSWORD, verify_otp

NEW_PASSWORD = "Blue-Kettle-2024!"


def other_session_for(user) -> Client:
    other = Client()
    other.force_login(user)
    verify_otp(other, user)
    return other


def test_it_shows_the_profile(cast, client_for):
    page = client_for(cast.alice).get(reverse("accounts:profile")).content.decode()
    assert cast.alice.email in page and cast.npi_alice.npi in page


def test_it_changes_the_password_after_reauthentication_and_ends_other_sessions(cast, client_for):
    other = other_session_for(cast.alice)
    client = client_for(cast.alice)
    response = client.post(
        reverse("accounts:change_password"),
        {"current_password": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.url == reverse("accounts:profile")
    cast.alice.refresh_from_db()
    assert cast.alice.check_password(NEW_PASSWORD)
    assert client.get(reverse("accounts:profile")).status_code == 200  # this session stays
    assert other.get(reverse("accounts:profile")).status_code == 302  # the other one ended
    assert AuditEvent.objects.filter(action="security", description="Password changed").exists()


def test_it_refuses_a_password_change_without_the_current_password(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("accounts:change_password"),
        {"current_password": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "Your current password is not correct." in response.content.decode()


def test_it_refuses_a_weak_new_password(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("accounts:change_password"),
        {"current_password": PASSWORD, "password1": "alllowercase", "password2": "alllowercase"},
    )
    assert response.status_code == 400
    assert "an upper-case letter" in response.content.decode()


def test_it_changes_the_email_and_tells_the_old_address(cast, client_for):
    client = client_for(cast.alice)
    response = client.post(
        reverse("accounts:change_email"),
        {"email": "alice.new@example.com", "current_password": PASSWORD},
    )
    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.email == "alice.new@example.com"
    assert mail.outbox[-1].to == ["alice.adams@example.com"]


def test_it_refuses_an_email_change_to_a_taken_address(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("accounts:change_email"), {"email": cast.carol.email, "current_password": PASSWORD}
    )
    assert response.status_code == 400


def test_new_recovery_codes_replace_the_old_ones(cast, client_for):
    client = client_for(cast.alice)
    response = client.post(reverse("accounts:new_recovery_codes"))
    assert response.url == reverse("accounts:recovery_codes")
    assert "Save your recovery codes" in client.get(response.url).content.decode()


def test_a_password_reset_still_needs_the_second_factor(cast, client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    response = client.post(reverse("accounts:password_reset"), {"email": cast.alice.email})
    assert response.url == reverse("accounts:password_reset_done")
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/password-reset/" in line)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = client.get(path)  # Django swaps the token into the session and redirects
    response = client.post(
        response.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.url == reverse("accounts:password_reset_complete")
    response = client.post(
        reverse("accounts:login"), {"username": cast.alice.email, "password": NEW_PASSWORD}
    )
    assert response.url == reverse("accounts:mfa")
    assert client.get(reverse("accounts:mfa")).url == reverse("accounts:mfa_verify")


def test_a_password_reset_answers_the_same_for_unknown_emails(db, client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_an_idle_session_ends_server_side(cast, client_for, settings):
    client = client_for(cast.alice)
    assert client.get(reverse("accounts:profile")).status_code == 200
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = (
        time.time() - settings.SESSION_IDLE_MINUTES * 60 - 5
    )
    session.save()
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert client.get(reverse("accounts:profile")).url.startswith(reverse("accounts:login"))


def test_an_idle_htmx_request_gets_an_hx_redirect(cast, client_for, settings):
    client = client_for(cast.alice)
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = (
        time.time() - settings.SESSION_IDLE_MINUTES * 60 - 5
    )
    session.save()
    response = client.get(reverse("accounts:profile"), headers={"HX-Request": "true"})
    assert response.status_code == 204 and reverse("accounts:login") in response["HX-Redirect"]


def test_passive_polls_do_not_keep_a_session_alive(cast, client_for):
    client = client_for(cast.alice)
    client.get(reverse("accounts:profile"))
    before = client.session[IdleTimeoutMiddleware.SESSION_KEY]
    time.sleep(0.01)
    client.get(reverse("accounts:profile"), headers={"X-Passive-Request": "1"})
    assert client.session[IdleTimeoutMiddleware.SESSION_KEY] == before
    assert Session.objects.exists()


def test_activity_is_recorded_at_most_once_a_minute(cast, client_for, settings):
    """Each page does not save the session (an UPDATE and a commit): the activity is written
    when it is older than the write interval, and the page's idle timer counts from it."""
    client = client_for(cast.alice)
    client.get(reverse("accounts:profile"))
    recorded = client.session[IdleTimeoutMiddleware.SESSION_KEY]
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("accounts:profile")).content.decode()
    assert not [
        q for q in queries.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert client.session[IdleTimeoutMiddleware.SESSION_KEY] == recorded
    left = int(re.search(r'data-idle-seconds="(\d+)"', page).group(1))
    assert settings.SESSION_IDLE_MINUTES * 60 - 5 <= left <= settings.SESSION_IDLE_MINUTES * 60
    # Older than the interval: the next active request records it again.
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = (
        recorded - IdleTimeoutMiddleware.write_interval() - 1
    )
    session.save()
    page = client.get(reverse("accounts:profile")).content.decode()
    assert client.session[IdleTimeoutMiddleware.SESSION_KEY] > recorded
    # A recorded activity 10 minutes old leaves the page 5 minutes (not 15) before it ends.
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = time.time() - 600
    session.save()
    page = client.get(
        reverse("accounts:profile"), headers={"X-Passive-Request": "1"}
    ).content.decode()
    left = int(re.search(r'data-idle-seconds="(\d+)"', page).group(1))
    assert (
        settings.SESSION_IDLE_MINUTES * 60 - 605 <= left <= settings.SESSION_IDLE_MINUTES * 60 - 599
    )


def test_the_sign_in_page_says_why_after_a_timeout(db, client, settings):
    page = client.get(reverse("accounts:login") + "?timeout=1").content.decode()
    assert (
        f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes of inactivity." in page
    )
