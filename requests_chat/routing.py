"""Websocket routes of this app (see portal/asgi.py)."""

from django.urls import path

from . import consumers

websocket_urlpatterns: list = [
    path("ws/requests/<int:pk>/", consumers.RequestConsumer.as_asgi()),
]
