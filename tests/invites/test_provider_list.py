"""The Providers list follows the clinic chosen in 'Select Clinic' (HTMX), before Apply."""

from django.urls import reverse

from invites.models import ClinicMembership
from tests.conftest import make_user

URL = reverse("invites:providers")
INVITE = reverse("invites:invite")


def test_the_clinic_list_asks_for_its_providers_on_change(admin_in_a):
    html = admin_in_a.get(INVITE).content.decode()
    assert f'hx-get="{URL}"' in html and 'hx-target="#provider-field"' in html
    assert 'id="provider-field"' in html
    assert ">Apply</button>" in html  # the no-JavaScript path stays


def test_it_renders_the_providers_of_the_clinic_being_chosen(admin_in_a, clinics):
    response = admin_in_a.get(URL, {"clinic": clinics.b.pk}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="provider-field"' in html and "<form" not in html
    # Carol is Lakeside's only provider: chosen already; Alice (Riverside) is not listed.
    assert "Carol Clark" in html and "Alice Adams" not in html
    # Nothing is remembered until Apply.
    assert admin_in_a.session["invites_clinic_id"] == clinics.a.pk


def test_it_asks_to_choose_when_the_clinic_has_several_providers(admin_in_a, clinics):
    other = make_user("bo.berg@example.com", "prescriber")
    ClinicMembership.objects.create(user=other, clinic=clinics.b, role="provider")
    html = admin_in_a.get(URL, {"clinic": clinics.b.pk}).content.decode()
    assert "Choose a provider…" in html and "Bo Berg" in html and "Carol Clark" in html


def test_it_404s_for_a_clinic_of_someone_else_and_for_garbage(admin_in_a, clinics):
    for value in (clinics.c.pk, "x", "", "9" * 40, "-1"):
        assert admin_in_a.get(URL, {"clinic": value}).status_code == 404, value
    # Control characters are refused before any view runs (portal.middleware).
    assert admin_in_a.get(URL, {"clinic": "1\x00"}).status_code == 400


def test_it_404s_for_a_user_without_clinics(client_for, cast):
    assert client_for(cast.mallory).get(URL, {"clinic": 1}).status_code == 404


def test_it_renders_no_list_for_a_provider_of_that_clinic(client_for, cast, clinics):
    ClinicMembership.objects.create(user=cast.alice, clinic=clinics.b, role="provider")
    html = client_for(cast.alice).get(URL, {"clinic": clinics.b.pk}).content.decode()
    assert 'id="provider-field"' in html and "<select" not in html


def test_select_ignores_an_id_too_large_for_the_database(admin_in_a):
    response = admin_in_a.post(reverse("invites:select"), {"clinic": "9" * 30})
    assert response.status_code == 302
