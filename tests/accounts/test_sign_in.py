from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import PASSWORD


def post_login(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_it_locks_out_after_repeated_failed_sign_ins(cast, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = post_login(client, cast.alice.email, "wrong-password")
        assert "The email or password is not correct." in response.content.decode()
    response = post_login(client, cast.alice.email, "wrong-password")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # Even the right password is refused while locked.
    response = post_login(client, cast.alice.email, PASSWORD)
    assert response.status_code == 429
    assert AuditEvent.objects.filter(
        action="locked_out", description__startswith="Sign-in locked"
    ).exists()


def test_a_successful_sign_in_goes_to_the_second_factor(cast, client):
    response = post_login(client, cast.alice.email, PASSWORD)
    assert response.url == reverse("accounts:mfa")


def test_it_audits_failed_passwords_and_sign_outs(cast, client, client_for):
    post_login(client, cast.alice.email, "wrong-password")
    assert AuditEvent.objects.filter(
        action="login_failed", description__contains=cast.alice.email
    ).exists()
    signed_in = client_for(cast.alice)
    signed_in.post(reverse("accounts:sign_out"))
    assert AuditEvent.objects.filter(action="logout", user=cast.alice).exists()
