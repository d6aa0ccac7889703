"""The bell, opening an item, mark all read, the history page and the preferences page."""

import pytest
from django.urls import reverse

from notifications.models import (
    Activity,
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from notifications.services import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(cast):
    """Three notifications for alice (and bob, phil) about her prescription."""
    for activity in [Activity.NEW_REQUEST, Activity.NEW_MESSAGE, Activity.NEW_DOCUMENT]:
        notify(activity=activity, obj=cast.rx_alice, actor=cast.phil, url="/requests/1/")
    return list(Notification.objects.filter(recipient=cast.alice))


def test_it_shows_the_bell_with_the_unread_count(cast, alices, client_for):
    response = client_for(cast.alice).get(reverse("notifications:list"))
    html = response.content.decode()
    assert 'aria-label="Notifications, 3 unread"' in html
    assert 'ws-connect="/ws/notifications/"' in html
    assert "New message from Phil Pharm" in html


def test_the_bell_names_no_patient(cast, alices, client_for):
    response = client_for(cast.alice).get(reverse("notifications:bell"))
    html = response.content.decode()
    assert "New document from Phil Pharm" in html
    assert cast.pat_alice.last_name not in html and "Humira" not in html


def test_it_opens_an_item_marks_it_read_and_redirects(cast, alices, client_for):
    client = client_for(cast.alice)
    response = client.get(reverse("notifications:open", args=[alices[0].pk]))
    assert response.status_code == 302 and response.url == "/requests/1/"
    alices[0].refresh_from_db()
    assert alices[0].read_at is not None
    html = client.get(reverse("notifications:bell")).content.decode()
    assert 'data-count="2"' in html


def test_it_falls_back_to_a_safe_target(cast, client_for):
    [n] = notify(
        activity=Activity.INVITE_ACCEPTED,
        obj=None,
        recipients=[cast.alice],
        url="https://evil.example/",
    )
    response = client_for(cast.alice).get(reverse("notifications:open", args=[n.pk]))
    assert response.url == "/"


@pytest.mark.parametrize("who", ["carol", "mallory", "bob"])
def test_it_404s_for_someone_elses_notification(cast, alices, client_for, who):
    response = client_for(getattr(cast, who)).get(
        reverse("notifications:open", args=[alices[0].pk])
    )
    assert response.status_code == 404
    alices[0].refresh_from_db()
    assert alices[0].read_at is None


def test_it_marks_all_read(cast, alices, client_for, django_capture_on_commit_callbacks):
    client = client_for(cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("notifications:mark_all_read"), headers={"HX-Request": "true"}
        )
    assert 'data-count="0"' in response.content.decode()
    assert Notification.objects.filter(recipient=cast.alice, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(recipient=cast.bob, read_at__isnull=True).count() == 3


def test_mark_all_read_rejects_get(cast, client_for):
    assert client_for(cast.alice).get(reverse("notifications:mark_all_read")).status_code == 405


def test_it_lists_history_filtered_by_type(cast, alices, client_for):
    client = client_for(cast.alice)
    response = client.get(reverse("notifications:list"), {"type": Activity.NEW_MESSAGE})
    assert [n.activity for n in response.context["page"]] == [Activity.NEW_MESSAGE]
    # The history names the patient (the user may see the prescription).
    assert "Avril Lavigne · Humira Pen" in response.content.decode()
    response = client.get(reverse("notifications:list"), {"type": "nonsense"})
    assert response.context["page"].paginator.count == 3


def test_the_list_is_empty_for_outsiders(cast, alices, client_for):
    for who in ["carol", "mallory"]:
        response = client_for(getattr(cast, who)).get(reverse("notifications:list"))
        assert response.context["page"].paginator.count == 0
        assert "Avril" not in response.content.decode()


def test_the_list_pages_in_constant_queries(cast, client_for, django_assert_max_num_queries):
    for _ in range(30):
        notify(
            activity=Activity.NEW_MESSAGE,
            obj=cast.rx_alice,
            recipients=[cast.alice],
            actor=cast.phil,
        )
    client = client_for(cast.alice)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("notifications:list"), {"page": 2})
    assert len(response.context["page"].object_list) == 5


def test_htmx_filter_returns_only_the_results(cast, alices, client_for):
    response = client_for(cast.alice).get(
        reverse("notifications:list"),
        {"type": Activity.NEW_REQUEST},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="notification-results"')
    assert "<header" not in html


def test_preferences_show_the_defaults(cast, client_for):
    form = client_for(cast.alice).get(reverse("notifications:preferences")).context["form"]
    assert form.initial["new_message__in_app"] is True
    assert form.initial["new_message__email"] is True
    assert form.initial["new_document__email"] is False
    assert form.initial["digest"] == "immediate"


def prefs_post(**overrides):
    data = {f"{a.value}__in_app": "on" for a in Activity}
    data |= {"new_message__email": "on", "digest": "daily"}
    return data | overrides


def test_preferences_save_instantly_with_htmx(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("notifications:preferences"),
        prefs_post(quiet_hours_start="22:00", quiet_hours_end="07:00"),
        headers={"HX-Request": "true"},
    )
    assert response.content.decode().strip() == '<span class="prefs__saved">Saved</span>'
    pref = NotificationPreference.objects.get(user=cast.alice, activity=Activity.NEW_REQUEST)
    assert pref.in_app is True and pref.email is False
    s = NotificationSettings.objects.get(user=cast.alice)
    assert s.digest == "daily" and s.quiet_hours_start.hour == 22
    assert s.time_zone == ""  # the portal's clock unless one is chosen


def test_preferences_keep_a_chosen_time_zone_and_refuse_others(cast, client_for):
    client = client_for(cast.alice)
    url = reverse("notifications:preferences")
    client.post(url, prefs_post(time_zone="America/Chicago"), headers={"HX-Request": "true"})
    assert NotificationSettings.objects.get(user=cast.alice).time_zone == "America/Chicago"
    assert 'value="America/Chicago" selected' in client.get(url).content.decode()
    response = client.post(
        url, prefs_post(time_zone="Mars/Olympus_Mons"), headers={"HX-Request": "true"}
    )
    assert "Not saved" in response.content.decode()
    assert NotificationSettings.objects.get(user=cast.alice).time_zone == "America/Chicago"


def test_preferences_reject_half_quiet_hours(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("notifications:preferences"),
        prefs_post(quiet_hours_start="22:00"),
        headers={"HX-Request": "true"},
    )
    assert "Not saved" in response.content.decode()
    assert not NotificationSettings.objects.filter(user=cast.alice).exists()
    # Without htmx the page comes back with the message and what was typed.
    response = client_for(cast.alice).post(
        reverse("notifications:preferences"), prefs_post(quiet_hours_start="22:00")
    )
    html = response.content.decode()
    assert "Enter both a start and an end time" in html and 'value="22:00"' in html


def test_preferences_without_htmx_redirect_with_a_message(cast, client_for):
    response = client_for(cast.alice).post(
        reverse("notifications:preferences"), prefs_post(), follow=True
    )
    assert "Your notification preferences were saved." in response.content.decode()


def test_pages_require_sign_in(client):
    for name in ["notifications:list", "notifications:preferences", "notifications:bell"]:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_bell_counts_every_unread_item_in_the_feeds_query(cast, django_assert_num_queries):
    """The count covers unread items beyond the feed's eight; read ones are not counted."""
    from notifications.selectors import FEED_SIZE, bell_context

    sent = [
        notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil, url="/r/")
        for _ in range(FEED_SIZE + 3)
    ]
    Notification.objects.filter(pk=sent[0][0].pk).update(read_at="2026-01-01T00:00Z")
    expected = Notification.objects.visible_to(cast.alice).unread().count()
    assert expected >= FEED_SIZE + 2
    with django_assert_num_queries(2):  # the access gate's prescriber list, then the bell
        bell = bell_context(cast.alice)
    assert bell["unread_count"] == expected
    assert len(bell["feed_items"]) == FEED_SIZE
