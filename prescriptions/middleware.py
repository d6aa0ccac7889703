"""Per-request memo for the access gate (see `reachable_prescriber_ids`)."""

from .models import _reachable_cache


class AccessCacheMiddleware:
    """Compute each user's reachable prescribers at most once per HTTP request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _reachable_cache.set({})
        try:
            return self.get_response(request)
        finally:
            _reachable_cache.reset(token)
