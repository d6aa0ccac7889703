import pytest
from django.urls import reverse

from requests_chat.models import Message, Request


@pytest.mark.django_db
def test_it_offers_to_create_a_request(cast, client_for):
    client = client_for(cast.alice)
    url = reverse("requests_chat:for_prescription", args=[cast.rx_alice.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"Create a new request" in response.content
    assert f"prescription={cast.rx_alice.pk}".encode() in response.content
    assert b"<html" not in response.content


@pytest.mark.django_db
def test_it_links_the_existing_request_with_unread(cast, client_for):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    Message.objects.create(request=chat, author=cast.phil, body="hi", client_id="x")
    response = client_for(cast.alice).get(
        reverse("requests_chat:for_prescription", args=[cast.rx_alice.pk])
    )
    assert response.status_code == 200
    assert b"GO TO REQUEST DETAILS" in response.content
    assert b"1 unread message" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_404s_for_outsider_and_other_prescriber(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(
        reverse("requests_chat:for_prescription", args=[cast.rx_alice.pk])
    )
    assert response.status_code == 404
