"""Each generated PDF opened with pypdf: names, answers, scores, page numbers (a scale, a long
intake over several pages, a consent signed by a proxy); the export part (PDF pages and FHIR
QuestionnaireResponse per submission, validated with fhir.resources R4B)."""

from __future__ import annotations

import io

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pypdf import PdfReader

from patient_portal.exports import export_parts
from portal.pdf import PortalPDF
from questionnaires.exports import fhir_resources
from questionnaires.models import Question, Submission
from tests.questionnaires.conftest import assign, scale_post


def _text(data: bytes) -> tuple[list[str], str]:
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]
    return pages, "\n".join(pages)


def test_phq9_pdf_has_person_answers_score_and_pages(as_patient, family, docs):
    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    client.post(
        f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [2] * 8 + [1], difficulty="somewhat")
    )
    s = Submission.objects.get(assignment=a)
    pages, text = _text(s.pdf.read())
    assert "PHQ-9 (Patient Health Questionnaire)" in text
    assert "Mary Doe" in text and "Riverside Family Clinic" in text
    assert "Little interest or pleasure in doing things" in text
    assert "More than half the days (2)" in text
    assert "Somewhat difficult" in text
    assert "17 of 27" in text and "Moderately severe" in text
    assert "Item 9 answered above 0" in text
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_long_form_pdf_numbers_every_page(as_patient, family, docs):
    for n in range(7, 40):
        Question.objects.create(
            form=docs.intake,
            position=n,
            kind="long_text",
            text=f"Extra question {n}",
            required=False,
        )
    a = assign(docs.intake, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    data = {"action": "submit"}
    for q in docs.intake.questions.all():
        if q.kind == "long_text":
            data[q.field_name] = f"Answer to {q.text}\n" + "words " * 60
    data[docs.intake.questions.get(position=2).field_name] = "2024-05-01"
    data[docs.intake.questions.get(position=5).field_name] = "yes"
    data[docs.intake.questions.get(position=6).field_name] = "7"
    assert client.post(f"/patient/documents/{a.pk}/", data).status_code == 302
    pages, text = _text(Submission.objects.get(assignment=a).pdf.read())
    assert len(pages) > 2
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page
    assert "Answer to Extra question 39" in text
    assert "About you" in text and "History" in text
    assert "7 (0 = No pain; 10 = Worst pain)" in text


def test_consent_pdf_has_the_signature_block(as_patient, family, docs):
    a = assign(docs.consent, family.tim)
    client = as_patient(family.mary, family.tim)
    client.post(
        f"/patient/documents/{a.pk}/",
        {"action": "submit", "signature": "Mary Doe", "agree": "yes"},
        HTTP_USER_AGENT="TestBrowser/2.0",
        REMOTE_ADDR="198.51.100.4",
    )
    s = Submission.objects.get(assignment=a)
    pages, text = _text(s.pdf.read())
    assert "Telehealth consent" in text and "Tim Doe" in text
    assert "I agree to receive care by video visits." in text
    assert "Signature" in text and "Mary Doe for Tim Doe" in text
    assert "198.51.100.4" in text and "TestBrowser/2.0" in text
    assert "Consent version" in text
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_export_part_is_registered_and_writes_pages_and_fhir(as_patient, family, docs):
    assert "documents" in [p.key for p in export_parts()]
    part = next(p for p in export_parts() if p.key == "documents")
    client = as_patient(family.mary, family.mary_a)
    a = assign(docs.phq9, family.mary_a)
    client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [1] * 9))
    b = assign(docs.intake, family.mary_a)
    client.post(
        f"/patient/documents/{b.pk}/",
        {
            "action": "submit",
            docs.intake.questions.get(position=2).field_name: "2024-05-01",
            docs.intake.questions.get(position=4).field_name: ["o1", "o2"],
            docs.intake.questions.get(position=5).field_name: "no",
            docs.intake.questions.get(position=6).field_name: "2",
        },
    )
    assert part.count and part.count(family.mary_a) == 2
    doc = PortalPDF(title="Health records")
    part.write_pdf(doc, family.mary_a)
    _, text = _text(doc.bytes())
    assert "Feeling down, depressed, or hopeless" in text and "Several days" in text
    assert "Asthma, Diabetes" in text

    resources = fhir_resources(family.mary_a)
    assert len(resources) == 2
    for resource in resources:
        QuestionnaireResponse.model_validate(resource)
    phq = next(r for r in resources if "phq-9" in r["questionnaire"])
    assert phq["questionnaire"].endswith("/fhir/Questionnaire/phq-9|1")
    assert phq["status"] == "completed"
    assert {"url": phq["extension"][0]["url"], "valueInteger": 9} == phq["extension"][0]
    first = phq["item"][0]
    assert first["answer"] == [{"valueCoding": {"code": "1", "display": "Several days"}}]
    # Nothing of other charts.
    assert fhir_resources(family.peter_a) == []


def test_a_submitted_form_is_filed_under_the_charts_health_records(as_patient, family, docs):
    from records.models import HealthRecord

    a = assign(docs.phq9, family.mary_a)
    client = as_patient(family.mary, family.mary_a)
    client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [1] * 9))
    s = Submission.objects.get(assignment=a)
    record = HealthRecord.objects.get(chart=family.mary_a, source=f"documents:{s.pk}")
    assert record.kind == "completed_document"
    assert record.title.startswith("PHQ-9")
    _, text = _text(record.file.read())
    assert "Mary Doe" in text and "9 of 27" in text
    # Filed once: the same POST again (a double click) adds nothing.
    client.post(f"/patient/documents/{a.pk}/", scale_post(docs.phq9, [1] * 9))
    assert HealthRecord.objects.filter(source=f"documents:{s.pk}").count() == 1
