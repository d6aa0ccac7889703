"""`{% idempotency_field %}`: the hidden key that makes a create form safe to submit twice."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal.idempotency import FIELD, new_key, posted_key

register = template.Library()


@register.simple_tag(takes_context=True)
def idempotency_field(context: template.Context) -> SafeString:
    """A fresh key, or the posted one when the same form is shown again (review, errors)."""
    request = context.get("request")
    key = (posted_key(request) if request is not None else "") or new_key()
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, key)
