"""Documents fixtures on top of the patient-portal family (see tests/patient_portal/conftest.py):
the built-in PHQ-9 and GAD-7, a clinic-A intake form and e-consent, and helpers to fill them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from patient_portal.models import Chart
from questionnaires.builtins import install
from questionnaires.models import Assignment, Form, Question
from tests.invites.conftest import clinics, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401

CONSENT_TEXT = "I agree to receive care by video visits.\nI may withdraw this consent at any time."


@dataclass
class Docs:
    phq9: Form
    gad7: Form
    intake: Form
    consent: Form


@pytest.fixture
def docs(family: Family) -> Docs:  # noqa: F811
    install(Form, Question)
    intake = Form.objects.create(
        clinic=family.clinics.a, kind=Form.Kind.ADMIN, title="New patient intake"
    )
    Question.objects.create(
        form=intake,
        position=1,
        section="About you",
        kind="text",
        text="Preferred name",
        required=False,
    )
    Question.objects.create(
        form=intake, position=2, section="About you", kind="date", text="Date of your last check-up"
    )
    Question.objects.create(
        form=intake,
        position=3,
        section="History",
        kind="long_text",
        text="Anything else we should know?",
        required=False,
    )
    Question.objects.create(
        form=intake,
        position=4,
        section="History",
        kind="multiple",
        text="Conditions",
        required=False,
        choices=[{"value": "o1", "label": "Asthma"}, {"value": "o2", "label": "Diabetes"}],
    )
    Question.objects.create(
        form=intake, position=5, section="History", kind="yes_no", text="Do you smoke?"
    )
    Question.objects.create(
        form=intake,
        position=6,
        section="History",
        kind="scale",
        text="Pain today",
        scale_min=0,
        scale_max=10,
        min_label="No pain",
        max_label="Worst pain",
    )
    consent = Form.objects.create(
        clinic=family.clinics.a,
        kind=Form.Kind.CONSENT,
        title="Telehealth consent",
        consent_text=CONSENT_TEXT,
    )
    return Docs(
        phq9=Form.objects.get(slug="phq-9", is_builtin=True),
        gad7=Form.objects.get(slug="gad-7", is_builtin=True),
        intake=intake,
        consent=consent,
    )


def assign(form: Form, chart: Chart, **extra) -> Assignment:
    return Assignment.objects.create(form=form, chart=chart, **extra)


def scale_post(
    form: Form, item_points: list[int], *, action: str = "submit", difficulty: str = ""
) -> dict:
    """POST data answering a built-in scale's items with the given points, in order."""
    items = [q for q in form.questions.all() if q.scored]
    data = {f"q{q.pk}": str(p) for q, p in zip(items, item_points, strict=True)}
    if difficulty:
        other = form.questions.get(scored=False)
        data[f"q{other.pk}"] = difficulty
    data["action"] = action
    return data


def points_for(total: int, items: int) -> list[int]:
    """Item points (0–3 each) adding up to `total`, item 9 (the last) left at 0 when possible."""
    points = [0] * items
    left = total
    for i in range(items - 1):
        step = min(3, left)
        points[i] = step
        left -= step
    points[-1] = left
    assert sum(points) == total and all(0 <= p <= 3 for p in points)
    return points


def choose(client, chart: Chart):
    """Point the signed-in client's switch at `chart` (as the Switch button does)."""
    from patient_portal.selectors import SESSION_CHART

    session = client.session
    session[SESSION_CHART] = chart.pk
    session.save()
    return client


@pytest.fixture
def as_patient(db):
    """`as_patient(user, chart)`: a client of its own signed in as `user`, acting for `chart`
    (separate from `client_for`'s, so a test can hold a staff and a patient client at once)."""
    from django.test import Client

    from tests.conftest import sign_in

    def _as(user, chart: Chart):
        return choose(sign_in(Client(), user), chart)

    return _as
