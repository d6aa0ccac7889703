import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from invites import services
from invites.models import Invite, InviteListPreference
from tests.invites.conftest import invite_post


def make_invites(clinics, n=3, clinic=None, provider=None, **extra):
    return services.create_invites(
        clinic=clinic or clinics.a,
        provider=provider or clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[
            {
                "first_name": f"Pat{i}",
                "last_name": f"Zed{i}",
                "email": f"pat{i}@example.com",
                "mobile": "",
            }
            for i in range(n)
        ],
    )


@pytest.mark.parametrize("name", ["invite", "patients"])
def test_it_lists_invited_patients_with_the_default_columns(
    admin_in_a, clinics, name, django_assert_max_num_queries
):
    make_invites(clinics, 30)
    with django_assert_max_num_queries(20):
        response = admin_in_a.get(reverse(f"invites:{name}"))
    html = response.content.decode()
    for heading in [
        "Patient Name",
        "Provider Name",
        "Date Invited",
        "Date Accepted",
        "Phone Number",
        "Email",
        "Invite Code",
        "Status",
    ]:
        assert heading in html
    assert "Resend Invite" in html and "Remove Invite" in html
    assert "Page 1 of 2" in html


def test_it_searches_by_name_email_provider_and_status(admin_in_a, clinics):
    invites = make_invites(clinics, 3)
    url = reverse("invites:invite")
    assert "Pat1 Zed1" in admin_in_a.get(url, {"q": "pat1 zed"}).content.decode()
    assert "Pat2 Zed2" not in admin_in_a.get(url, {"q": "pat1@example"}).content.decode()
    assert "Pat2 Zed2" in admin_in_a.get(url, {"q": "Alice Adams"}).content.decode()
    Invite.objects.filter(pk=invites[0].pk).update(
        status="error", error_reason="SMS provider answered 500"
    )
    html = admin_in_a.get(url, {"status": "error"}).content.decode()
    assert "Pat0 Zed0" in html and "Pat1 Zed1" not in html and "SMS provider answered 500" in html


def test_it_serves_the_list_fragment_to_htmx(admin_in_a, clinics):
    make_invites(clinics, 2)
    response = admin_in_a.get(
        reverse("invites:invite"),
        {"q": "Pat"},
        headers={"HX-Request": "true", "HX-Target": "invite-list"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="invite-list"') and "<html" not in html


def test_a_search_swaps_only_the_results_not_the_field_being_typed_in(admin_in_a, clinics):
    make_invites(clinics, 2)
    page = admin_in_a.get(reverse("invites:invite")).content.decode()
    form = page[page.index('role="search"') - 200 : page.index('id="invite-q"')]
    assert 'hx-target="#invite-results"' in form and 'hx-select="#invite-results"' in form
    response = admin_in_a.get(
        reverse("invites:invite"),
        {"q": "Pat0"},
        headers={"HX-Request": "true", "HX-Target": "invite-results"},
    )
    html = response.content.decode()
    assert "<html" not in html and '<div id="invite-results">' in html
    assert "Pat0 Zed0" in html and "Pat1 Zed1" not in html


def test_it_sorts_by_a_column(admin_in_a, clinics):
    make_invites(clinics, 3)
    html = admin_in_a.get(reverse("invites:invite"), {"sort": "-name"}).content.decode()
    assert html.index("Pat2 Zed2") < html.index("Pat0 Zed0")
    assert 'aria-sort="descending"' in html


def test_it_remembers_chosen_columns_per_user(admin_in_a, clinics):
    make_invites(clinics, 1)
    admin_in_a.post(reverse("invites:columns"), {"columns": ["name", "status"]})
    assert InviteListPreference.objects.get(user=clinics.cadmin).columns == ["name", "status"]
    html = admin_in_a.get(reverse("invites:invite")).content.decode()
    assert ">Invite Code<" not in html and "Patient Name" in html


def test_it_shows_expired_invites_as_expired(admin_in_a, clinics):
    inv = make_invites(clinics, 1)[0]
    Invite.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    html = admin_in_a.get(reverse("invites:invite"), {"status": "expired"}).content.decode()
    assert "Pat0 Zed0" in html and "badge--invite-expired" in html
    assert not Invite.objects.live().exists()


def test_it_drops_accepted_invites_after_72_hours(admin_in_a, clinics):
    old, recent = make_invites(clinics, 2)
    Invite.objects.filter(pk=old.pk).update(
        status="accepted", accepted_at=timezone.now() - dt.timedelta(hours=73)
    )
    Invite.objects.filter(pk=recent.pk).update(
        status="accepted", accepted_at=timezone.now() - dt.timedelta(hours=71)
    )
    html = admin_in_a.get(reverse("invites:invite")).content.decode()
    assert "Pat1 Zed1" in html and "Pat0 Zed0" not in html


def test_it_hides_other_clinics_invites(client_for, clinics):
    make_invites(clinics, 1)
    html = client_for(clinics.oscar).get(reverse("invites:invite")).content.decode()
    assert "Pat0 Zed0" not in html


def test_a_provider_sees_only_their_own_invites(client_for, cast, clinics):
    from invites.models import ClinicMembership
    from tests.conftest import make_user

    other = ClinicMembership.objects.create(
        user=make_user("zoe.doc@example.com", "prescriber"), clinic=clinics.a, role="provider"
    )
    make_invites(clinics, 1)
    services.create_invites(
        clinic=clinics.a,
        provider=other,
        invited_by=clinics.cadmin,
        patients=[{"first_name": "Other", "last_name": "Person", "email": "", "mobile": ""}],
    )
    html = client_for(cast.alice).get(reverse("invites:invite")).content.decode()
    assert "Pat0 Zed0" in html and "Other Person" not in html


@pytest.mark.parametrize("who", ["oscar", "mallory", "carol"])
@pytest.mark.parametrize("action", ["resend", "remove"])
def test_it_404s_row_actions_for_other_clinics(client_for, cast, clinics, who, action):
    inv = make_invites(clinics, 1)[0]
    user = getattr(clinics, who, None) or getattr(cast, who)
    assert client_for(user).post(reverse(f"invites:{action}", args=[inv.pk])).status_code == 404
    inv.refresh_from_db()
    assert inv.removed_at is None


def test_it_removes_an_invite_and_its_code_stops_working(admin_in_a, clinics, client):
    inv = make_invites(clinics, 1)[0]
    response = admin_in_a.post(reverse("invites:remove", args=[inv.pk]))
    assert response.status_code == 302
    inv.refresh_from_db()
    assert inv.removed_at is not None and not Invite.objects.live().exists()
    html = admin_in_a.get(reverse("invites:invite")).content.decode()
    assert "was removed" in html and f'id="invite-{inv.pk}"' not in html
    # Removing frees the patient to be invited again.
    admin_in_a.post(
        reverse("invites:invite"), invite_post([("Pat0", "Zed0", "pat0@example.com", "")])
    )
    assert Invite.objects.filter(removed_at__isnull=True).count() == 1


def test_it_marks_error_sending_and_resend_retries(admin_in_a, clinics, settings, outboxes):
    settings.SMS_BACKEND = "tests.invites.test_invite_list.FailingSMS"
    admin_in_a.post(reverse("invites:invite"), invite_post([("Sam", "Sms", "", "2155550199")]))
    inv = Invite.objects.get()
    assert inv.status == Invite.Status.ERROR and "provider down" in inv.error_reason
    assert "Error Sending" in admin_in_a.get(reverse("invites:invite")).content.decode()
    settings.SMS_BACKEND = "invites.sms.LocmemSMSBackend"
    admin_in_a.post(reverse("invites:resend", args=[inv.pk]))
    inv.refresh_from_db()
    assert inv.status == Invite.Status.PENDING and inv.error_reason == ""
    assert outboxes and inv.code in outboxes[-1]["body"]


def test_resend_renews_an_expired_invite(admin_in_a, clinics):
    inv = make_invites(clinics, 1)[0]
    Invite.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    admin_in_a.post(reverse("invites:resend", args=[inv.pk]))
    inv.refresh_from_db()
    assert inv.is_live and inv.expires_at > timezone.now() + dt.timedelta(days=13)


class FailingSMS:
    def send(self, *, to, body):
        from invites.sms import SMSError

        raise SMSError("SMS provider unreachable: provider down")


def test_resend_without_contact_details_says_to_share_the_code(admin_in_a, clinics):
    inv = services.create_invites(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        invited_by=clinics.cadmin,
        patients=[{"first_name": "No", "last_name": "Contact", "email": "", "mobile": ""}],
    )[0]
    response = admin_in_a.post(reverse("invites:resend", args=[inv.pk]), follow=True)
    assert f"share their invite code {inv.code}" in response.content.decode()
