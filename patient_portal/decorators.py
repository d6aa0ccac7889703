"""`@patient_section(key)`: the one gate of every patient-portal view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse

from audit.models import AuditEvent

from . import sections
from .models import PERMISSIONS
from .selectors import SESSION_PORTAL_LINK, current_choice, portal_settings
from .services import record_for_chart, touch_session


def section_permission(key: str) -> str | None:
    """The portal permission a section key needs: the registered section's, or the key itself
    when it names a permission ("online_booking" for booking pages inside Schedule)."""
    section = sections.get(key)
    if section is not None:
        return section.permission
    if key in PERMISSIONS:
        return key
    raise ImproperlyConfigured(f"No patient-portal section or permission named {key!r}")


def patient_section(key: str, *, audit_reads: bool = True) -> Callable[..., Any]:
    """Gate a view of the patient portal.

    404 when the user has no chart to act for, or when the section (or permission) `key` is
    off at the chosen chart's clinic. The view finds the chart at `request.chart` (and the
    switch entry at `request.chart_choice`). Every GET is audited as a read of the chart
    ("Mary Doe for Tim Doe" when acting for someone else); views audit their changes with
    `services.record_for_chart`.

    The key is looked up at each request (apps register their sections in `ready()`, which
    may run after this decorator); an unknown key is a configuration error.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            permission = section_permission(key)
            choice = current_choice(request)
            if choice is None:
                raise Http404("No chart")
            settings = portal_settings(choice.chart)
            if not settings.allows(permission):
                raise Http404("Section off")
            request.chart = choice.chart  # type: ignore[attr-defined]
            request.chart_choice = choice  # type: ignore[attr-defined]
            request.portal_settings = settings  # type: ignore[attr-defined]
            request.session[SESSION_PORTAL_LINK] = True
            touch_session(request)
            if audit_reads and request.method in {"GET", "HEAD"}:
                section = sections.get(key)
                label = section.label if section else key
                record_for_chart(
                    request, AuditEvent.Action.VIEW, chart=choice.chart, description=label
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
