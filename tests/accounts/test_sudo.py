"""Sudo mode: security actions ask for the password or a fresh code again after SUDO_MINUTES."""

import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.decorators import SUDO_KEY
from audit.models import AuditEvent
from tests.accounts.test_mfa import code_for
from tests.conftest import PASSWORD, sign_in

PROFILE = reverse("accounts:profile")
SUDO = reverse("accounts:sudo")


@pytest.fixture
def stale(cast, settings):
    """alice, signed in with both factors more than SUDO_MINUTES ago."""
    client = Client()
    sign_in(client, cast.alice)
    session = client.session
    session[SUDO_KEY] = time.time() - settings.SUDO_MINUTES * 60 - 1
    session.save()
    return client


def test_new_recovery_codes_ask_to_confirm_first(cast, stale):
    response = stale.post(reverse("accounts:new_recovery_codes"), HTTP_REFERER=PROFILE)
    assert response.status_code == 302
    assert response.url == f"{SUDO}?next=%2Faccounts%2Fprofile%2F"
    assert not StaticDevice.objects.filter(user=cast.alice).exists()
    page = stale.get(response.url).content.decode()
    assert "Confirm it&#x27;s you" in page or "Confirm it's you" in page


def test_an_email_change_asks_to_confirm_first(cast, stale):
    response = stale.post(
        reverse("accounts:change_email"),
        {"email": "a.new@example.com", "current_password": PASSWORD},
    )
    assert response.url.startswith(SUDO)
    cast.alice.refresh_from_db()
    assert cast.alice.email == "alice.adams@example.com" and mail.outbox == []


def test_the_password_confirms_and_the_action_then_works(cast, stale):
    before = stale.cookies["sessionid"].value
    response = stale.post(SUDO, {"secret": PASSWORD, "next": PROFILE})
    assert response.url == PROFILE
    assert stale.cookies["sessionid"].value != before  # a privilege change: a new key
    assert AuditEvent.objects.filter(description="Sudo mode: confirmed").count() == 1
    response = stale.post(reverse("accounts:new_recovery_codes"))
    assert response.url == reverse("accounts:recovery_codes")
    assert StaticDevice.objects.get(user=cast.alice).token_set.count() == 10


def test_a_fresh_code_confirms_too(cast, stale):
    device = TOTPDevice.objects.get(user=cast.alice, confirmed=True)
    response = stale.post(SUDO, {"secret": code_for(device), "next": PROFILE})
    assert response.url == PROFILE
    assert stale.post(reverse("accounts:new_recovery_codes")).url == reverse(
        "accounts:recovery_codes"
    )


def test_a_wrong_password_or_code_confirms_nothing(cast, stale, no_otp_throttle):
    for secret in ("wrong-password", "000000"):
        response = stale.post(SUDO, {"secret": secret, "next": PROFILE})
        assert response.status_code == 400
        assert "That is not your password or a current code." in response.content.decode()
    assert stale.post(reverse("accounts:new_recovery_codes")).url.startswith(SUDO)
    assert AuditEvent.objects.filter(action="login_failed").count() == 2


def test_it_never_redirects_off_site(cast, stale):
    response = stale.post(SUDO, {"secret": PASSWORD, "next": "https://evil.example/"})
    assert response.url == PROFILE


def test_signing_in_with_both_factors_starts_sudo_mode(cast, client):
    device = TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    client.post(reverse("accounts:login"), {"username": cast.alice.email, "password": PASSWORD})
    # The password alone is not enough for a prescriber.
    assert SUDO_KEY not in client.session
    client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert client.post(reverse("accounts:new_recovery_codes")).url == reverse(
        "accounts:recovery_codes"
    )


def test_new_recovery_codes_and_email_change_rotate_the_session(cast, client_for):
    client = client_for(cast.alice)
    before = client.cookies["sessionid"].value
    client.post(reverse("accounts:new_recovery_codes"))
    after_codes = client.cookies["sessionid"].value
    assert after_codes != before
    client.post(
        reverse("accounts:change_email"),
        {"email": "a.new@example.com", "current_password": PASSWORD},
    )
    assert client.cookies["sessionid"].value != after_codes
