"""Request-wide rules of the portal: the role gates and the reader's time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from .gates import GATES, gate_for


class RoleGateMiddleware:
    """A URL whose gate the signed-in user fails is a 404, before its view runs.

    Runs after `MFARequiredMiddleware`, so a colleague who has not passed the second factor is
    still sent to it first. Anonymous requests go on to the view (which asks them to sign in).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None:
                gate = gate_for(match.view_name, match.namespace)
                if gate is not None and not GATES[gate](user):
                    raise Http404("No such page.")
        return self.get_response(request)
