"""The session key changes at sign-in and at every privilege change: a cookie captured
before (say, after the password step) never becomes the verified session."""

from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.test_mfa import code_for
from tests.conftest import PASSWORD

DASHBOARD = reverse("prescriptions:dashboard")


def key_of(client) -> str:
    return client.cookies["sessionid"].value


def client_with_key(key: str) -> Client:
    other = Client()
    other.cookies["sessionid"] = key
    return other


def password_step(client, user):
    session = client.session  # an anonymous session exists before sign-in
    session["seen"] = True
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    return before


def test_the_key_changes_at_sign_in(cast, client):
    before = password_step(client, cast.alice)
    assert key_of(client) != before


def test_the_key_changes_when_the_code_is_verified(cast, client):
    device = TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    password_step(client, cast.alice)
    half_signed_in = key_of(client)
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert response.url == reverse("home")  # the landing page, which sends a prescriber on
    assert key_of(client) != half_signed_in
    assert client.get(DASHBOARD).status_code == 200
    # The cookie from the password step does not open the dashboard.
    assert client_with_key(half_signed_in).get(DASHBOARD).status_code == 302


def test_the_key_changes_when_a_recovery_code_is_used(cast, client):
    TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=cast.alice, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd1234")
    password_step(client, cast.alice)
    half_signed_in = key_of(client)
    client.post(reverse("accounts:mfa_verify"), {"code": "abcd1234"})
    assert key_of(client) != half_signed_in
    assert client_with_key(half_signed_in).get(DASHBOARD).status_code == 302


def test_the_key_changes_at_enrolment(cast, client):
    password_step(client, cast.alice)
    client.get(reverse("accounts:mfa_setup"))
    device = TOTPDevice.objects.get(user=cast.alice)
    half_signed_in = key_of(client)
    client.post(reverse("accounts:mfa_setup"), {"code": code_for(device)})
    assert key_of(client) != half_signed_in
    assert client_with_key(half_signed_in).get(DASHBOARD).status_code == 302
