"""The patient side of Clinician's Instructions: list, read (first read recorded once, audited
"X for Y"), PDF, Home card, access per role, section off."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from instructions.forms import InstructionForm
from instructions.models import InstructionRead
from patient_portal.models import PortalSettings
from patient_portal.selectors import SESSION_CHART

from .conftest import make_pdf, share


def choose(client, chart):
    session = client.session
    session[SESSION_CHART] = chart.pk
    session.save()


def checked(data=None):
    from requests_chat.documents import check_pdf

    return check_pdf(data or make_pdf("Exercise sheet"), name="exercises.pdf")


def test_the_list_shows_the_chart_s_instructions_newest_first_with_unread_marks(patient, family):
    old = share(family, title="Old plan")
    new = share(family, title="New plan")
    InstructionRead.objects.create(instruction=old, reader=family.mary)
    share(family, family.mary_b, title="Lakeside note")  # another chart of hers
    choose(patient, family.mary_a)
    html = patient.get(reverse("instructions:list")).content.decode()
    assert html.index("New plan") < html.index("Old plan")
    assert "Lakeside note" not in html
    assert html.count('class="badge ins-new"') == 1  # only the unread one
    assert "1 new." in html
    assert new.title in html


def test_reading_marks_the_first_read_once_and_audits_x_for_y(patient, family):
    instruction = share(family, family.tim, title="Tim's plan", text="Sleep **early**.")
    choose(patient, family.tim)
    url = reverse("instructions:detail", args=[instruction.pk])
    first = patient.get(url)
    assert first.status_code == 200
    assert "<strong>early</strong>" in first.content.decode()
    read = InstructionRead.objects.get(instruction=instruction)
    assert read.reader == family.mary and read.on_behalf_of == "Tim Doe"
    patient.get(url)
    assert InstructionRead.objects.filter(instruction=instruction).count() == 1
    assert InstructionRead.objects.get().first_read_at == read.first_read_at
    events = AuditEvent.objects.filter(
        chart_id=family.tim.pk, object_id=str(instruction.pk), action="view"
    )
    assert events.count() == 2
    assert all(e.description.startswith("Mary Doe for Tim Doe:") for e in events)
    assert "(first read)" in events.order_by("pk").first().description


def test_a_patient_never_reads_another_chart_s_instruction_by_id(patient, family):
    peters = share(family, family.peter_a, title="Peter's plan")
    choose(patient, family.mary_a)
    for name in ("instructions:detail", "instructions:pdf"):
        assert patient.get(reverse(name, args=[peters.pk])).status_code == 404
    assert patient.get(reverse("instructions:detail", args=[10**12])).status_code == 404
    assert not InstructionRead.objects.exists()


def test_an_instruction_of_her_other_chart_is_404_until_she_switches(patient, family):
    lakeside = share(family, family.mary_b, title="Lakeside note")
    choose(patient, family.mary_a)
    assert patient.get(reverse("instructions:detail", args=[lakeside.pk])).status_code == 404
    choose(patient, family.mary_b)
    assert patient.get(reverse("instructions:detail", args=[lakeside.pk])).status_code == 200


def test_a_proxy_reads_until_revoked_then_404(client, family):
    instruction = share(family, family.peter_a, title="Peter's plan")
    client.force_login(family.grace)  # carer of Peter, grant ends tomorrow
    url = reverse("instructions:detail", args=[instruction.pk])
    assert client.get(url).status_code == 200
    family.grace_grant.revoke(by=family.clinics.cadmin)
    assert client.get(url).status_code == 404
    assert client.get(reverse("instructions:list")).status_code == 404


def test_an_unpublished_instruction_is_gone_for_the_patient(patient, family):
    from instructions.services import set_published

    instruction = share(family, title="Withdrawn plan")
    set_published(instruction=instruction, by=family.clinics.cadmin, published=False)
    choose(patient, family.mary_a)
    assert "Withdrawn plan" not in patient.get(reverse("instructions:list")).content.decode()
    assert patient.get(reverse("instructions:detail", args=[instruction.pk])).status_code == 404


def test_the_pdf_is_served_after_the_access_check_and_audited(patient, family):
    instruction = share(family, pdf=checked())
    choose(patient, family.mary_a)
    response = patient.get(reverse("instructions:pdf", args=[instruction.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "private" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="download", object_id=str(instruction.pk)).exists()
    # Stored under a random key, never its uploaded name.
    assert "exercises" not in instruction.pdf.name


def test_an_instruction_without_pdf_has_no_pdf_url(patient, family):
    instruction = share(family)
    choose(patient, family.mary_a)
    assert patient.get(reverse("instructions:pdf", args=[instruction.pk])).status_code == 404


def test_home_card_counts_unread_and_shows_the_latest(patient, family):
    choose(patient, family.mary_a)
    html = patient.get(reverse("patient_portal:home")).content.decode()
    assert "Clinician&#x27;s Instructions" in html or "Clinician's Instructions" in html
    assert "No instructions yet" in html and "Account" in html
    share(family, title="First")
    share(family, title="Second")
    html = patient.get(reverse("patient_portal:home")).content.decode()
    assert "2 new instructions" in html and "Second" in html


def test_home_card_queries_do_not_grow_with_instructions(
    patient, family, django_assert_max_num_queries
):
    choose(patient, family.mary_a)
    share(family)
    patient.get(reverse("patient_portal:home"))
    with django_assert_max_num_queries(40) as few:
        patient.get(reverse("patient_portal:home"))
    for n in range(15):
        share(family, title=f"Plan {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        patient.get(reverse("patient_portal:home"))


def test_the_list_queries_do_not_grow_with_instructions(
    patient, family, django_assert_max_num_queries
):
    choose(patient, family.mary_a)
    share(family)
    patient.get(reverse("instructions:list"))
    with django_assert_max_num_queries(40) as few:
        patient.get(reverse("instructions:list"))
    for n in range(15):
        share(family, title=f"Plan {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        patient.get(reverse("instructions:list"))


def test_section_off_is_404_and_absent_from_nav_and_home(patient, family):
    instruction = share(family)
    PortalSettings.objects.create(
        clinic=family.clinics.a, instructions=False, updated_at=timezone.now()
    )
    choose(patient, family.mary_a)
    for url in (
        reverse("instructions:list"),
        reverse("instructions:detail", args=[instruction.pk]),
        reverse("instructions:pdf", args=[instruction.pk]),
    ):
        assert patient.get(url).status_code == 404
    html = patient.get(reverse("patient_portal:home")).content.decode()
    assert reverse("instructions:list") not in html
    assert "card-instructions-title" not in html


@pytest.mark.parametrize("who", ["staff", "outsider"])
def test_staff_and_strangers_have_no_patient_side(client_for, family, cast, who):
    instruction = share(family)
    user = family.clinics.cadmin if who == "staff" else cast.mallory
    c = client_for(user)
    assert c.get(reverse("instructions:detail", args=[instruction.pk])).status_code == 404


def test_the_form_refuses_bad_input_with_clear_messages():
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = InstructionForm(
        {"title": "x" * 201, "text": "ok"},
    )
    assert not form.is_valid()
    assert "at most 200 characters" in form.errors["title"][0]
    form = InstructionForm({"title": "Plan\x07", "text": "Line\x1bone"})
    assert not form.is_valid()
    assert "control characters" in form.errors["title"][0]
    assert "control characters" in form.errors["text"][0]
    form = InstructionForm({"title": "  ", "text": " \n "})
    assert not form.is_valid() and "Enter a title" in form.errors["title"][0]
    assert "Enter the text" in form.errors["text"][0]
    fake = SimpleUploadedFile("plan.pdf", b"<html>not a pdf</html>", content_type="application/pdf")
    form = InstructionForm({"title": "Plan", "text": "Text"}, {"document": fake})
    assert not form.is_valid() and "not a PDF" in form.errors["document"][0]
    scripted = SimpleUploadedFile("plan.pdf", make_pdf(js=True), content_type="application/pdf")
    form = InstructionForm({"title": "Plan", "text": "Text"}, {"document": scripted})
    assert not form.is_valid() and "JavaScript" in form.errors["document"][0]
    form = InstructionForm({"title": "Plan", "text": "x" * 20_001})
    assert not form.is_valid() and "at most 20,000 characters" in form.errors["text"][0]


def test_a_head_request_is_not_a_read(patient, family):
    instruction = share(family)
    choose(patient, family.mary_a)
    assert patient.head(reverse("instructions:detail", args=[instruction.pk])).status_code == 200
    assert not InstructionRead.objects.exists()
    assert patient.post(reverse("instructions:detail", args=[instruction.pk])).status_code == 405
