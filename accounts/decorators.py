"""Sudo mode: security actions ask for the password or a fresh code again, as healthchecks'
`require_sudo_mode` does, unless the user gave one within the last SUDO_MINUTES."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from portal.security import safe_next

SUDO_KEY = "sudo_at"


def in_sudo_mode(request: HttpRequest) -> bool:
    """Whether the user proved a factor (password or code) within the last SUDO_MINUTES."""
    at = request.session.get(SUDO_KEY)
    return isinstance(at, int | float) and 0 <= time.time() - at < settings.SUDO_MINUTES * 60


def grant_sudo_mode(request: HttpRequest) -> None:
    """Called when the user has just given their password or a code (sign-in, the sudo page)."""
    request.session[SUDO_KEY] = time.time()


def require_sudo_mode(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run `view` only in sudo mode; otherwise send the user to confirm it's them first.

    A GET comes back to itself afterwards. A POST does nothing and comes back to the page its
    form was on (the Referer, if it is on this site), where the user repeats the action.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if in_sudo_mode(request):
            return view(request, *args, **kwargs)
        if request.method == "GET":
            back = request.get_full_path()
        else:
            back = safe_next(request, request.META.get("HTTP_REFERER")) or reverse(
                "accounts:profile"
            )
        url = f"{reverse('accounts:sudo')}?{urlencode({'next': back})}"
        if getattr(request, "htmx", False):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)

    return wrapper
