import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from prescriptions.models import Prescriber
from prescriptions.npi import make_npi

GOOD_PASSWORD = "Blue-Kettle-2024!"


@pytest.fixture
def dana(db):
    """A directory prescriber who has not registered yet."""
    Prescriber.objects.create(
        npi=make_npi("100000009"),
        first_name="X",
        last_name="Y",
        city="Boston",
        zip_code="02114",
        phone="6175550111",
    )
    return Prescriber.objects.create(
        npi=make_npi("100000003"),
        first_name="Dana",
        last_name="Diaz",
        address_line1="5 Elm St",
        city="Pittsburgh",
        state="PA",
        zip_code="15213",
        phone="(412) 555-0177",
    )


def details(npi, **extra):
    return {
        "email": "dana.diaz@example.com",
        "first_name": "Dana",
        "last_name": "Diaz",
        "phone": "412-555-0100",
        "npi": npi,
        **extra,
    }


def answers(client):
    questions = client.session["registration"]["questions"]
    return {q["name"]: q["answer"] for q in questions}


def wrong_answers(client):
    questions = client.session["registration"]["questions"]
    out = {q["name"]: q["answer"] for q in questions}
    q = questions[0]
    out[q["name"]] = next(c for c in q["choices"] if c != q["answer"])
    return out


def start(client, dana):
    response = client.post(reverse("accounts:register"), details(dana.npi))
    assert response.url == reverse("accounts:register_verify")
    client.get(reverse("accounts:register_verify"))


def test_it_links_register_from_the_sign_in_page(db, client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("accounts:register")}"' in page


def test_it_registers_a_prescriber_end_to_end(client, dana):
    start(client, dana)
    page = client.get(reverse("accounts:register_verify")).content.decode()
    assert "15213" in page and "Pittsburgh" in page and "0177" in page
    response = client.post(reverse("accounts:register_verify"), answers(client))
    assert response.url == reverse("accounts:register_password")
    page = client.get(reverse("accounts:register_password")).content.decode()
    assert (
        "Password requirement: at least 10 characters - 1 each of lower case, upper case, number, symbol"
        in page
    )
    response = client.post(
        reverse("accounts:register_password"),
        {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.url == reverse("accounts:register_done")
    user = User.objects.get(email="dana.diaz@example.com")
    assert (
        user.prescriber == dana
        and user.role == User.Role.PRESCRIBER
        and user.check_password(GOOD_PASSWORD)
    )
    # The next stop is sign-in, then MFA enrolment.
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": GOOD_PASSWORD}
    )
    assert response.url == reverse("accounts:mfa")


def test_it_offers_three_questions_with_four_choices(client, dana):
    start(client, dana)
    questions = client.session["registration"]["questions"]
    assert {q["name"] for q in questions} == {"zip_code", "city", "phone_last4"}
    for q in questions:
        assert len(set(q["choices"])) == 4 and q["answer"] in q["choices"]


def test_it_keeps_the_decoys_across_attempts(client, dana):
    start(client, dana)
    first = {q["name"]: set(q["choices"]) for q in client.session["registration"]["questions"]}
    client.cookies.clear()
    start(client, dana)
    second = {q["name"]: set(q["choices"]) for q in client.session["registration"]["questions"]}
    assert first == second  # comparing two attempts does not reveal the answer


@pytest.mark.parametrize(
    ("npi", "message"),
    [
        ("wrong-check-digit", "check digit does not match"),
        ("12345", "An NPI is exactly 10 digits."),
        (make_npi("999999999"), "This NPI is not in our prescriber directory."),
    ],
)
def test_it_rejects_bad_npis_with_a_support_pop_up(client, dana, npi, message, settings):
    if npi == "wrong-check-digit":
        good = dana.npi
        npi = good[:9] + str((int(good[9]) + 1) % 10)
    response = client.post(reverse("accounts:register"), details(npi))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'id="registration-error-dialog"' in html and settings.SUPPORT_EMAIL in html
    assert 'value="dana.diaz@example.com"' in html  # what the user typed is kept


def without_csrf(response) -> str:
    """The page without its CSRF tokens (masked differently on every render)."""
    return re.sub(
        r'(csrftoken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode()
    )


def finish_registration(client, npi, **extra):
    """All three steps; returns the last response."""
    client.post(reverse("accounts:register"), details(npi, **extra))
    client.get(reverse("accounts:register_verify"))
    client.post(reverse("accounts:register_verify"), answers(client))
    return client.post(
        reverse("accounts:register_password"),
        {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )


def test_it_answers_the_same_for_an_npi_already_registered(cast, client):
    # It used to say "An account is already registered for this NPI." at the first step, to
    # anyone: now the steps go on, and the NPI's account owner is told by email instead.
    response = client.post(reverse("accounts:register"), details(cast.npi_alice.npi))
    assert "An account is already registered for this NPI." not in response.content.decode()
    assert response.url == reverse("accounts:register_verify")
    client.get(reverse("accounts:register_verify"))
    client.post(reverse("accounts:register_verify"), answers(client))
    response = client.post(
        reverse("accounts:register_password"),
        {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.url == reverse("accounts:register_done")
    assert User.objects.filter(prescriber=cast.npi_alice).get() == cast.alice
    assert not User.objects.filter(email="dana.diaz@example.com").exists()
    assert [m.to for m in mail.outbox] == [[cast.alice.email]]
    assert "already has an account" in mail.outbox[0].body


@pytest.mark.parametrize("taken", ["email", "npi"])
def test_the_last_step_does_the_same_work_for_new_and_taken_accounts(
    cast, client, dana, monkeypatch, taken
):
    """Same status, same page, one password hash and one email either way (the answer took
    6-14 ms for a taken email and 200-260 ms for a new one: no hash was computed)."""
    from django.test import Client

    from accounts import services

    hashes = []
    real = services.make_password
    monkeypatch.setattr(services, "make_password", lambda p: hashes.append(p) or real(p))

    new = finish_registration(client, dana.npi)
    other = Client()
    if taken == "email":
        again = finish_registration(other, make_npi("100000009"), email=cast.carol.email)
    else:
        again = finish_registration(other, cast.npi_alice.npi, email="someone.new@example.com")
    assert (new.status_code, new.url) == (again.status_code, again.url)
    assert without_csrf(client.get(new.url)) == without_csrf(other.get(again.url))
    assert hashes == [GOOD_PASSWORD, GOOD_PASSWORD]
    assert len(mail.outbox) == 2


def test_it_fails_wrong_answers_without_saying_which(client, dana):
    start(client, dana)
    response = client.post(reverse("accounts:register_verify"), wrong_answers(client))
    html = response.content.decode()
    assert "Your answers do not match our records." in html
    assert 'id="registration-error-dialog"' in html
    for name in ("ZIP", "city", "phone"):
        assert f"{name} is wrong" not in html
    assert not client.session["registration"]["verified"]
    assert client.get(reverse("accounts:register_password")).url == reverse("accounts:register")


def test_it_limits_attempts_per_npi(client, dana, settings):
    settings.REGISTRATION_VERIFY_MAX_ATTEMPTS = 3
    start(client, dana)
    for _ in range(2):
        client.post(reverse("accounts:register_verify"), wrong_answers(client))
    response = client.post(reverse("accounts:register_verify"), wrong_answers(client))
    assert response.status_code == 429
    assert "number of attempts is used up" in response.content.decode()
    # A fresh session does not get new questions for this NPI.
    client.cookies.clear()
    client.post(reverse("accounts:register"), details(dana.npi))
    response = client.get(reverse("accounts:register_verify"))
    assert response.status_code == 429
    assert "questions" not in client.session["registration"]


def test_it_limits_attempts_per_client(client, dana, db, settings):
    settings.REGISTRATION_VERIFY_MAX_ATTEMPTS_PER_CLIENT = 2
    other = Prescriber.objects.create(
        npi=make_npi("100000004"),
        first_name="Eve",
        last_name="E",
        city="Austin",
        zip_code="73301",
        phone="5125550100",
    )
    start(client, dana)
    client.post(reverse("accounts:register_verify"), wrong_answers(client))
    client.cookies.clear()
    client.post(reverse("accounts:register"), details(other.npi, email="eve@example.com"))
    client.get(reverse("accounts:register_verify"))
    response = client.post(reverse("accounts:register_verify"), wrong_answers(client))
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("p1", "p2", "message"),
    [
        ("short1!A", "short1!A", "at least 10 characters"),
        ("alllowercase1!", "alllowercase1!", "an upper-case letter"),
        ("Password1234", "Password1234", "too common"),
        (GOOD_PASSWORD, GOOD_PASSWORD + "x", "The two passwords do not match."),
    ],
)
def test_it_rejects_weak_or_mismatched_passwords(client, dana, p1, p2, message):
    start(client, dana)
    client.post(reverse("accounts:register_verify"), answers(client))
    response = client.post(
        reverse("accounts:register_password"), {"password1": p1, "password2": p2}
    )
    html = response.content.decode()
    assert message in html
    assert 'id="registration-error-dialog"' in html
    assert not User.objects.filter(email="dana.diaz@example.com").exists()


def test_it_answers_the_same_for_a_registered_email(cast, client, dana):
    response = client.post(reverse("accounts:register"), details(dana.npi, email=cast.carol.email))
    assert response.url == reverse("accounts:register_verify")
    client.get(reverse("accounts:register_verify"))
    client.post(reverse("accounts:register_verify"), answers(client))
    response = client.post(
        reverse("accounts:register_password"),
        {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.url == reverse("accounts:register_done")
    # No second account and no takeover: carol's account is untouched, she gets a notice.
    carol = User.objects.get(email=cast.carol.email)
    assert not carol.check_password(GOOD_PASSWORD)
    assert not User.objects.filter(prescriber=dana).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [cast.carol.email]
    assert "already has an account" in mail.outbox[0].body


def test_it_skips_steps_only_in_order(client, dana):
    assert client.get(reverse("accounts:register_verify")).url == reverse("accounts:register")
    assert client.get(reverse("accounts:register_password")).url == reverse("accounts:register")
