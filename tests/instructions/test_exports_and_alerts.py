"""The health-records export part (PDF text, FHIR DocumentReference) and the PHI-free alerts."""

from __future__ import annotations

import base64
import io

from django.core import mail
from pypdf import PdfReader

from instructions.exports import PART, fhir_resources, write_pdf
from instructions.services import set_published
from invites import sms
from patient_portal.exports import export_parts
from patient_portal.models import PatientPreferences
from portal.pdf import PortalPDF

from .conftest import share


def test_the_part_is_registered():
    assert PART in export_parts()


def test_the_pdf_holds_title_date_provider_and_plain_text(family):
    share(
        family,
        family.tim,
        title="Sleep plan",
        text="# Night\n\n- Bed by **8 pm**\n- <b>No</b> screens",
    )
    hidden = share(family, family.tim, title="Withdrawn")
    set_published(instruction=hidden, by=None, published=False)  # type: ignore[arg-type]
    doc = PortalPDF(title="Health records", subtitle="Tim Doe")
    write_pdf(doc, family.tim)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(doc.bytes())).pages)
    assert "Clinician's Instructions" in text and "Sleep plan" in text
    assert "Alice Adams" in text and "Bed by 8 pm" in text and "<b>No</b> screens" in text
    assert "**" not in text and "Withdrawn" not in text


def test_an_empty_chart_says_so(family):
    doc = PortalPDF(title="Health records")
    write_pdf(doc, family.tim)
    text = PdfReader(io.BytesIO(doc.bytes())).pages[0].extract_text()
    assert "No instructions have been shared." in text


def test_fhir_document_references_validate(family):
    from fhir.resources.R4B.documentreference import DocumentReference

    instruction = share(family, family.tim, title="Sleep plan", text="Bed by **8 pm**")
    [resource] = fhir_resources(family.tim)
    DocumentReference.model_validate(resource)
    attachment = resource["content"][0]["attachment"]
    assert attachment["contentType"] == "text/markdown"
    assert base64.b64decode(attachment["data"]).decode() == instruction.text
    assert resource["description"] == "Sleep plan"


def test_no_alert_without_consent_and_choice(family, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        share(family, family.tim)
    assert mail.outbox == [] and sms.outbox == []


def test_alerts_go_only_as_chosen_and_carry_no_phi(family, django_capture_on_commit_callbacks):
    prefs = PatientPreferences.of(family.mary)
    prefs.email_consent = True
    prefs.sms_new_documents = True
    prefs.save()
    family.mary.phone = "4155550134"
    family.mary.save()
    with django_capture_on_commit_callbacks(execute=True):
        share(family, family.tim, title="Seizure plan", text="Secret details")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [family.mary.email]
    assert len(sms.outbox) == 1
    for text in (mail.outbox[0].subject, mail.outbox[0].body, str(sms.outbox[0])):
        for phi in ("Seizure", "Secret", "Tim", "Riverside", "Alice"):
            assert phi not in text
    # Email chosen off: no email even with consent.
    prefs.email_new_documents = False
    prefs.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        share(family, family.tim)
    assert mail.outbox == []
