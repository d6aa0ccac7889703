"""Session rules that apply to every request: the second factor and the idle timeout."""

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode


class MFARequiredMiddleware:
    """Nothing but the MFA pages is reachable before the second factor.

    Applies to every signed-in user except patients who have not set up an authenticator (MFA
    is optional for them; once set up, it is asked like anyone's). Static files,
    sign-out and the keep-alive ping stay reachable; htmx requests get an HX-Redirect.
    """

    ALLOWED = {
        "accounts:login",
        "accounts:sign_out",
        "accounts:keep_alive",
        "accounts:mfa",
        "accounts:mfa_setup",
        "accounts:mfa_verify",
        "accounts:recovery_codes",
        "accounts:recovery_codes_download",
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    @staticmethod
    def second_factor_due(user: Any) -> bool:
        """Staff always; a patient only after choosing to set up an authenticator."""
        if not user.is_patient:
            return True
        from django_otp.plugins.otp_totp.models import TOTPDevice

        return TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(settings.STATIC_URL)
            and self.second_factor_due(user)
        ):
            try:
                name = resolve(request.path_info).view_name
            except Resolver404:
                name = ""
            if name not in self.ALLOWED:
                if request.method == "GET" and not getattr(request, "htmx", False):
                    request.session["mfa_next"] = request.get_full_path()
                url = reverse("accounts:mfa")
                if getattr(request, "htmx", False):
                    return HttpResponse(status=204, headers={"HX-Redirect": url})
                return redirect(url)
        return self.get_response(request)


class IdleTimeoutMiddleware:
    """End the session server-side after SESSION_IDLE_MINUTES without activity."""

    SESSION_KEY = "last_activity"
    # Background polls must not count as activity, or an open tab would never time out.
    PASSIVE_HEADER = "HTTP_X_PASSIVE_REQUEST"
    # The last activity is written at most this often (capped at half the warning time, see
    # `write_interval`): writing it on every request saved the session on every page, an UPDATE
    # and a commit each time. The cost is that a session may end up to this many seconds before
    # SESSION_IDLE_MINUTES after the last request; the page's idle timer (portal.js) counts from
    # the moment the server recorded (`idle_seconds_left`), so its warning still comes first.
    WRITE_EVERY_SECONDS = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(self.SESSION_KEY, now)
            if now - last > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                # The message middleware runs after this one: the sign-in page says why instead.
                login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.path, 'timeout': '1'})}"
                if getattr(request, "htmx", False):
                    # htmx would swap the sign-in page into a fragment; send the browser there.
                    return HttpResponse(status=204, headers={"HX-Redirect": login_url})
                return redirect(login_url)
            if not request.META.get(self.PASSIVE_HEADER) and (
                self.SESSION_KEY not in request.session or now - last >= self.write_interval()
            ):
                request.session[self.SESSION_KEY] = last = now
            request.idle_seconds_left = max(  # type: ignore[attr-defined]
                0, int(settings.SESSION_IDLE_MINUTES * 60 - (now - last))
            )
        return self.get_response(request)

    @classmethod
    def write_interval(cls) -> float:
        """How long a recorded activity stands before a request records a newer one."""
        return min(cls.WRITE_EVERY_SECONDS, settings.SESSION_IDLE_WARNING_SECONDS / 2)
