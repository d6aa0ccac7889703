"""Account: profile, email with re-confirmation, password, optional two-step verification,
email consent with its history, notification choices, signed-in sessions."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.decorators import SUDO_KEY
from patient_portal.models import ConsentChange, PatientPreferences, SignedInSession
from patient_portal.services import email_change_token
from tests.conftest import PASSWORD


@pytest.fixture
def peter(client, family):
    client.force_login(family.peter)
    return client


def sudo(client) -> None:
    session = client.session
    session[SUDO_KEY] = time.time()
    session.save()


def test_the_account_page_opens_for_a_proxy_too(client, family):
    client.force_login(family.grace)
    assert client.get(reverse("patient_portal:account")).status_code == 200


def test_profile_saves_and_refuses_bad_input(peter, family):
    ok = peter.post(
        reverse("patient_portal:account_profile"),
        {"first_name": "Peter", "last_name": "Pan", "phone": "4155550100"},
    )
    assert ok.status_code == 302
    family.peter.refresh_from_db()
    assert family.peter.phone == "4155550100"
    for data, message in (
        ({"first_name": "x" * 101, "last_name": "Pan"}, "at most 100 characters"),
        ({"first_name": "", "last_name": "Pan"}, "Enter the first name"),
        ({"first_name": "Peter", "last_name": "Pan", "phone": "call me"}, "digits only"),
        ({"first_name": "Pe\u0085ter", "last_name": "Pan"}, None),
    ):
        response = peter.post(reverse("patient_portal:account_profile"), data)
        assert response.status_code == 400
        if message:
            assert message in response.content.decode()


def test_email_change_waits_for_the_link_to_the_new_address(peter, family):
    sudo(peter)
    response = peter.post(
        reverse("patient_portal:account_email"),
        {"email": "peter.new@example.com", "current_password": PASSWORD},
    )
    assert response.status_code == 302
    family.peter.refresh_from_db()
    assert family.peter.email == "peter.pan@example.com"
    assert mail.outbox[-1].to == ["peter.new@example.com"]
    link = next(w for w in mail.outbox[-1].body.split() if "/confirm/" in w)
    path = link.split("portal.example.test", 1)[1]
    assert peter.get(path).status_code == 200  # a button, nothing changed yet
    family.peter.refresh_from_db()
    assert family.peter.email == "peter.pan@example.com"
    assert peter.post(path).status_code == 302
    family.peter.refresh_from_db()
    assert family.peter.email == "peter.new@example.com"
    assert mail.outbox[-1].to == ["peter.pan@example.com"]  # the old address is told
    # The link works once: the address it started from is gone.
    peter.post(path)
    family.peter.refresh_from_db()
    assert family.peter.email == "peter.new@example.com"


def test_an_email_link_for_another_account_does_nothing(client, family):
    token = email_change_token(family.peter, "evil@example.com")
    client.force_login(family.mary)
    client.post(reverse("patient_portal:account_email_confirm", args=[token]))
    family.mary.refresh_from_db()
    assert family.mary.email == "mary.doe@example.com"


def test_email_change_asks_for_sudo_first(peter):
    response = peter.post(
        reverse("patient_portal:account_email"),
        {"email": "peter.new@example.com", "current_password": PASSWORD},
    )
    assert response.status_code == 302 and reverse("accounts:sudo") in response.url


def test_consent_is_recorded_with_its_date_and_history(peter, family):
    url = reverse("patient_portal:account_notifications")
    peter.post(url, {"email_consent": "on", "email_new_messages": "on"})
    prefs = PatientPreferences.objects.get(user=family.peter)
    assert prefs.email_consent and prefs.email_consent_at is not None
    assert prefs.email_new_messages and not prefs.sms_new_messages
    peter.post(url, {"email_new_messages": "on", "sms_new_documents": "on"})
    prefs.refresh_from_db()
    assert not prefs.email_consent and prefs.sms_new_documents
    assert list(
        ConsentChange.objects.filter(user=family.peter).values_list("consented", flat=True)
    ) == [False, True]
    html = peter.get(reverse("patient_portal:account")).content.decode()
    assert "Withdrawn on" in html


def test_sign_out_other_sessions(family):
    first, second = Client(), Client()
    for c in (first, second):
        c.force_login(family.peter)
        assert c.get(reverse("patient_portal:home")).status_code == 200
    assert SignedInSession.objects.filter(user=family.peter, ended_at=None).count() == 2
    other_key = second.session.session_key
    html = first.get(reverse("patient_portal:account")).content.decode()
    assert "This browser" in html
    assert first.post(reverse("patient_portal:account_sign_out")).status_code == 302
    assert not Session.objects.filter(session_key=other_key).exists()
    assert second.get(reverse("patient_portal:home")).status_code == 302  # to sign-in
    assert first.get(reverse("patient_portal:home")).status_code == 200
    assert SignedInSession.objects.filter(user=family.peter, ended_at=None).count() == 1


def test_two_step_verification_is_optional_then_asked(family):
    browser = Client()
    response = browser.post(
        reverse("accounts:login"), {"username": family.peter.email, "password": PASSWORD}
    )
    assert response.url == reverse("home")  # no second factor asked
    TOTPDevice.objects.create(user=family.peter, name="Authenticator", confirmed=True)
    browser = Client()
    response = browser.post(
        reverse("accounts:login"),
        {"username": family.peter.email, "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:mfa_verify")
    # Nothing else opens before the code.
    assert browser.get(reverse("patient_portal:home")).url == reverse("accounts:mfa")


def test_turning_two_step_off_needs_sudo(peter, family):
    TOTPDevice.objects.create(user=family.peter, name="Authenticator", confirmed=True)
    from tests.conftest import verify_otp

    verify_otp(peter, family.peter)
    response = peter.post(reverse("patient_portal:account_mfa_off"))
    assert reverse("accounts:sudo") in response.url
    assert TOTPDevice.objects.filter(user=family.peter).exists()
    sudo(peter)
    assert peter.post(reverse("patient_portal:account_mfa_off")).status_code == 302
    assert not TOTPDevice.objects.filter(user=family.peter).exists()
    # This session goes on.
    assert peter.get(reverse("patient_portal:account")).status_code == 200


def test_setting_up_two_step_uses_the_accounts_enrolment(peter):
    response = peter.post(reverse("patient_portal:account_mfa_setup"))
    assert response.url == reverse("accounts:mfa_setup")
    assert peter.get(response.url).status_code == 200
