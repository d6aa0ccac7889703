"""Websocket routes of this app (see portal/asgi.py)."""

websocket_urlpatterns: list = []
