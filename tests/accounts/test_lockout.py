"""Sign-in lock-out: counted per account on the real client address, and never a denial of
service for the real user (a sign-in link by email, second factor still asked)."""

import re

from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.accounts.test_mfa import code_for
from tests.conftest import PASSWORD

PROXY = "172.30.0.10"
LOGIN_URL = reverse("accounts:login")


def post_login(client, email, password, **extra):
    return client.post(LOGIN_URL, {"username": email, "password": password}, **extra)


def lock(user, settings, limit=3):
    settings.AXES_FAILURE_LIMIT = limit
    for i in range(limit):
        post_login(Client(REMOTE_ADDR=f"198.51.100.{i + 1}"), user.email, "wrong-password")


def test_spoofed_forwarded_headers_behind_the_proxy_buy_no_guesses(cast, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.AXES_FAILURE_LIMIT = 3
    proxy = Client(REMOTE_ADDR=PROXY)
    statuses = [
        # The attacker writes a new address each time; nginx appends the one it really saw.
        post_login(
            proxy, cast.alice.email, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.7"
        ).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    assert set(
        AuditEvent.objects.filter(action="login_failed").values_list("ip_address", flat=True)
    ) == {"198.51.100.7"}
    assert post_login(proxy, cast.alice.email, PASSWORD).status_code == 429


def test_the_account_locks_whatever_address_the_guesses_come_from(cast, settings):
    lock(cast.alice, settings)
    # The right password from yet another address is refused during the cool-off.
    response = post_login(Client(REMOTE_ADDR="192.0.2.77"), cast.alice.email, PASSWORD)
    assert response.status_code == 429
    assert "Email me a sign-in link" in response.content.decode()
    # Other accounts are not affected.
    assert (
        post_login(Client(REMOTE_ADDR="192.0.2.77"), cast.carol.email, PASSWORD).status_code == 302
    )


def sign_in_link_path() -> str:
    link = re.search(r"https?://\S+/accounts/login/email/\S+/", mail.outbox[-1].body).group(0)
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_the_real_user_signs_in_by_email_link_while_locked_and_still_needs_totp(cast, settings):
    device = TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    lock(cast.alice, settings)
    client = Client(REMOTE_ADDR="192.0.2.10")
    response = client.post(reverse("accounts:email_sign_in"), {"email": cast.alice.email})
    assert response.url == reverse("accounts:email_sign_in_sent")
    assert mail.outbox[-1].to == [cast.alice.email]
    path = sign_in_link_path()
    # Opening the link (a mail scanner, say) signs nobody in; the button does.
    assert client.get(path).status_code == 200
    assert "_auth_user_id" not in client.session
    response = client.post(path)
    assert response.url == reverse("accounts:mfa")
    # Signed in, but nothing opens before the second factor.
    assert client.get(reverse("prescriptions:dashboard")).url == reverse("accounts:mfa")
    assert client.get(reverse("accounts:mfa")).url == reverse("accounts:mfa_verify")
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert response.url == reverse("prescriptions:dashboard")
    assert client.get(reverse("prescriptions:dashboard")).status_code == 200
    # The link worked once.
    assert Client().post(path).status_code == 410


def test_an_unknown_email_gets_the_same_answer_and_no_mail(db, client):
    response = client.post(reverse("accounts:email_sign_in"), {"email": "nobody@example.com"})
    assert response.url == reverse("accounts:email_sign_in_sent")
    assert mail.outbox == []


def test_sign_in_links_are_throttled_per_address(cast, client, settings):
    settings.SIGN_IN_LINK_REQUESTS_PER_EMAIL = 2
    for _ in range(4):
        response = client.post(reverse("accounts:email_sign_in"), {"email": cast.alice.email})
        assert response.url == reverse("accounts:email_sign_in_sent")
    assert len(mail.outbox) == 2


def test_a_forged_or_expired_link_is_refused(cast, client, settings):
    client.post(reverse("accounts:email_sign_in"), {"email": cast.alice.email})
    path = sign_in_link_path()
    assert client.get(path[:-3] + "xx/").status_code == 410
    settings.SIGN_IN_LINK_MINUTES = -1
    assert client.post(path).status_code == 410
    assert "_auth_user_id" not in client.session
