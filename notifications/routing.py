"""Websocket routes of this app (see portal/asgi.py)."""

from django.urls import path

from .consumers import NotificationConsumer

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
