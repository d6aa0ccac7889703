import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from tests.conftest import make_user
from tests.invites.conftest import invite_post

URL = reverse("invites:patients")


@pytest.fixture
def joined(clinics):
    ada = make_user("ada.lovelace@example.com", User.Role.PATIENT)
    bob = make_user("bob.builder@example.com", User.Role.PATIENT)
    ClinicPatient.objects.create(clinic=clinics.a, provider=clinics.prov_alice, user=ada)
    ClinicPatient.objects.create(clinic=clinics.b, provider=clinics.prov_carol, user=bob)
    return ada, bob


def test_it_searches_the_clinics_joined_patients(admin_in_a, joined, django_assert_max_num_queries):
    with django_assert_max_num_queries(22):
        html = admin_in_a.get(URL).content.decode()
    assert "Patients who joined" in html and "ada.lovelace@example.com" in html
    assert "bob.builder@example.com" not in html  # clinic B's patient
    assert "ada.lovelace" in admin_in_a.get(URL, {"pq": "lovelace"}).content.decode()
    assert "No patients match" in admin_in_a.get(URL, {"pq": "nobody"}).content.decode()
    assert "Invited Patients" in html


@pytest.mark.parametrize("who", ["mallory", "phil", "bob"])
def test_it_404s_for_users_without_a_clinic(client_for, cast, joined, who):
    assert client_for(getattr(cast, who)).get(URL).status_code == 404


def test_another_clinics_admin_never_sees_these_patients(client_for, clinics, joined):
    html = client_for(clinics.oscar).get(URL).content.decode()
    assert "ada.lovelace" not in html and "bob.builder" not in html


def test_the_confirmation_marks_patients_already_invited(admin_in_a):
    admin_in_a.post(
        reverse("invites:invite"), invite_post([("Ada", "Lovelace", "ada@example.com", "")])
    )
    html = admin_in_a.post(
        reverse("invites:invite"),
        invite_post(
            [("Ada", "Lovelace", "ada@example.com", ""), ("New", "Person", "new@example.com", "")],
            action="review",
        ),
    ).content.decode()
    assert html.count("Already invited or joined: nothing new will be sent") == 1


def test_seed_clinics_is_idempotent(db):
    call_command("seed_clinics")
    call_command("seed_clinics")
    admin = User.objects.get(email="clinicadmin@demo.test")
    assert Clinic.objects.visible_to(admin).count() == 2
    assert ClinicMembership.objects.filter(role="provider").count() == 4
