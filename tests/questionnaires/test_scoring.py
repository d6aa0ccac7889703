"""PHQ-9 and GAD-7 scored against the published tables, at every band boundary, through the
patient's own submission; and the PHQ-9 item-9 alert (1, 2, 3: yes; 0: no; once)."""

from __future__ import annotations

import pytest

from notifications.models import Activity, Notification
from questionnaires import scoring
from questionnaires.models import Submission
from tests.questionnaires.conftest import assign, points_for, scale_post

PHQ9_TABLE = [
    (0, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Moderately severe"),
    (19, "Moderately severe"),
    (20, "Severe"),
    (27, "Severe"),
]
GAD7_TABLE = [
    (0, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Severe"),
    (21, "Severe"),
]


@pytest.mark.parametrize(("total", "band"), PHQ9_TABLE)
def test_phq9_scale_bands(total, band):
    assert scoring.PHQ9.band(total) == band


@pytest.mark.parametrize(("total", "band"), GAD7_TABLE)
def test_gad7_scale_bands(total, band):
    assert scoring.GAD7.band(total) == band


@pytest.mark.parametrize("total", [-1, 28])
def test_phq9_refuses_impossible_scores(total):
    with pytest.raises(ValueError):
        scoring.PHQ9.band(total)


def test_gad7_refuses_impossible_scores():
    with pytest.raises(ValueError):
        scoring.GAD7.band(22)


def test_builtins_have_the_published_items_and_options(docs):
    phq = list(docs.phq9.questions.all())
    assert len(phq) == 10 and sum(q.scored for q in phq) == 9
    assert phq[0].text == "Little interest or pleasure in doing things"
    assert phq[8].code == "phq9_9"
    assert phq[8].text.startswith("Thoughts that you would be better off dead")
    assert [c["label"] for c in phq[0].choices] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert [c["value"] for c in phq[0].choices] == ["0", "1", "2", "3"]
    difficulty = phq[9]
    assert not difficulty.scored and not difficulty.required
    assert difficulty.text.startswith("If you checked off any problems, how difficult")
    gad = list(docs.gad7.questions.all())
    assert sum(q.scored for q in gad) == 7
    assert gad[0].text == "Feeling nervous, anxious or on edge"


@pytest.mark.parametrize(("total", "band"), PHQ9_TABLE)
def test_phq9_submission_scores_per_published_table(as_patient, family, docs, total, band):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    # The difficulty answer must never change the score.
    response = client.post(
        f"/patient/documents/{a.pk}/",
        scale_post(docs.phq9, points_for(total, 9), difficulty="extremely"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    submission = Submission.objects.get(assignment=a)
    assert (submission.score, submission.band) == (total, band)


@pytest.mark.parametrize(("total", "band"), GAD7_TABLE)
def test_gad7_submission_scores_per_published_table(as_patient, family, docs, total, band):
    a = assign(docs.gad7, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    response = client.post(
        f"/patient/documents/{a.pk}/", scale_post(docs.gad7, points_for(total, 7))
    )
    assert response.status_code == 302
    submission = Submission.objects.get(assignment=a)
    assert (submission.score, submission.band) == (total, band)


def _alerts():
    return Notification.objects.filter(activity=Activity.URGENT_ANSWER)


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_above_zero_alerts_provider_and_admins_once(as_patient, family, docs, item9):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    data = scale_post(docs.phq9, [0] * 8 + [item9])
    with pytest.MonkeyPatch.context():
        assert client.post(f"/patient/documents/{a.pk}/", data).status_code == 302
        # The same POST again (a double click, a tampered replay) is refused: no second alert.
        assert client.post(f"/patient/documents/{a.pk}/", data).status_code == 409
    recipients = sorted(_alerts().values_list("recipient__email", flat=True))
    # Provider alice and admin cadmin of clinic A; nobody of clinic B or C, never the patient.
    assert recipients == sorted([family.clinics.cadmin.email, "alice.adams@example.com"])
    submission = Submission.objects.get(assignment=a)
    assert submission.alert
    for n in _alerts():
        assert n.url == f"/clinic/portal/documents/submissions/{submission.pk}/"
        assert "Mary" not in n.title and "Doe" not in n.title


def test_item9_zero_does_not_alert(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    data = scale_post(docs.phq9, [3] * 8 + [0])
    assert client.post(f"/patient/documents/{a.pk}/", data).status_code == 302
    assert not _alerts().exists()
    assert not Submission.objects.get(assignment=a).alert


def test_gad7_never_raises_the_item9_alert(as_patient, family, docs):
    a = assign(docs.gad7, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    assert (
        client.post(f"/patient/documents/{a.pk}/", scale_post(docs.gad7, [3] * 7)).status_code
        == 302
    )
    assert not _alerts().exists()


def test_alert_email_carries_no_phi(as_patient, family, docs, mailoutbox=None):
    from django.core import mail

    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [0] * 8 + [2]))
    for message in mail.outbox:
        text = message.subject + message.body
        assert "Mary" not in text and "Doe" not in text and "PHQ" not in message.subject
