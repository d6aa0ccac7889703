"""Per-request memo for the access gate (see `reachable_prescriber_ids`)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .models import _reachable_cache


class AccessCacheMiddleware:
    """Compute each user's reachable prescribers at most once per HTTP request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _reachable_cache.set({})
        try:
            return self.get_response(request)
        finally:
            _reachable_cache.reset(token)
