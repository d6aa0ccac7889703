"""One rule for time: stored in UTC, shown in the reader's zone (profile, else browser cookie),
and named where it matters (admin, profile, export file names)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from portal.timezones import utc_stamp, validate_time_zone
from tests.conftest import sign_in

# 00:28 on Dec 1 in UTC is 7:28 PM on Nov 30 in New York and 9:28 AM on Dec 1 in Tokyo.
MOMENT = dt.datetime(2026, 12, 1, 0, 28, tzinfo=dt.UTC)


@pytest.mark.parametrize("name", ["America/Chicago", "Asia/Tokyo", "UTC", ""])
def test_it_accepts_iana_names_and_empty(name):
    validate_time_zone(name)


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "../../etc/passwd", "America/Chicago\n", "Asia/\x00Tokyo", "A" * 200],
)
def test_it_refuses_anything_else(name):
    with pytest.raises(ValidationError):
        validate_time_zone(name)


def test_the_model_field_validates(cast):
    cast.alice.time_zone = "Nowhere/Land"
    with pytest.raises(ValidationError) as error:
        cast.alice.full_clean()
    assert "time_zone" in error.value.message_dict


def notification_at(user, moment: dt.datetime) -> Notification:
    return Notification.objects.create(
        recipient=user, activity="message", prescription=None, created_at=moment
    )


def time_attr(html: str) -> str:
    start = html.index('<time datetime="') + len('<time datetime="')
    return html[start : html.index('"', start)]


def test_pages_use_the_profile_zone(cast, client):
    cast.alice.time_zone = "Asia/Tokyo"
    cast.alice.save()
    notification_at(cast.alice, MOMENT)
    sign_in(client, cast.alice)
    page = client.get(reverse("notifications:list")).content.decode()
    assert time_attr(page) == "2026-12-01T09:28:00+09:00"
    # portal.js formats in the same zone as the server did.
    assert 'data-time-zone="Asia/Tokyo"' in page


def test_without_a_profile_zone_the_browser_zone_cookie_is_used(cast, client):
    notification_at(cast.alice, MOMENT)
    sign_in(client, cast.alice)
    client.cookies["tz"] = "Europe/Paris"
    page = client.get(reverse("notifications:list")).content.decode()
    assert time_attr(page) == "2026-12-01T01:28:00+01:00"
    assert "data-time-zone" not in page  # the browser formats in its own zone


def test_the_profile_zone_wins_over_the_cookie_and_a_bad_cookie_is_ignored(cast, client, settings):
    settings.TIME_ZONE = "America/New_York"
    notification_at(cast.alice, MOMENT)
    sign_in(client, cast.alice)
    client.cookies["tz"] = "../../etc/passwd"
    page = client.get(reverse("notifications:list")).content.decode()
    assert time_attr(page) == "2026-11-30T19:28:00-05:00"  # the portal's default
    cast.alice.time_zone = "Asia/Tokyo"
    cast.alice.save()
    client.cookies["tz"] = "Europe/Paris"
    page = client.get(reverse("notifications:list")).content.decode()
    assert time_attr(page) == "2026-12-01T09:28:00+09:00"


def test_the_admin_shows_and_names_the_readers_zone(cast, client):
    cast.olivia.time_zone = "Asia/Tokyo"
    cast.olivia.save()
    sign_in(client, cast.olivia)
    page = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert "Times in Asia/Tokyo" in page


def test_the_profile_names_the_zone_and_saves_a_new_one(cast, client):
    sign_in(client, cast.alice)
    client.cookies["tz"] = "Europe/Paris"
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Times are shown in <strong>Europe/Paris</strong> (your browser" in page
    assert '<option value="America/Chicago">America/Chicago</option>' in page
    response = client.post(reverse("time_zone"), {"time_zone": "America/Chicago"}, follow=True)
    assert "Dates and times are now shown in America/Chicago." in response.content.decode()
    cast.alice.refresh_from_db()
    assert cast.alice.time_zone == "America/Chicago"
    # Back to the browser's zone.
    client.post(reverse("time_zone"), {"time_zone": ""})
    cast.alice.refresh_from_db()
    assert cast.alice.time_zone == ""


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "America/Chicago\r\n", "x" * 500])
def test_the_profile_refuses_an_unknown_zone_with_a_clear_message(cast, client, bad):
    sign_in(client, cast.alice)
    response = client.post(reverse("time_zone"), {"time_zone": bad}, follow=True)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    cast.alice.refresh_from_db()
    assert cast.alice.time_zone == ""


def test_the_time_zone_form_refuses_get(cast, client):
    sign_in(client, cast.alice)
    assert client.get(reverse("time_zone")).status_code == 405


def test_the_export_file_name_is_in_utc_and_says_so(cast, client, monkeypatch, settings):
    settings.TIME_ZONE = "America/New_York"  # where it is still Nov 30
    monkeypatch.setattr(timezone, "now", lambda: MOMENT)
    sign_in(client, cast.alice)
    response = client.get(reverse("prescriptions:export"))
    assert response["Content-Disposition"] == (
        'attachment; filename="prescriptions-2026-12-01-0028-UTC.csv"'
    )
    assert utc_stamp(MOMENT.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == (
        "2026-12-01-0028-UTC"
    )


def test_the_cookie_may_be_url_encoded_as_portal_js_writes_it(cast, client):
    notification_at(cast.alice, MOMENT)
    sign_in(client, cast.alice)
    client.cookies["tz"] = "Asia%2FTokyo"
    page = client.get(reverse("notifications:list")).content.decode()
    assert time_attr(page) == "2026-12-01T09:28:00+09:00"
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert "Times are shown in <strong>Asia/Tokyo</strong> (your browser" in profile
