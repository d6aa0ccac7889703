import pytest
from django.core import mail
from django.urls import reverse

from invites.models import ClinicPatient, Invite
from tests.invites.conftest import invite_post

URL = reverse("invites:invite")


def test_it_shows_the_invite_page_with_clinic_and_provider_pickers(admin_in_a, clinics):
    response = admin_in_a.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select Clinic" in html and "Providers" in html
    assert "Riverside Family Clinic" in html and "Lakeside Dermatology" in html
    assert "+ Invite Another Patient" in html and "Invite Patient(s)" in html
    assert "Click here to download CSV Template" in html


def test_it_hides_the_clinic_selector_for_one_clinic(client_for, clinics):
    html = client_for(clinics.oscar).get(URL).content.decode()
    assert "Select Clinic" not in html
    assert "Providers" in html  # a clinic admin still picks the provider


def test_it_lets_a_provider_invite_for_themselves(client_for, cast, clinics):
    client = client_for(cast.alice)
    html = client.get(URL).content.decode()
    assert "Providers" not in html and "Alice Adams" in html
    response = client.post(URL, invite_post([("Pat", "One", "pat1@example.com", "")]))
    assert response.status_code == 302
    assert Invite.objects.get().provider == clinics.prov_alice


@pytest.mark.parametrize("user", ["mallory", "phil", "bob"])
def test_it_404s_for_users_without_a_clinic(client_for, cast, clinics, user):
    assert client_for(getattr(cast, user)).get(URL).status_code == 404


def test_it_asks_for_confirmation_naming_provider_clinic_and_patients(admin_in_a):
    response = admin_in_a.post(
        URL,
        invite_post(
            [("Ada", "Lovelace", "ada@example.com", ""), ("Alan", "Turing", "", "2155550123")],
            action="review",
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Confirm and Invite" in html and "<dialog" in html
    assert "Alice Adams" in html and "Riverside Family Clinic" in html
    assert "Ada Lovelace" in html and "Alan Turing" in html
    assert not Invite.objects.exists()


def test_it_invites_two_patients_and_shows_invitations_sent(admin_in_a, clinics, outboxes):
    response = admin_in_a.post(
        URL,
        invite_post(
            [("Ada", "Lovelace", "ada@example.com", ""), ("Alan", "Turing", "", "2155550123")]
        ),
    )
    assert response.status_code == 302 and response.url == reverse("invites:sent")
    invites = Invite.objects.order_by("last_name")
    assert [i.full_name for i in invites] == ["Ada Lovelace", "Alan Turing"]
    for inv in invites:
        assert len(inv.code) == 6 and inv.code.isdigit()
        assert inv.clinic == clinics.a and inv.provider == clinics.prov_alice
        assert inv.status == Invite.Status.PENDING and inv.sent_at is not None
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Riverside Family Clinic" in body and invites[0].code in body and "/clinic/join/" in body
    assert outboxes[0]["to"] == "2155550123" and invites[1].code in outboxes[0]["body"]
    sent = admin_in_a.get(response.url).content.decode()
    assert "Invitations Sent" in sent and "OK" in sent and "sent successfully" in sent


def test_it_validates_each_row_and_keeps_what_was_typed(admin_in_a):
    response = admin_in_a.post(
        URL,
        invite_post(
            [("", "Lovelace", "not-an-email", "(215) 555-0123"), ("Alan", "", "", "12")],
            action="review",
        ),
    )
    html = response.content.decode()
    assert "Enter the first name." in html and "Enter the last name." in html
    assert "Enter a valid email address" in html
    assert html.count("digits only (10 to 15 digits)") == 2
    assert 'value="not-an-email"' in html and 'value="Lovelace"' in html
    assert "Confirm and Invite" not in html
    assert not Invite.objects.exists()


def test_it_adds_a_row_without_javascript(admin_in_a):
    data = invite_post([("Ada", "Lovelace", "", "")], action="add_row")
    html = admin_in_a.post(URL, data).content.decode()
    assert 'name="patients-1-first_name"' in html and 'value="Lovelace"' in html
    assert "Enter the first name." not in html


def test_it_does_not_invite_the_same_patient_twice(admin_in_a, clinics, outboxes):
    admin_in_a.post(URL, invite_post([("Ada", "Lovelace", "ada@example.com", "2155550123")]))
    mail.outbox.clear()
    outboxes.clear()
    # Same name with the same email, then with the same phone: nothing new, no duplicate row.
    response = admin_in_a.post(
        URL,
        invite_post(
            [("Ada", "Lovelace", "ADA@example.com", ""), ("ada", "LOVELACE", "", "2155550123")]
        ),
    )
    assert Invite.objects.count() == 1
    assert not mail.outbox and not outboxes
    html = admin_in_a.get(response.url).content.decode()
    assert "Already invited or joined this clinic" in html and "nothing new was sent" in html


def test_it_dedupes_against_patients_who_joined(admin_in_a, clinics):
    from tests.conftest import make_user

    pat = make_user("joined.patient@example.com", "patient")
    ClinicPatient.objects.create(clinic=clinics.a, provider=clinics.prov_alice, user=pat)
    admin_in_a.post(URL, invite_post([("Joined", "Patient", "joined.patient@example.com", "")]))
    assert not Invite.objects.exists()


def test_it_allows_the_same_patient_in_another_clinic(admin_in_a, clinics):
    admin_in_a.post(URL, invite_post([("Ada", "Lovelace", "ada@example.com", "")]))
    session = admin_in_a.session
    session["invites_clinic_id"] = clinics.b.pk
    session["invites_provider_id"] = clinics.prov_carol.pk
    session.save()
    admin_in_a.post(URL, invite_post([("Ada", "Lovelace", "ada@example.com", "")]))
    assert sorted(Invite.objects.values_list("clinic__name", flat=True)) == [
        "Lakeside Dermatology",
        "Riverside Family Clinic",
    ]


def test_it_refuses_a_provider_of_another_clinic_in_the_selector(admin_in_a, clinics):
    response = admin_in_a.post(reverse("invites:select"), {"provider": clinics.prov_c.pk})
    assert response.status_code == 404


def test_it_remembers_the_chosen_clinic(client_for, clinics):
    client = client_for(clinics.cadmin)
    client.post(reverse("invites:select"), {"clinic": clinics.b.pk})
    client.post(
        reverse("invites:select"), {"clinic": clinics.b.pk, "provider": clinics.prov_carol.pk}
    )
    html = client.get(URL).content.decode()
    assert "Provider: <strong>Carol Clark</strong>" in html
    assert client.post(reverse("invites:select"), {"clinic": clinics.c.pk}).status_code == 404
