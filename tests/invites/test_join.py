import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from invites import services
from invites.models import ClinicPatient, Invite
from tests.conftest import PASSWORD

CODE_URL = reverse("invites:join_code")
ACCOUNT_URL = reverse("invites:join_account")
DONE_URL = reverse("invites:join_done")
GOOD_PASSWORD = "Blue-Harbor-Lamp-73"


@pytest.fixture
def invite(clinics):
    return services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "mobile": ""}
        ],
    )[0]


def without_csrf(response) -> str:
    """The page without its CSRF tokens (masked differently on every render)."""
    return re.sub(
        r'(csrftoken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode()
    )


def join(client, code, last_name="Lovelace", **extra):
    return client.post(CODE_URL, {"code": code, "last_name": last_name, **extra})


def create_account(client, email="ada@example.com", password=GOOD_PASSWORD):
    return client.post(ACCOUNT_URL, {"email": email, "password1": password, "password2": password})


def test_a_patient_joins_with_code_and_last_name(client, invite, clinics):
    response = join(client, invite.code, "  lovelace ")
    assert response.status_code == 302 and response.url == ACCOUNT_URL
    page = client.get(ACCOUNT_URL).content.decode()
    assert "Riverside Family Clinic" in page and "Create your account" in page
    response = create_account(client)
    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    assert user.role == User.Role.PATIENT and user.first_name == "Ada"
    link = ClinicPatient.objects.get(user=user)
    assert link.clinic == clinics.a and link.provider == clinics.prov_alice
    invite.refresh_from_db()
    assert invite.status == Invite.Status.ACCEPTED and invite.accepted_at is not None
    # The patient signs in next (the answer must not differ for an email that had an account).
    assert response.url == DONE_URL
    page = client.get(DONE_URL).content.decode()
    login_url = re.search(r'href="(/accounts/login/\?next=[^"]+)"', page).group(1)
    response = client.post(
        html.unescape(login_url), {"username": "ada@example.com", "password": GOOD_PASSWORD}
    )
    assert "You have joined Riverside Family Clinic" in client.get(response.url).content.decode()


def test_a_patient_joins_by_the_link_in_the_message(client, invite):
    from django.core import mail

    services.deliver_invite(invite)
    link = next(
        line
        for line in mail.outbox[0].body.splitlines()
        if "/clinic/join/" in line and "Join here" in line
    )
    path = link.split("portal.example.test", 1)[1]
    response = client.get(path)
    assert response.status_code == 302 and response.url == ACCOUNT_URL
    create_account(client)
    invite.refresh_from_db()
    assert invite.status == Invite.Status.ACCEPTED
    # The link works once.
    assert client.get(path).status_code == 404


def test_it_enforces_the_password_policy(client, invite):
    join(client, invite.code)
    html = create_account(client, password="password1").content.decode()
    assert "This password is too common" in html or "too short" in html
    assert not User.objects.filter(email="ada@example.com").exists()


def test_a_code_needs_the_date_of_birth_when_the_invite_has_one(client, invite):
    Invite.objects.filter(pk=invite.pk).update(date_of_birth=dt.date(1990, 12, 10))
    assert join(client, invite.code, "", date_of_birth="1990-12-11").status_code == 200
    assert join(client, invite.code, "", date_of_birth="1990-12-10").status_code == 302


@pytest.mark.parametrize("state", ["wrong", "expired", "removed", "accepted"])
def test_wrong_expired_and_removed_codes_get_the_same_message(client, invite, state):
    code = invite.code
    if state == "wrong":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif state == "expired":
        Invite.objects.filter(pk=invite.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif state == "removed":
        invite.remove()
    else:
        Invite.objects.filter(pk=invite.pk).update(status="accepted")
    html = join(client, code).content.decode()
    assert "does not match an active invitation" in html
    assert client.session.get("invites_join_invite_id") is None


def test_five_wrong_names_retire_the_invite(client, invite):
    for _ in range(5):
        assert join(client, invite.code, "Byron").status_code == 200
    invite.refresh_from_db()
    assert invite.status == Invite.Status.EXPIRED and invite.failed_attempts == 5
    html = join(client, invite.code, "Lovelace").content.decode()
    assert "does not match an active invitation" in html


def test_code_entry_is_throttled_per_client(client, invite, settings):
    for i in range(services.CODE_ATTEMPTS_PER_IP):
        join(client, f"{i:06d}", "Nobody")
    response = join(client, invite.code)  # even the right code is refused now
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    # Another client still gets through.
    other = client.__class__(REMOTE_ADDR="10.9.9.9")
    assert join(other, invite.code).status_code == 302


def test_code_entry_is_throttled_globally(client, invite, monkeypatch):
    monkeypatch.setattr(services, "CODE_ATTEMPTS_GLOBAL", 3)
    for i in range(3):
        client.__class__(REMOTE_ADDR=f"10.0.0.{i}").post(
            CODE_URL, {"code": "000000", "last_name": "X"}
        )
    # Past the global limit, wrong guesses are refused from any client ...
    response = client.__class__(REMOTE_ADDR="10.0.1.2").post(
        CODE_URL, {"code": "000001", "last_name": "X"}
    )
    assert response.status_code == 429
    # ... but a real patient with the right code and name still gets in (it used to get 429).
    response = client.__class__(REMOTE_ADDR="10.0.1.1").post(
        CODE_URL, {"code": invite.code, "last_name": "Lovelace"}
    )
    assert response.status_code == 302 and response.url == ACCOUNT_URL


def test_rotating_forwarded_headers_buys_no_guesses(client, invite, settings):
    settings.TRUSTED_PROXIES = []
    for i in range(services.CODE_ATTEMPTS_PER_IP):
        join(client, f"{i:06d}", "Nobody", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = join(client, invite.code, HTTP_X_FORWARDED_FOR="203.0.113.250")
    assert response.status_code == 429


def test_behind_the_proxy_the_limit_is_per_real_client(invite, settings):
    from django.test import Client

    settings.TRUSTED_PROXIES = ["172.30.0.10"]
    proxy = Client(REMOTE_ADDR="172.30.0.10")
    for i in range(services.CODE_ATTEMPTS_PER_IP):
        proxy.post(
            CODE_URL,
            {"code": f"{i:06d}", "last_name": "Nobody"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.7",
        )
    spoofed = proxy.post(
        CODE_URL,
        {"code": invite.code, "last_name": "Lovelace"},
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.7",
    )
    assert spoofed.status_code == 429
    # A patient behind the same proxy, from another address, is not affected.
    other = Client(REMOTE_ADDR="172.30.0.10")
    response = other.post(
        CODE_URL, {"code": invite.code, "last_name": "Lovelace"}, HTTP_X_FORWARDED_FOR="192.0.2.5"
    )
    assert response.status_code == 302


def test_right_codes_do_not_count_against_a_shared_address(client, clinics, monkeypatch):
    """A clinic's front-desk tablet: many patients join from one address."""
    monkeypatch.setattr(services, "CODE_ATTEMPTS_PER_IP", 2)
    invites = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": f"P{i}", "last_name": "Lovelace", "email": "", "mobile": ""}
            for i in range(4)
        ],
    )
    for invite in invites:
        assert join(client, invite.code).status_code == 302


def test_the_account_page_needs_a_found_invite(client, db):
    assert client.get(ACCOUNT_URL).url == CODE_URL


def test_it_refuses_an_email_that_already_has_an_account(client, invite, cast):
    join(client, invite.code)
    response = create_account(client, email=cast.alice.email)
    # It used to say "An account with this email already exists" to anyone with an invite.
    assert "already exists" not in client.get(response.url).content.decode()
    invite.refresh_from_db()
    assert invite.status == Invite.Status.PENDING
    cast.alice.refresh_from_db()
    assert not cast.alice.check_password(GOOD_PASSWORD)  # nothing of hers changed


def test_a_taken_email_gets_the_same_answer_and_its_owner_an_email(client, clinics, cast):
    """Same status, page and work (one password hash, one email) for a new and a taken
    address; the owner's email carries no patient data."""
    from django.core import mail
    from django.test import Client

    ada, eve = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": "Ada", "last_name": "Lovelace", "email": "", "mobile": ""},
            {"first_name": "Eve", "last_name": "Byron", "email": "", "mobile": ""},
        ],
    )
    join(client, ada.code)
    new = create_account(client, email="ada@example.com")
    other = Client()
    join(other, eve.code, "Byron")
    taken = create_account(other, email=cast.alice.email.upper())
    assert (new.status_code, new.url) == (taken.status_code, taken.url) == (302, DONE_URL)
    assert without_csrf(client.get(DONE_URL)) == without_csrf(other.get(DONE_URL))
    assert "_auth_user_id" not in client.session and "_auth_user_id" not in other.session
    assert [m.to for m in mail.outbox] == [["ada@example.com"], [cast.alice.email]]
    notice = mail.outbox[1].body
    assert "already has an account" in notice
    for phi in ("Riverside", "Eve", "Byron", "Lovelace"):
        assert phi not in notice
    assert User.objects.filter(email__iexact=cast.alice.email).count() == 1


def test_the_join_form_hashes_the_password_either_way(client, invite, cast, monkeypatch):
    from django.contrib.auth import hashers

    hashed = []
    real = hashers.make_password
    monkeypatch.setattr(hashers, "make_password", lambda p: hashed.append(p) or real(p))
    join(client, invite.code)
    create_account(client, email=cast.alice.email)
    assert hashed == [GOOD_PASSWORD]


def test_codes_are_six_digits_and_unique_among_live_invites(clinics):
    created = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": f"P{i}", "last_name": "Q", "email": "", "mobile": ""} for i in range(500)
        ],
    )
    codes = [i.code for i in created]
    assert len(set(codes)) == 500 and all(len(c) == 6 and c.isdigit() for c in codes)


def test_the_joined_page_404s_for_other_users(client_for, cast, invite, clinics):
    assert (
        client_for(cast.mallory).get(reverse("invites:joined", args=[clinics.a.pk])).status_code
        == 404
    )


# A patient who already has an account (another clinic invited them before) -----------------


@pytest.fixture
def second_invite(clinics):
    """Ada joined Riverside; now Lakeside Dermatology invites her too."""
    first = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "mobile": ""}
        ],
    )[0]
    ada = User.objects.create_user(
        "ada@example.com",
        GOOD_PASSWORD,
        first_name="Ada",
        last_name="Lovelace",
        role=User.Role.PATIENT,
    )
    services.accept_invite(invite=first, user=ada)
    return services.create_invites(
        clinic=clinics.b,
        provider=clinics.prov_carol,
        invited_by=clinics.cadmin,
        patients=[
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "mobile": ""}
        ],
    )[0]


def sign_in_to_join(client, email="ada@example.com", password=GOOD_PASSWORD):
    return client.post(
        ACCOUNT_URL, {"action": "sign_in", "login_email": email, "login_password": password}
    )


def test_a_patient_with_an_account_signs_in_to_join_another_clinic(client, second_invite, clinics):
    join(client, second_invite.code)
    page = client.get(ACCOUNT_URL).content.decode()
    assert "Already have a portal account?" in page
    response = sign_in_to_join(client, email="ADA@example.com")
    assert response.status_code == 302
    ada = User.objects.get(email="ada@example.com")
    assert set(ClinicPatient.objects.filter(user=ada).values_list("clinic__name", flat=True)) == {
        "Riverside Family Clinic",
        "Lakeside Dermatology",
    }
    second_invite.refresh_from_db()
    assert second_invite.status == Invite.Status.ACCEPTED
    assert "You have joined Lakeside Dermatology" in client.get(response.url).content.decode()
    assert User.objects.filter(email="ada@example.com").count() == 1


def test_a_wrong_password_joins_nothing_and_keeps_the_page(client, second_invite):
    join(client, second_invite.code)
    response = sign_in_to_join(client, password="wrong-password-1")
    assert response.status_code == 200
    assert "do not match a patient account" in response.content.decode()
    second_invite.refresh_from_db()
    assert second_invite.status != Invite.Status.ACCEPTED
    assert "_auth_user_id" not in client.session


def test_only_the_invited_patient_can_sign_in_to_join(client, second_invite, cast):
    User.objects.create_user(
        "eve@example.com",
        GOOD_PASSWORD,
        first_name="Eve",
        last_name="Other",
        role=User.Role.PATIENT,
    )
    join(client, second_invite.code)
    assert (
        "sent to someone else" in sign_in_to_join(client, email="eve@example.com").content.decode()
    )
    # Staff accounts are not patient accounts, whatever their password.
    staff = sign_in_to_join(client, email=cast.alice.email, password=PASSWORD)
    assert "do not match a patient account" in staff.content.decode()
    second_invite.refresh_from_db()
    assert second_invite.status != Invite.Status.ACCEPTED
