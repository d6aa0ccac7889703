"""Websocket routes of this app (see portal/asgi.py)."""

from django.urls import path

from .consumers import NotificationConsumer

websocket_urlpatterns: list = [
    # Channels routes ASGI apps with Django's path(); the stubs only know HTTP views.
    path("ws/notifications/", NotificationConsumer.as_asgi()),  # type: ignore[arg-type]
]
