from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest with django-htmx's `htmx` attribute (the django-htmx typing pattern)."""

    htmx: HtmxDetails


class AuthedHttpRequest(HtmxHttpRequest):
    user: User  # type: ignore[assignment]
