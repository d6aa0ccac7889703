"""Patient profile and prescription pop-up: only visible rows, 404 otherwise, always audited."""

import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from prescriptions.models import Status, StatusChange

pytestmark = pytest.mark.django_db


def profile(pk: int) -> str:
    return reverse("prescriptions:patient", args=[pk])


def detail(pk: int) -> str:
    return reverse("prescriptions:prescription", args=[pk])


def test_it_shows_demographics_and_active_and_past_prescriptions(cast, client_for):
    response = client_for(cast.alice).get(profile(cast.pat_alice.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "AVRIL LAVIGNE" in body
    for text in [
        "1980-01-01",
        "4165552639",
        "Female",
        "2751 Pennsylvania Ave, Philadelphia, PA 19130",
        "avril@example.com",
        "Alice Adams",
        "Active Prescriptions",
        "Refills Remaining",
        "Messaging",
    ]:
        assert text in body, text
    assert [rx.pharmacy_rx_id for rx in response.context["active"]] == ["RX1001"]
    assert [rx.pharmacy_rx_id for rx in response.context["past"]] == ["RX1002"]


@pytest.mark.parametrize("who", ["alice", "bob", "phil"])
def test_it_shows_a_shared_patient_only_the_visible_prescriptions(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(profile(cast.pat_shared.pk))
    assert response.status_code == 200
    assert {rx.pharmacy_rx_id for rx in response.context["active"]} == {"RX3001"}
    body = response.content.decode()
    assert "Dupixent" in body
    assert "Enbrel" not in body  # carol's prescription for the same patient
    assert "Carol Clark" not in body


def test_it_shows_carol_her_side_of_the_shared_patient(cast, client_for):
    response = client_for(cast.carol).get(profile(cast.pat_shared.pk))
    assert {rx.pharmacy_rx_id for rx in response.context["active"]} == {"RX3002"}


@pytest.mark.parametrize("who", ["carol", "mallory"])
def test_it_404s_someone_elses_patient(cast, client_for, who):
    assert client_for(getattr(cast, who)).get(profile(cast.pat_alice.pk)).status_code == 404


def test_it_404s_a_patient_that_does_not_exist_the_same_way(cast, client_for):
    missing = client_for(cast.alice).get(profile(999999))
    hidden = client_for(cast.alice).get(profile(cast.pat_carol.pk))
    assert missing.status_code == hidden.status_code == 404
    assert missing.content == hidden.content


def test_it_audits_every_profile_view(cast, client_for):
    client_for(cast.bob).get(profile(cast.pat_alice.pk))
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.user, event.patient_id, event.object_type) == (
        cast.bob,
        cast.pat_alice.pk,
        "prescriptions.Patient",
    )


def test_it_opens_the_prescription_pop_up_from_the_profile(cast, client_for):
    body = client_for(cast.alice).get(profile(cast.pat_alice.pk)).content.decode()
    url = detail(cast.rx_alice.pk)
    assert f'href="{url}" hx-get="{url}" hx-target="#rx-dialog-content"' in body
    assert '<dialog id="rx-dialog"' in body


def test_it_shows_prescription_details_with_pharmacy_and_timeline(cast, client_for):
    StatusChange.objects.create(
        prescription=cast.rx_alice, from_status="", to_status=Status.REFERRAL_RECEIVED
    )
    StatusChange.objects.create(
        prescription=cast.rx_alice,
        from_status=Status.REFERRAL_RECEIVED,
        to_status=Status.ORDER_SCHEDULED,
    )
    response = client_for(cast.phil).get(detail(cast.rx_alice.pk), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # the fragment for the pop-up
    assert "Dispensing Pharmacy" in body and "CareLink Specialty Pharmacy" in body
    assert "Timeline" in body
    assert body.index("Order Scheduled</strong>") < body.index("Referral Received</strong>")
    full = client_for(cast.phil).get(detail(cast.rx_alice.pk)).content.decode()
    assert "<html" in full and "Dispensing Pharmacy" in full  # the no-JavaScript fallback


@pytest.mark.parametrize("who", ["carol", "mallory"])
def test_it_404s_someone_elses_prescription(cast, client_for, who):
    assert client_for(getattr(cast, who)).get(detail(cast.rx_alice.pk)).status_code == 404


def test_it_404s_carols_rx_for_alice_even_for_a_shared_patient(cast, client_for):
    assert client_for(cast.alice).get(detail(cast.rx_shared_carol.pk)).status_code == 404


def test_it_audits_every_prescription_view(cast, client_for):
    client_for(cast.alice).get(detail(cast.rx_alice.pk), headers={"HX-Request": "true"})
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.object_type, event.object_id, event.patient_id) == (
        "prescriptions.Prescription",
        str(cast.rx_alice.pk),
        cast.pat_alice.pk,
    )


def test_it_shows_the_profile_with_constant_queries(
    cast, client_for, django_assert_max_num_queries
):
    from tests.conftest import make_rx

    for n in range(20):
        make_rx(f"RXM{n}", cast.pat_alice, cast.npi_alice, cast.pharmacy)
    client = client_for(cast.alice)
    with django_assert_max_num_queries(14):  # includes the access gate's prescriber list
        assert client.get(profile(cast.pat_alice.pk)).status_code == 200


def test_it_links_the_dashboard_patient_name_to_the_profile(cast, client_for):
    body = client_for(cast.alice).get("/dashboard/").content.decode()
    assert f'href="{profile(cast.pat_alice.pk)}"' in body


def test_the_timeline_says_which_delegate_opened_the_request_and_shared_a_document(
    cast, client_for, settings, tmp_path
):
    """Prescribers with delegates see who did what: the delegate's name and role."""
    from pypdf import PdfWriter

    from requests_chat.documents import check_pdf
    from requests_chat.services import create_request

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    create_request(
        prescription=cast.rx_alice,
        author=cast.bob,
        body="Any update?",
        files=[("Referral letter", check_pdf(buffer.getvalue(), name="letter.pdf"))],
    )
    body = (
        client_for(cast.alice)
        .get(detail(cast.rx_alice.pk), headers={"HX-Request": "true"})
        .content.decode()
    )
    assert "Request created</a> by Bob Baker (Prescriber delegate)" in body
    assert "Document “Referral letter” shared by Bob Baker (Prescriber delegate)" in body
    # Carol cannot reach the prescription at all, let alone its timeline.
    assert client_for(cast.carol).get(detail(cast.rx_alice.pk)).status_code == 404
