"""Create request: the Patient select lists a short list whole and a long one only by search."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from requests_chat.models import Request
from tests.conftest import make_patient, make_rx, sign_in

pytestmark = pytest.mark.django_db
CREATE = reverse("requests_chat:create")
OPTIONS = reverse("requests_chat:patient_options")


def options(response) -> list[str]:
    html = response.content.decode()
    select = html[
        html.index('<select name="patient"') : html.index(
            "</select>", html.index('<select name="patient"')
        )
    ]
    return [line.split(">")[1].split(" (")[0] for line in select.split("<option")[2:]]


@pytest.fixture
def few(monkeypatch):
    """A list longer than one patient counts as long (Phil and Alice each see two)."""
    monkeypatch.setattr("requests_chat.forms.PATIENT_OPTIONS_LIMIT", 1)


def test_a_short_list_is_shown_whole_without_a_search(cast):
    response = sign_in(Client(), cast.alice).get(CREATE)
    assert options(response) == ["Avril Lavigne", "Sam Shared"]  # not Carol's Cedric Stone
    assert 'name="patient_q"' not in response.content.decode()


def test_a_long_list_asks_for_a_search_first(cast, few):
    response = sign_in(Client(), cast.phil).get(CREATE)
    body = response.content.decode()
    assert options(response) == []
    assert "Search for the patient first" in body
    assert 'name="patient_q"' in body
    assert "Type part of the patient’s name or their date of birth" in body


@pytest.mark.parametrize(
    "q, expected",
    [
        ("sam", ["Sam Shared"]),
        ("SHA", ["Sam Shared"]),
        ("av lav", ["Avril Lavigne"]),
        ("03/03/1990", ["Sam Shared"]),
        ("1990-03-03", ["Sam Shared"]),
        ("sam 01/01/1980", []),
        ("stone", []),  # Carol's patient: not Phil's to see
        ("cedric", []),
    ],
)
def test_the_search_finds_by_name_or_date_of_birth(cast, few, q, expected):
    response = sign_in(Client(), cast.phil).get(OPTIONS, {"patient_q": q})
    assert options(response) == expected
    if not expected:
        assert f"No patient matches “{q}”" in response.content.decode()


def test_more_matches_than_the_limit_say_so(cast, few):
    samuel = make_patient("P-SA", "Samuel", "Avery")
    make_rx("RX4001", samuel, cast.npi_alice, cast.pharmacy)
    response = sign_in(Client(), cast.phil).get(OPTIONS, {"patient_q": "sam"})
    assert options(response) == ["Samuel Avery"]  # by last name first
    assert "More than 1 patients match “sam”: type more of the name" in response.content.decode()
    response = sign_in(Client(), cast.phil).get(OPTIONS, {"patient_q": "sam sh"})
    assert options(response) == ["Sam Shared"]


def test_the_chosen_patient_is_always_listed(cast, few):
    client = sign_in(Client(), cast.phil)
    response = client.get(CREATE, {"patient": cast.pat_shared.pk})
    assert options(response) == ["Sam Shared"]
    assert f'<option value="{cast.pat_shared.pk}" selected>' in response.content.decode()
    # ... but never one the user may not see
    response = client.get(CREATE, {"patient": cast.pat_carol.pk})
    assert options(response) == []


def test_the_options_answer_is_the_select_with_the_hint_out_of_band(cast, few):
    body = sign_in(Client(), cast.phil).get(OPTIONS, {"patient_q": "sam"}).content.decode()
    assert body.lstrip().startswith('<div id="patient-options"')
    assert (
        'id="patient-search-hint" class="field__help" aria-live="polite" hx-swap-oob="innerHTML"'
        in body
    )
    assert "1 patient matches “sam”: Sam Shared is chosen." in body
    # the only match is selected, and the select loads its prescriptions at once
    assert f'<option value="{cast.pat_shared.pk}" selected>' in body
    assert 'hx-trigger="change, load"' in body
    assert "<html" not in body


def test_an_outsider_finds_nobody(cast):
    response = sign_in(Client(), cast.mallory).get(OPTIONS, {"patient_q": "a"})
    assert options(response) == []
    assert sign_in(Client(), cast.mallory).get(CREATE).status_code == 200


def test_listing_patients_is_audited(cast, few):
    sign_in(Client(), cast.phil).get(OPTIONS, {"patient_q": "sam"})
    event = AuditEvent.objects.filter(user=cast.phil, action=AuditEvent.Action.LIST).last()
    assert event.description == "1 patients for a new request matching 'sam'"


def test_without_javascript_find_keeps_what_was_typed(cast, few):
    client = sign_in(Client(), cast.phil)
    response = client.post(CREATE, {"step": "find", "patient_q": "sam", "body": "Is the PA back?"})
    assert response.status_code == 200
    assert options(response) == ["Sam Shared"]
    body = response.content.decode()
    assert "Is the PA back?</textarea>" in body
    assert "This field is required" not in body
    assert not Request.objects.exists()


def test_without_javascript_show_prescriptions_lists_the_patients(cast):
    client = sign_in(Client(), cast.phil)
    response = client.post(
        CREATE, {"step": "prescriptions", "patient": cast.pat_shared.pk, "body": "Hello"}
    )
    body = response.content.decode()
    assert "Dupixent" in body and "Enbrel" not in body  # Enbrel is Carol's
    assert "Hello</textarea>" in body
    assert not Request.objects.exists()
    # Nothing of a patient the user may not see
    body = client.post(CREATE, {"step": "prescriptions", "patient": cast.pat_carol.pk}).content
    assert b"Stelara" not in body
