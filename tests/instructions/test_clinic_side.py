"""The Clinic area's Clinician's Instructions: only staff of the chart's clinic write, edit
(until the first read), unpublish; they see who first read each instruction and when."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from instructions.models import Instruction, InstructionRead

from .conftest import make_pdf, share


def test_a_provider_writes_an_instruction_with_a_pdf(client_for, family):
    client = client_for(family.clinics.prov_alice.user)
    pdf = SimpleUploadedFile("plan.pdf", make_pdf("Plan"), content_type="application/pdf")
    response = client.post(
        reverse("clinic_instructions:new", args=[family.tim.pk]),
        {"title": "  Sleep   plan ", "text": "Bed by **8 pm**.", "document": pdf},
    )
    assert response.status_code == 302
    instruction = Instruction.objects.get()
    assert instruction.chart == family.tim and instruction.title == "Sleep plan"
    assert instruction.author_name == "Alice Adams" and instruction.pdf_pages == 1
    event = AuditEvent.objects.get(action="create", object_id=str(instruction.pk))
    assert event.chart_id == family.tim.pk and event.on_behalf_of == "Tim Doe"
    page = client.get(reverse("clinic_instructions:detail", args=[instruction.pk])).content.decode()
    assert "<strong>8 pm</strong>" in page and "Not read yet" in page


def test_a_clinic_admin_writes_too(client_for, family):
    client = client_for(family.clinics.cadmin)
    response = client.post(
        reverse("clinic_instructions:new", args=[family.peter_a.pk]),
        {"title": "Diet", "text": "Less salt."},
    )
    assert response.status_code == 302
    assert Instruction.objects.get().author_name  # the admin's name


def test_bad_input_is_refused_with_clear_messages(client_for, family):
    client = client_for(family.clinics.prov_alice.user)
    url = reverse("clinic_instructions:new", args=[family.tim.pk])
    bad_pdf = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 junk", content_type="application/pdf")
    response = client.post(url, {"title": "t" * 300, "text": "ok", "document": bad_pdf})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The title can be at most 200 characters" in html
    assert "damaged or incomplete" in html
    # Control characters never reach the form: the portal refuses the request, naming the field.
    refused = client.post(url, {"title": "Plan", "text": "ok\x00"})
    assert refused.status_code == 400 and "text" in refused.content.decode()
    assert not Instruction.objects.exists()


@pytest.mark.parametrize("who", ["oscar", "carol_other_clinic", "patient", "proxy", "mallory"])
def test_only_staff_of_the_chart_s_clinic_reach_the_clinic_side(
    client_for, client, family, cast, who
):
    instruction = share(family, family.tim)
    users = {
        "oscar": family.clinics.oscar,
        "carol_other_clinic": cast.carol,
        "patient": family.peter,
        "proxy": family.mary,
        "mallory": cast.mallory,
    }
    c = client_for(users[who])
    pk, chart_pk = instruction.pk, family.tim.pk
    for name, args in (
        ("clinic_instructions:chart", [chart_pk]),
        ("clinic_instructions:new", [chart_pk]),
        ("clinic_instructions:detail", [pk]),
        ("clinic_instructions:edit", [pk]),
        ("clinic_instructions:pdf", [pk]),
    ):
        assert c.get(reverse(name, args=args)).status_code == 404, name
    assert (
        c.post(
            reverse("clinic_instructions:new", args=[chart_pk]), {"title": "x", "text": "y"}
        ).status_code
        == 404
    )
    assert c.post(reverse("clinic_instructions:unpublish", args=[pk])).status_code == 404
    assert (
        c.post(
            reverse("clinic_instructions:edit", args=[pk]), {"title": "x", "text": "y"}
        ).status_code
        == 404
    )
    instruction.refresh_from_db()
    assert instruction.is_published and instruction.title == "Treatment plan"
    assert Instruction.objects.count() == 1


def test_the_clinic_sees_each_reader_s_first_read(client_for, client, family):
    instruction = share(family, family.tim, title="Tim's plan")
    # Mary (parent) reads it as a proxy, twice.
    client.force_login(family.mary)
    session = client.session
    session["patient_portal_chart_id"] = family.tim.pk
    session.save()
    client.get(reverse("instructions:detail", args=[instruction.pk]))
    client.get(reverse("instructions:detail", args=[instruction.pk]))
    read = InstructionRead.objects.get()
    staff = client_for(family.clinics.prov_alice.user)
    html = staff.get(reverse("clinic_instructions:chart", args=[family.tim.pk])).content.decode()
    assert "First read by Mary Doe (for Tim Doe)" in html
    assert timezone.localtime(read.first_read_at).isoformat() in html
    assert html.count("First read by") == 1
    index = staff.get(reverse("clinic_instructions:index")).content.decode()
    assert "Read by 1" in index


def test_editing_works_until_the_first_read_then_it_is_frozen(client_for, family):
    instruction = share(family, family.tim, title="Draft plan")
    client = client_for(family.clinics.prov_alice.user)
    url = reverse("clinic_instructions:edit", args=[instruction.pk])
    assert client.post(url, {"title": "Plan v2", "text": "New text"}).status_code == 302
    instruction.refresh_from_db()
    assert instruction.title == "Plan v2" and instruction.text == "New text"
    assert AuditEvent.objects.filter(action="update", object_id=str(instruction.pk)).exists()
    InstructionRead.objects.create(instruction=instruction, reader=family.mary)
    response = client.post(url, {"title": "Plan v3", "text": "Changed after reading"})
    assert response.status_code == 302
    instruction.refresh_from_db()
    assert instruction.title == "Plan v2"
    detail = client.get(
        reverse("clinic_instructions:detail", args=[instruction.pk])
    ).content.decode()
    assert "stays as it was read" in detail
    assert reverse("clinic_instructions:edit", args=[instruction.pk]) not in detail


def test_unpublish_and_publish_again(client_for, family):
    instruction = share(family, family.tim)
    client = client_for(family.clinics.cadmin)
    assert (
        client.post(reverse("clinic_instructions:unpublish", args=[instruction.pk])).status_code
        == 302
    )
    instruction.refresh_from_db()
    assert not instruction.is_published and instruction.unpublished_by == family.clinics.cadmin
    # Staff still see it, marked.
    html = client.get(reverse("clinic_instructions:chart", args=[family.tim.pk])).content.decode()
    assert "Unpublished" in html
    assert (
        client.post(reverse("clinic_instructions:publish", args=[instruction.pk])).status_code
        == 302
    )
    instruction.refresh_from_db()
    assert instruction.is_published
    assert AuditEvent.objects.filter(object_id=str(instruction.pk), action="update").count() == 2
    assert (
        client.get(reverse("clinic_instructions:unpublish", args=[instruction.pk])).status_code
        == 405
    )


def test_staff_download_the_pdf(client_for, family):
    from requests_chat.documents import check_pdf

    instruction = share(family, family.tim, pdf=check_pdf(make_pdf(), name="a.pdf"))
    client = client_for(family.clinics.prov_alice.user)
    response = client.get(reverse("clinic_instructions:pdf", args=[instruction.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_the_chart_page_links_to_the_chart_s_instructions(client_for, family):
    client = client_for(family.clinics.cadmin)
    html = client.get(reverse("clinic_portal:chart", args=[family.tim.pk])).content.decode()
    assert reverse("clinic_instructions:chart", args=[family.tim.pk]) in html


def test_the_chart_list_queries_do_not_grow(client_for, family, django_assert_max_num_queries):
    client = client_for(family.clinics.prov_alice.user)
    url = reverse("clinic_instructions:chart", args=[family.tim.pk])
    share(family, family.tim)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for n in range(10):
        i = share(family, family.tim, title=f"P{n}")
        InstructionRead.objects.create(instruction=i, reader=family.mary)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
