import base64
import re
import time

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.conftest import PASSWORD


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():06d}"


def password_sign_in(client, user, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": user.email, "password": password})


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)


def test_it_sends_a_new_user_to_enrolment_after_the_password(cast, client):
    response = password_sign_in(client, cast.alice)
    assert response.status_code == 302
    assert response.url == reverse("accounts:mfa")
    assert client.get(reverse("accounts:mfa")).url == reverse("accounts:mfa_setup")


def test_it_blocks_every_other_page_before_the_second_factor(cast, client):
    password_sign_in(client, cast.alice)
    response = client.get(reverse("prescriptions:dashboard"))
    assert response.status_code == 302 and response.url == reverse("accounts:mfa")
    assert client.get(reverse("accounts:administration")).url == reverse("accounts:mfa")
    assert client.get("/ops/").url == reverse("accounts:mfa")


def test_it_sends_htmx_requests_an_hx_redirect(cast, client):
    password_sign_in(client, cast.alice)
    response = client.get(reverse("prescriptions:dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("accounts:mfa")


def test_it_shows_a_qr_code_and_the_secret_and_confirms_with_a_code(cast, client):
    password_sign_in(client, cast.alice)
    response = client.get(reverse("accounts:mfa_setup"))
    html = response.content.decode()
    assert "<svg" in html and "data-totp-secret" in html
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", html).group(1)
    device = TOTPDevice.objects.get(user=cast.alice)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    assert not device.confirmed

    response = client.post(reverse("accounts:mfa_setup"), {"code": code_for(device)})
    assert response.url == reverse("accounts:recovery_codes")
    device.refresh_from_db()
    assert device.confirmed
    page = client.get(reverse("accounts:recovery_codes")).content.decode()
    static = StaticDevice.objects.get(user=cast.alice)
    codes = list(static.token_set.values_list("token", flat=True))
    assert len(codes) == 10 and all(code in page for code in codes)
    download = client.get(reverse("accounts:recovery_codes_download"))
    assert download["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert codes[0] in download.content.decode()
    # Continue: the codes are gone from the session and the dashboard opens.
    # After sign-in everyone goes "home", which sends a prescriber on to the dashboard.
    assert client.post(reverse("accounts:recovery_codes")).url == reverse("home")
    assert client.get(reverse("home")).url == reverse("prescriptions:dashboard")
    assert client.get(reverse("accounts:recovery_codes")).status_code == 302
    assert client.get(reverse("prescriptions:dashboard")).status_code == 200


def test_it_rejects_a_wrong_enrolment_code(cast, client):
    password_sign_in(client, cast.alice)
    client.get(reverse("accounts:mfa_setup"))
    response = client.post(reverse("accounts:mfa_setup"), {"code": "000000"})
    assert "That code is not correct" in response.content.decode()
    assert not TOTPDevice.objects.get(user=cast.alice).confirmed


def test_it_asks_an_enrolled_user_for_a_code(cast, client):
    device = enrolled(cast.alice)
    password_sign_in(client, cast.alice)
    assert client.get(reverse("accounts:mfa")).url == reverse("accounts:mfa_verify")
    page = client.get(reverse("accounts:mfa_verify")).content.decode()
    assert "Enter your authentication code" in page
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert response.url == reverse("home")
    assert client.get(reverse("home")).url == reverse("prescriptions:dashboard")
    assert client.get(reverse("prescriptions:dashboard")).status_code == 200


def test_it_keeps_next_through_the_second_factor(cast, client):
    device = enrolled(cast.alice)
    client.post(
        reverse("accounts:login") + "?next=/accounts/profile/",
        {"username": cast.alice.email, "password": PASSWORD, "next": "/accounts/profile/"},
    )
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert response.url == "/accounts/profile/"


def test_it_rejects_a_wrong_code(cast, client, no_otp_throttle):
    enrolled(cast.alice)
    password_sign_in(client, cast.alice)
    response = client.post(reverse("accounts:mfa_verify"), {"code": "123456"})
    assert response.status_code == 200
    assert "That code is not correct" in response.content.decode()
    assert client.get(reverse("prescriptions:dashboard")).status_code == 302
    assert AuditEvent.objects.filter(
        action="login_failed", user=cast.alice, description__startswith="MFA: wrong code"
    ).exists()


def test_it_refuses_a_replayed_code(cast, client, no_otp_throttle):
    device = enrolled(cast.alice)
    code = code_for(device)
    password_sign_in(client, cast.alice)
    assert client.post(reverse("accounts:mfa_verify"), {"code": code}).status_code == 302
    client.post(reverse("accounts:sign_out"))
    password_sign_in(client, cast.alice)
    response = client.post(reverse("accounts:mfa_verify"), {"code": code})
    assert response.status_code == 200
    assert "That code is not correct" in response.content.decode()
    # The next time step still works (the app's next code).
    assert (
        client.post(reverse("accounts:mfa_verify"), {"code": code_for(device, 1)}).status_code
        == 302
    )


def test_it_throttles_codes_after_a_failure(cast, client):
    device = enrolled(cast.alice)
    password_sign_in(client, cast.alice)
    client.post(reverse("accounts:mfa_verify"), {"code": "123456"})
    # Even the right code is refused while django-otp's delay runs.
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device)})
    assert "Too many wrong codes" in response.content.decode()


def test_it_signs_out_and_locks_after_repeated_wrong_codes(cast, client, no_otp_throttle, settings):
    settings.MFA_FAILURE_LIMIT = 3
    enrolled(cast.alice)
    password_sign_in(client, cast.alice)
    for _ in range(2):
        client.post(reverse("accounts:mfa_verify"), {"code": "123456"})
    response = client.post(reverse("accounts:mfa_verify"), {"code": "123456"})
    assert response.status_code == 403
    assert "Too many attempts" in response.content.decode()
    assert AuditEvent.objects.filter(action="locked_out", description__startswith="MFA").exists()
    assert client.get(reverse("prescriptions:dashboard")).url.startswith(reverse("accounts:login"))


def test_it_accepts_a_recovery_code_only_once(cast, client, no_otp_throttle):
    enrolled(cast.alice)
    static = StaticDevice.objects.create(user=cast.alice, name="Recovery codes", confirmed=True)
    static.token_set.create(token="abcd2345")
    static.token_set.create(token="efgh6789")
    password_sign_in(client, cast.alice)
    assert client.post(reverse("accounts:mfa_verify"), {"code": "abcd 2345"}).status_code == 302
    assert static.token_set.count() == 1
    client.post(reverse("accounts:sign_out"))
    password_sign_in(client, cast.alice)
    response = client.post(reverse("accounts:mfa_verify"), {"code": "abcd2345"})
    assert response.status_code == 200
    assert "That code is not correct" in response.content.decode()


def test_it_lets_sign_out_and_static_files_through_before_mfa(cast, client):
    password_sign_in(client, cast.alice)
    assert client.get(reverse("accounts:sign_out")).status_code == 200
    assert client.post(reverse("accounts:keep_alive")).status_code == 204


def test_it_does_not_require_mfa_of_patients(cast, client):
    from tests.conftest import make_user

    patient = make_user("pat.ient@example.com", "patient")
    client.force_login(patient)
    # Whatever the page answers, it is not the MFA redirect.
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
