"""Who is a duplicate: the same person (name, and email or date of birth when known).

A phone number is not an identity: a parent and child, or a couple, may share one.
"""

import datetime as dt

from django.urls import reverse

from invites.models import Invite
from invites.validation import PatientIndex
from tests.invites.conftest import invite_post
from tests.invites.test_csv_import import HEADER, upload

URL = reverse("invites:invite")
PHONE = "2155550123"


def test_it_invites_two_patients_sharing_a_phone_from_the_form(admin_in_a, clinics, outboxes):
    response = admin_in_a.post(
        URL, invite_post([("Maria", "Lopez", "", PHONE), ("Sofia", "Lopez", "", PHONE)])
    )
    assert response.status_code == 302
    assert sorted(Invite.objects.values_list("first_name", flat=True)) == ["Maria", "Sofia"]
    assert [m["to"] for m in outboxes] == [PHONE, PHONE]


def test_it_invites_a_second_patient_on_a_phone_already_invited(admin_in_a, clinics):
    admin_in_a.post(URL, invite_post([("Maria", "Lopez", "maria@example.com", PHONE)]))
    admin_in_a.post(URL, invite_post([("Ben", "Okafor", "", PHONE)]))
    assert Invite.objects.count() == 2


def test_the_review_step_does_not_flag_a_shared_phone(admin_in_a, clinics):
    admin_in_a.post(URL, invite_post([("Maria", "Lopez", "", PHONE)]))
    html = admin_in_a.post(URL, invite_post([("Sofia", "Lopez", "", PHONE)], action="review"))
    assert "Already invited or joined" not in html.content.decode()


def test_it_invites_csv_rows_sharing_a_phone(admin_in_a, clinics):
    response = upload(
        admin_in_a,
        f"{HEADER}\nMaria,Lopez,,{PHONE}\nSofia,Lopez,,{PHONE}\nAda,Lovelace,,{PHONE}\n",
    )
    html = response.content.decode()
    assert "3 patients invited, 0 skipped" in html
    assert "Same patient as row" not in html
    assert Invite.objects.count() == 3


def test_it_invites_namesakes_with_different_emails(admin_in_a, clinics):
    response = upload(
        admin_in_a,
        f"{HEADER}\nJohn,Smith,john.a@example.com,\nJohn,Smith,john.b@example.com,\n",
    )
    assert "2 patients invited, 0 skipped" in response.content.decode()


def test_it_still_skips_the_same_person_on_a_shared_phone(admin_in_a, clinics):
    response = upload(admin_in_a, f"{HEADER}\nMaria,Lopez,,{PHONE}\n maria , LOPEZ ,,{PHONE}\n")
    html = response.content.decode()
    assert "1 patient invited, 1 skipped as duplicate" in html
    assert "Same patient as row 2." in html


def test_the_date_of_birth_tells_namesakes_apart_when_known():
    index = PatientIndex()
    index.add("a", first="John", last="Smith", date_of_birth=dt.date(1980, 1, 1))
    assert index.find(first="john", last="smith", date_of_birth=dt.date(2010, 5, 5)) is None
    assert index.find(first="John", last="Smith", date_of_birth=dt.date(1980, 1, 1)) == "a"
    # Unknown on one side: the name decides.
    assert index.find(first="John", last="Smith") == "a"


def test_an_email_known_on_both_sides_decides_over_the_phone():
    index = PatientIndex()
    index.add("a", first="Ann", last="Lee", email="ann@example.com", mobile=PHONE)
    assert index.find(first="Ann", last="Lee", email="ANN@example.com", mobile="2155550999") == "a"
    assert index.find(first="Ann", last="Lee", email="other@example.com", mobile=PHONE) is None
    assert index.find(first="Anna", last="Lee", email="ann@example.com", mobile=PHONE) is None
