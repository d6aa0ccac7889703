"""Websocket routes of Messages (see portal/asgi.py)."""

from django.urls import path

from . import consumers

websocket_urlpatterns: list = [
    # Channels routes ASGI apps with Django's path(); the stubs only know HTTP views.
    path("ws/patient/messages/", consumers.PatientMessagesConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/clinic/messages/", consumers.ClinicMessagesConsumer.as_asgi()),  # type: ignore[arg-type]
]
