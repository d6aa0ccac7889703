"""The section registry: registered sections appear in the nav and on Home only when their
permission is on at the chosen chart's clinic, and their views 404 otherwise."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path, reverse

from patient_portal import sections
from patient_portal.decorators import patient_section
from patient_portal.models import PortalSettings


@patient_section("test_messages")
def inbox(request) -> HttpResponse:
    return HttpResponse(f"inbox of chart {request.chart.pk}")


def card_context(request, chart) -> dict:
    return {"who": chart.full_name}


test_patterns = (
    [path("inbox/", inbox, name="inbox")],
    "test_messaging",
)
urlpatterns = [
    path("t/", include(test_patterns)),
    path("", include("portal.urls")),
]


@pytest.fixture
def messages_section(tmp_path, settings):
    template = tmp_path / "test_card.html"
    template.write_text('<section class="card">Recent messages of {{ who }}</section>')
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], str(tmp_path)]}
    ]
    sections.register(
        sections.Section(
            key="test_messages",
            label="Test Messages",
            url_name="test_messaging:inbox",
            permission="messages",
            order=20,
            matches=("test_messaging:",),
            home_card=sections.HomeCard(template="test_card.html", context=card_context, order=10),
        )
    )
    yield
    sections.unregister("test_messages")


@override_settings(ROOT_URLCONF=__name__)
def test_a_registered_section_shows_in_nav_and_home(client, family, messages_section):
    client.force_login(family.peter)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Test Messages" in html
    assert "Recent messages of Peter Pan" in html
    response = client.get(reverse("test_messaging:inbox"))
    assert response.status_code == 200
    assert response.content.decode() == f"inbox of chart {family.peter_a.pk}"


@override_settings(ROOT_URLCONF=__name__)
def test_a_section_turned_off_is_gone_and_404s(client, family, messages_section):
    PortalSettings.objects.create(clinic=family.clinics.a, messages=False)
    client.force_login(family.peter)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Test Messages" not in html
    assert "Recent messages" not in html
    assert client.get(reverse("test_messaging:inbox")).status_code == 404


@override_settings(ROOT_URLCONF=__name__)
def test_the_section_follows_the_chosen_charts_clinic(client, family, messages_section):
    # Off at clinic B only: Mary sees it for her Riverside chart, not for her Lakeside one.
    PortalSettings.objects.create(clinic=family.clinics.b, messages=False)
    client.force_login(family.mary)
    client.post(reverse("patient_portal:switch"), {"chart": family.mary_a.pk})
    assert client.get(reverse("test_messaging:inbox")).status_code == 200
    response = client.post(
        reverse("patient_portal:switch"),
        {"chart": family.mary_b.pk, "next": reverse("test_messaging:inbox")},
    )
    # Switching on a section the new chart's clinic has off lands on Home.
    assert response.url == reverse("patient_portal:home")
    assert client.get(reverse("test_messaging:inbox")).status_code == 404


@override_settings(ROOT_URLCONF=__name__)
def test_switching_keeps_the_section(client, family, messages_section):
    client.force_login(family.mary)
    response = client.post(
        reverse("patient_portal:switch"),
        {"chart": family.tim.pk, "next": reverse("test_messaging:inbox")},
    )
    assert response.url == reverse("test_messaging:inbox")
    assert client.get(response.url).content.decode() == f"inbox of chart {family.tim.pk}"


def test_a_section_view_404s_without_a_chart(client, family, cast, messages_section):
    client.force_login(cast.mallory)
    from django.test import RequestFactory

    request = RequestFactory().get("/t/inbox/")
    request.user = cast.mallory
    request.session = client.session
    from django.http import Http404

    with pytest.raises(Http404):
        inbox(request)


def test_unknown_section_keys_are_a_configuration_error(rf, family):
    from django.core.exceptions import ImproperlyConfigured

    request = rf.get("/")
    request.user = family.peter
    with pytest.raises(ImproperlyConfigured):
        patient_section("no_such_section")(inbox.__wrapped__)(request)


def test_nav_order_follows_the_registry(client, family):
    client.force_login(family.peter)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert html.index(">Home<") < html.index(">Account<")
