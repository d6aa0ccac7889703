"""Exactly one audit event per sign-in action (the receivers are registered once)."""

from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.accounts.test_mfa import code_for
from tests.conftest import PASSWORD

LOGIN_URL = reverse("accounts:login")


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_one_sign_in_is_one_login_event(cast, client):
    client.post(LOGIN_URL, {"username": cast.alice.email, "password": PASSWORD})
    assert events("login") == 1
    assert AuditEvent.objects.get(action="login").user == cast.alice


def test_one_wrong_password_is_one_failed_event(cast, client):
    client.post(LOGIN_URL, {"username": cast.alice.email, "password": "wrong"})
    assert events("login_failed") == 1
    assert AuditEvent.objects.count() == 1


def test_one_sign_out_is_one_logout_event(cast, client_for):
    client = client_for(cast.alice)
    before = AuditEvent.objects.count()
    client.post(reverse("accounts:sign_out"))
    assert events("logout") == 1
    assert AuditEvent.objects.count() == before + 1


def test_one_mfa_verify_is_one_event(cast, client):
    device = TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    client.post(LOGIN_URL, {"username": cast.alice.email, "password": PASSWORD})
    before = AuditEvent.objects.count()
    client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("pk").description == "MFA passed with an authenticator code"


def test_the_locking_attempt_is_one_failed_and_one_lock_out_event(cast, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    client.post(LOGIN_URL, {"username": cast.alice.email, "password": "wrong"})
    assert (events("login_failed"), events("locked_out")) == (1, 0)
    client.post(LOGIN_URL, {"username": cast.alice.email, "password": "wrong"})
    assert (events("login_failed"), events("locked_out")) == (2, 1)
