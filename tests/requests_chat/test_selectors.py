import uuid

import pytest

from prescriptions.models import Prescription
from requests_chat.models import Message, ReadState, Request
from requests_chat.selectors import prescription_ids_with_unread, unread_by_prescription


def post(chat, author, body):
    return Message.objects.create(
        request=chat, author=author, body=body, client_id=uuid.uuid4().hex
    )


@pytest.mark.django_db
def test_it_counts_unread_messages_by_prescription(cast):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    post(chat, cast.alice, "hello")
    m2 = post(chat, cast.phil, "hi")
    post(chat, cast.phil, "there")
    assert unread_by_prescription(cast.alice, [cast.rx_alice.pk, cast.rx_carol.pk]) == {
        cast.rx_alice.pk: 2
    }
    assert unread_by_prescription(cast.phil, [cast.rx_alice.pk]) == {cast.rx_alice.pk: 1}
    ReadState.objects.create(user=cast.alice, request=chat, last_read_message_id=m2.pk)
    assert unread_by_prescription(cast.alice, [cast.rx_alice.pk]) == {cast.rx_alice.pk: 1}
    # Outsiders and the other prescriber see nothing.
    assert unread_by_prescription(cast.mallory, [cast.rx_alice.pk]) == {}
    assert unread_by_prescription(cast.carol, [cast.rx_alice.pk]) == {}


@pytest.mark.django_db
def test_it_gives_a_subquery_of_prescriptions_with_unread(cast):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    post(chat, cast.phil, "hi")
    ids = Prescription.objects.filter(pk__in=prescription_ids_with_unread(cast.alice))
    assert list(ids) == [cast.rx_alice]
    assert not Prescription.objects.filter(pk__in=prescription_ids_with_unread(cast.phil)).exists()
    assert not Prescription.objects.filter(pk__in=prescription_ids_with_unread(cast.carol)).exists()
