from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    # The portal's base sits below every app (docs/ARCHITECTURE.md, Layers): types only.
    from accounts.models import User


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest with django-htmx's `htmx` attribute (the django-htmx typing pattern)."""

    htmx: HtmxDetails


class AuthedHttpRequest(HtmxHttpRequest):
    user: User
