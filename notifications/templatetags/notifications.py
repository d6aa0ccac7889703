from typing import Any

from django import template

from ..selectors import bell_context

register = template.Library()


@register.simple_tag(takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    """The bell's data for the signed-in user; `live` only once the second factor is passed
    (the socket refuses unverified sessions, so don't make the browser retry forever)."""
    user = context["request"].user
    bell = bell_context(user)
    is_verified = getattr(user, "is_verified", None)
    bell["live"] = bool(is_verified and is_verified())
    return bell
