"""The patient's Documents: list and Home card, drafts, submission, frozen answers, bad input,
and access (own and proxied charts only; a disabled section is a 404)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from patient_portal.models import PortalSettings
from portal.files import DOCUMENT_CSP
from questionnaires.models import Submission
from tests.questionnaires.conftest import CONSENT_TEXT, assign, scale_post


def _q(form, position):
    return form.questions.get(position=position)


def _intake_post(docs, **over):
    data = {
        f"q{_q(docs.intake, 1).pk}": "Mo",
        f"q{_q(docs.intake, 2).pk}": "2024-05-01",
        f"q{_q(docs.intake, 3).pk}": "",
        f"q{_q(docs.intake, 5).pk}": "no",
        f"q{_q(docs.intake, 6).pk}": "3",
        "action": "submit",
    }
    data.update(over)
    return data


def test_list_shows_pending_with_due_dates_and_empty_completed(as_patient, family, docs):
    assign(docs.phq9, family.mary_a, due_on=timezone.localdate() + dt.timedelta(days=3))
    page = as_patient(family.mary, family.mary_a).get("/patient/documents/").content.decode()
    assert "PHQ-9 (Patient Health Questionnaire)" in page
    assert "Due " in page
    assert "No completed documents yet" in page


def test_empty_list_says_what_to_do(as_patient, family, docs):
    page = as_patient(family.mary, family.mary_a).get("/patient/documents/").content.decode()
    assert "Nothing to fill" in page and "appears here" in page


def test_home_card_counts_pending_documents(as_patient, family, docs):
    assign(docs.phq9, family.mary_a, due_on=dt.date(2031, 1, 15))
    assign(docs.gad7, family.mary_a)
    page = as_patient(family.mary, family.mary_a).get("/patient/").content.decode()
    assert "Pending documents" in page
    assert "<strong>2</strong> documents to fill" in page
    assert "due Jan 15" in page


def test_draft_is_kept_and_required_not_enforced(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    first = docs.phq9.questions.first()
    response = client.post(f"/patient/documents/{a.pk}/", {f"q{first.pk}": "2", "action": "draft"})
    assert response.status_code == 302
    draft = Submission.objects.get(assignment=a)
    assert draft.status == "draft" and draft.answers == {str(first.pk): "2"}
    page = client.get(f"/patient/documents/{a.pk}/").content.decode()
    assert f'id="q{first.pk}-2" name="q{first.pk}" value="2" checked' in page


def test_required_answers_are_enforced_with_an_error_summary(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(f"/patient/documents/{a.pk}/", {"action": "submit"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There are 9 problems" in page
    first = docs.phq9.questions.first()
    assert f'href="#q{first.pk}-0"' in page
    assert not Submission.objects.filter(assignment=a, status="submitted").exists()


@pytest.mark.parametrize("value", ["4", "-1", "3.0", "Nearly every day", "1 OR 1=1"])
def test_out_of_choice_answers_are_refused(as_patient, family, docs, value):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    data = scale_post(docs.phq9, [1] * 9)
    data[f"q{docs.phq9.questions.first().pk}"] = value
    for action in ("draft", "submit"):
        data["action"] = action
        response = client.post(f"/patient/documents/{a.pk}/", data)
        assert response.status_code == 400
        assert "Choose one of the options shown." in response.content.decode()
    assert not Submission.objects.filter(assignment=a).exists()


def test_other_kinds_refuse_bad_values(as_patient, family, docs):
    a = assign(docs.intake, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    bad = {
        f"q{_q(docs.intake, 2).pk}": "2024-02-30",
        f"q{_q(docs.intake, 4).pk}": ["o1", "o9"],
        f"q{_q(docs.intake, 5).pk}": "maybe",
        f"q{_q(docs.intake, 6).pk}": "11",
    }
    response = client.post(f"/patient/documents/{a.pk}/", _intake_post(docs, **bad))
    page = response.content.decode()
    assert response.status_code == 400
    for message in (
        "Enter a real date",
        "Choose only among the options shown.",
        "Choose Yes or No.",
        "Choose a number from 0 to 10.",
    ):
        assert message in page


def test_over_long_answers_are_refused_not_truncated(as_patient, family, docs):
    a = assign(docs.intake, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(
        f"/patient/documents/{a.pk}/",
        _intake_post(
            docs,
            **{f"q{_q(docs.intake, 1).pk}": "x" * 301, f"q{_q(docs.intake, 3).pk}": "y" * 4001},
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Keep this answer to 300 characters (it has 301)." in page
    assert "Keep this answer to 4000 characters (it has 4001)." in page
    assert not Submission.objects.filter(assignment=a).exists()


def test_control_characters_are_refused(as_patient, family, docs):
    a = assign(docs.intake, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(
        f"/patient/documents/{a.pk}/",
        _intake_post(docs, **{f"q{_q(docs.intake, 1).pk}": "Mo\u202e"}),
    )
    assert response.status_code == 400


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_xss_in_free_text_is_text_in_pages_and_pdf(as_patient, client_for, family, docs):
    a = assign(docs.intake, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(
        f"/patient/documents/{a.pk}/", _intake_post(docs, **{f"q{_q(docs.intake, 3).pk}": XSS})
    )
    assert response.status_code == 302
    submission = Submission.objects.get(assignment=a)
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(submission.pdf.read())).pages)
    assert '<script>alert("x")</script>' in pdf_text
    staff = client_for(family.clinics.cadmin)
    page = staff.get(f"/clinic/portal/documents/submissions/{submission.pk}/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_submitted_answers_are_frozen(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    assert (
        client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [1] * 9)).status_code
        == 302
    )
    before = Submission.objects.get(assignment=a)
    # A tampered POST (draft or submit, other answers) is refused; nothing changes.
    for action in ("draft", "submit"):
        response = client.post(
            f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [3] * 9, action=action)
        )
        assert response.status_code == 409
        assert "cannot be changed" in response.content.decode()
    # No edit page either.
    assert client.get(f"/patient/documents/{a.pk}/").status_code == 409
    after = Submission.objects.get(assignment=a)
    assert (after.answers, after.score, after.submitted_at, after.pdf.name) == (
        before.answers,
        before.score,
        before.submitted_at,
        before.pdf.name,
    )


def test_unknown_action_is_refused(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    response = as_patient(family.mary, family.mary_a).post(
        f"/patient/documents/{a.pk}/", {"action": "publish"}
    )
    assert response.status_code == 400


def test_consent_signature_must_match_the_name(as_patient, family, docs):
    a = assign(docs.consent, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(
        f"/patient/documents/{a.pk}/", {"action": "submit", "signature": "Someone Else"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Type your full name as Mary Doe to sign." in page
    assert "I have read and agree" in page
    response = client.post(
        f"/patient/documents/{a.pk}/",
        {"action": "submit", "signature": "  mary  DOE ", "agree": "yes"},
        HTTP_USER_AGENT="TestBrowser/1.0",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    s = Submission.objects.get(assignment=a)
    assert s.signed_name == "mary  DOE"
    assert s.signed_on == timezone.localdate()
    assert s.signer_user_agent == "TestBrowser/1.0"
    assert s.signer_ip == "203.0.113.7"
    assert s.consent_text == CONSENT_TEXT and s.on_behalf_of == ""


def test_proxy_signs_with_own_name_for_the_child(as_patient, family, docs):
    a = assign(docs.consent, family.tim)
    client = as_patient(family.mary, family.tim)
    # The child's name is not the signer's.
    response = client.post(
        f"/patient/documents/{a.pk}/", {"action": "submit", "signature": "Tim Doe", "agree": "yes"}
    )
    assert response.status_code == 400
    response = client.post(
        f"/patient/documents/{a.pk}/", {"action": "submit", "signature": "Mary Doe", "agree": "yes"}
    )
    assert response.status_code == 302
    s = Submission.objects.get(assignment=a)
    assert s.signed_by_line == "Mary Doe for Tim Doe"


# Access --------------------------------------------------------------------------------------


def test_patient_cannot_reach_another_charts_assignment(as_patient, family, docs):
    a = assign(docs.phq9, family.peter_a)
    client = as_patient(family.mary, family.mary_a)
    assert client.get(f"/patient/documents/{a.pk}/").status_code == 404
    assert (
        client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [0] * 9)).status_code
        == 404
    )
    assert not Submission.objects.filter(assignment=a).exists()


def test_assignment_of_another_own_chart_needs_the_switch(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_b)
    assert (
        as_patient(family.mary, family.mary_a).get(f"/patient/documents/{a.pk}/").status_code == 404
    )
    assert (
        as_patient(family.mary, family.mary_b).get(f"/patient/documents/{a.pk}/").status_code == 200
    )


def test_proxy_reaches_child_until_revoked(as_patient, family, docs):
    a = assign(docs.phq9, family.tim)
    client = as_patient(family.mary, family.tim)
    assert client.get(f"/patient/documents/{a.pk}/").status_code == 200
    family.tim_grant.revoke(by=family.clinics.cadmin)
    assert client.get(f"/patient/documents/{a.pk}/").status_code == 404


def test_pdf_only_for_own_chart(as_patient, family, docs):
    a = assign(docs.phq9, family.peter_a)
    peter = as_patient(family.peter, family.peter_a)
    assert (
        peter.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [0] * 9)).status_code == 302
    )
    s = Submission.objects.get(assignment=a)
    response = peter.get(f"/patient/documents/completed/{s.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    # Served as every private file is (portal.files): nothing runs, nothing is cached.
    assert response["Content-Security-Policy"] == DOCUMENT_CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    mary = as_patient(family.mary, family.mary_a)
    assert mary.get(f"/patient/documents/completed/{s.pk}/pdf/").status_code == 404


def test_disabled_section_is_404(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    PortalSettings.objects.create(clinic=family.clinics.a, documents=False)
    client = as_patient(family.mary, family.mary_a)
    assert client.get("/patient/documents/").status_code == 404
    assert client.get(f"/patient/documents/{a.pk}/").status_code == 404
    assert "Pending documents" not in client.get("/patient/").content.decode()


def test_staff_without_chart_find_no_patient_pages(client_for, family, docs):
    assert client_for(family.clinics.oscar).get("/patient/documents/").status_code == 404
