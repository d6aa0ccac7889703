"""One way to answer a page that htmx may ask for a piece of.

A view that serves both its whole page and a fragment of it calls `render_page`: the whole
page for a plain request (and for htmx's history restore, which swaps in the whole body), the
fragment when htmx asks. The response always varies on `HX-Request`, so a cache never hands
the fragment to a plain request or the other way round.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest, *, targets: Collection[str] | None = None) -> bool:
    """Whether htmx asks for a fragment: an htmx request, not a history restore, and (when
    `targets` are given) aimed at one of those element ids."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return False
    return targets is None or htmx.target in targets


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    fragment_template: str | None = None,
    targets: Collection[str] | None = None,
    status: int | None = None,
) -> HttpResponse:
    """Render `template`, or, when htmx asks for a fragment, `template#partial` (a
    `{% partialdef %}` of the page) or `fragment_template` (a separate `_name.html`)."""
    name = template
    if (partial or fragment_template) and wants_fragment(request, targets=targets):
        name = fragment_template or f"{template}#{partial}"
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response
