from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .gates import Can


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "PRODUCT_NAME": settings.PRODUCT_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        # Seconds until the server ends this session if nothing more happens (the idle
        # middleware records activity at most once a minute), else the full idle time.
        "SESSION_IDLE_SECONDS": getattr(
            request, "idle_seconds_left", settings.SESSION_IDLE_MINUTES * 60
        ),
        "SESSION_IDLE_WARNING_SECONDS": settings.SESSION_IDLE_WARNING_SECONDS,
        # The named gates of portal.gates, for the nav: {% if can.dashboard %}.
        "can": Can(getattr(request, "user", None)),
    }
