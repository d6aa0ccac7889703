"""The Clinic area's Documents: builder (htmx add/reorder/remove), assignment, submissions with
scores, the SVG trend with its table; staff reach only their clinics' charts and forms."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from questionnaires.models import Assignment, Form, Question
from tests.questionnaires.conftest import assign, scale_post

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "question-list"}


@pytest.fixture
def admin_a(client_for, family):
    client = client_for(family.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = family.clinics.a.pk
    session.save()
    return client


def test_index_lists_builtins_and_clinic_forms(admin_a, docs):
    page = admin_a.get("/clinic/portal/documents/").content.decode()
    for title in (
        "PHQ-9 (Patient Health Questionnaire)",
        "GAD-7",
        "New patient intake",
        "Telehealth consent",
    ):
        assert title in page


def test_builder_creates_a_form_and_adds_reorders_removes_questions(admin_a, family, docs):
    response = admin_a.post(
        "/clinic/portal/documents/forms/new/",
        {
            "new-title": "Sleep diary",
            "new-kind": "scale",
            "new-description": "",
            "new-consent_text": "",
        },
    )
    form = Form.objects.get(title="Sleep diary")
    assert response.status_code == 302 and form.clinic == family.clinics.a and form.scoring == "sum"
    url = f"/clinic/portal/documents/forms/{form.pk}/questions/"
    response = admin_a.post(
        url,
        {
            "q-kind": "single",
            "q-text": "How often do you wake?",
            "q-required": "on",
            "q-scored": "on",
            "q-choices_text": "0 = Never\n1 = Sometimes\n2 = Often",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="question-list"' in response.content.decode()
    assert "<html" not in response.content.decode()
    admin_a.post(
        url,
        {
            "q-kind": "scale",
            "q-text": "Rested?",
            "q-scale_min": "0",
            "q-scale_max": "5",
            "q-scored": "on",
        },
        **HTMX,
    )
    first, second = form.questions.all()
    assert first.choices[2] == {"value": "2", "label": "Often"} and first.scored
    admin_a.post(
        f"/clinic/portal/documents/questions/{second.pk}/move/", {"direction": "up"}, **HTMX
    )
    assert [q.text for q in form.questions.all()] == ["Rested?", "How often do you wake?"]
    admin_a.post(f"/clinic/portal/documents/questions/{first.pk}/remove/", **HTMX)
    assert [q.text for q in form.questions.all()] == ["Rested?"]


def test_builder_refuses_bad_questions(admin_a, docs):
    url = f"/clinic/portal/documents/forms/{docs.intake.pk}/questions/"
    response = admin_a.post(
        url, {"q-kind": "single", "q-text": "Pick", "q-choices_text": "Only one"}
    )
    assert response.status_code == 400
    assert "at least two options" in response.content.decode()
    response = admin_a.post(url, {"q-kind": "text", "q-text": "x", "q-scored": "on"})
    assert response.status_code == 400
    count = docs.intake.questions.count()
    response = admin_a.post(url, {"q-kind": "text", "q-text": "bad\x01"})
    assert response.status_code in (400,)
    assert docs.intake.questions.count() == count


def test_builtins_cannot_be_edited(admin_a, docs):
    q = docs.phq9.questions.first()
    assert (
        admin_a.post(
            f"/clinic/portal/documents/forms/{docs.phq9.pk}/questions/",
            {"q-kind": "text", "q-text": "x"},
        ).status_code
        == 404
    )
    assert admin_a.post(f"/clinic/portal/documents/questions/{q.pk}/remove/").status_code == 404
    assert (
        admin_a.post(
            f"/clinic/portal/documents/forms/{docs.phq9.pk}/",
            {"edit-title": "Mine", "edit-kind": "scale"},
        ).status_code
        == 404
    )
    assert Question.objects.filter(pk=q.pk).exists()


def test_consent_text_change_after_signing_makes_a_new_version(admin_a, as_patient, family, docs):
    a = assign(docs.consent, family.mary_a)
    as_patient(family.mary, family.mary_a).post(
        f"/patient/documents/{a.pk}/", {"action": "submit", "signature": "Mary Doe", "agree": "yes"}
    )
    admin_a.post(
        f"/clinic/portal/documents/forms/{docs.consent.pk}/",
        {
            "edit-title": "Telehealth consent",
            "edit-kind": "consent",
            "edit-consent_text": "New wording.",
        },
    )
    docs.consent.refresh_from_db()
    assert docs.consent.version == 2
    s = a.submission
    s.refresh_from_db()
    assert s.form_version == 1 and s.consent_text.startswith("I agree to receive care")


def test_assign_with_due_date(admin_a, family, docs):
    due = timezone.localdate() + dt.timedelta(days=7)
    response = admin_a.post(
        f"/clinic/portal/documents/charts/{family.mary_a.pk}/assign/",
        {"assign-form": docs.gad7.pk, "assign-due_on": due.isoformat()},
    )
    assert response.status_code == 302
    assert Assignment.objects.get(chart=family.mary_a, form=docs.gad7).due_on == due
    past = admin_a.post(
        f"/clinic/portal/documents/charts/{family.mary_a.pk}/assign/",
        {"assign-form": docs.gad7.pk, "assign-due_on": "2001-01-01"},
    )
    assert past.status_code == 400


def test_chart_page_shows_scores_and_accessible_svg_trend(admin_a, as_patient, family, docs):
    client = as_patient(family.mary, family.mary_a)
    for points in ([3] * 8 + [0], [1] * 8 + [0]):
        a = assign(docs.phq9, family.mary_a)
        client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, points))
    page = admin_a.get(f"/clinic/portal/documents/charts/{family.mary_a.pk}/").content.decode()
    assert "<svg" in page and "<title" in page and "<polyline" in page
    assert "PHQ-9 (Patient Health Questionnaire) scores, 2 submissions" in page
    assert "<caption>PHQ-9 (Patient Health Questionnaire) scores (maximum 27)</caption>" in page
    assert "24 · Severe" in page and "8 · Mild" in page


def test_submission_page_shows_answers_and_score(admin_a, as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    as_patient(family.mary, family.mary_a).post(
        f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [0] * 8 + [1])
    )
    s = a.submission
    page = admin_a.get(f"/clinic/portal/documents/submissions/{s.pk}/").content.decode()
    assert "Item 9 answered above 0." in page and "1 · Minimal" in page
    response = admin_a.get(f"/clinic/portal/documents/submissions/{s.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_staff_of_another_clinic_see_nothing(client_for, as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    as_patient(family.mary, family.mary_a).post(
        f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [0] * 9)
    )
    s = a.submission
    for outsider in (family.clinics.oscar, family.clinics.prov_carol.user):
        client = client_for(outsider)
        assert client.get(f"/clinic/portal/documents/charts/{family.mary_a.pk}/").status_code == 404
        assert client.get(f"/clinic/portal/documents/submissions/{s.pk}/").status_code == 404
        assert client.get(f"/clinic/portal/documents/submissions/{s.pk}/pdf/").status_code == 404
        assert (
            client.post(
                f"/clinic/portal/documents/charts/{family.mary_a.pk}/assign/",
                {"assign-form": docs.phq9.pk},
            ).status_code
            == 404
        )
        assert client.get(f"/clinic/portal/documents/forms/{docs.intake.pk}/").status_code == 404
        assert (
            client.post(f"/clinic/portal/documents/assignments/{a.pk}/cancel/").status_code == 404
        )


def test_a_clinic_cannot_assign_another_clinics_form(client_for, family, docs):
    client = client_for(family.clinics.prov_carol.user)  # clinic B's provider
    response = client.post(
        f"/clinic/portal/documents/charts/{family.mary_b.pk}/assign/",
        {"assign-form": docs.intake.pk},
    )
    assert response.status_code == 400
    assert not Assignment.objects.filter(chart=family.mary_b).exists()


def test_patients_find_no_clinic_pages(as_patient, family, docs):
    client = as_patient(family.mary, family.mary_a)
    assert client.get("/clinic/portal/documents/").status_code == 404


def test_withdraw_pending_but_not_submitted(admin_a, as_patient, family, docs):
    pending = assign(docs.gad7, family.mary_a)
    assert (
        admin_a.post(f"/clinic/portal/documents/assignments/{pending.pk}/cancel/").status_code
        == 302
    )
    pending.refresh_from_db()
    assert pending.cancelled_at is not None
    assert (
        as_patient(family.mary, family.mary_a).get(f"/patient/documents/{pending.pk}/").status_code
        == 404
    )
    done = assign(docs.gad7, family.mary_a)
    as_patient(family.mary, family.mary_a).post(
        f"/patient/documents/{done.pk}/", scale_post(docs.gad7, [0] * 7)
    )
    admin_a.post(f"/clinic/portal/documents/assignments/{done.pk}/cancel/")
    done.refresh_from_db()
    assert done.cancelled_at is None
