"""Create POSTs that are safe to send twice (a double click, a retry after a failover).

A form that creates something carries a hidden `idempotency_key` (`{% idempotency_field %}`,
from `portal.templatetags.idempotency`), fresh for each form shown. The view is wrapped in
`@idempotent` and calls `created(request)` once it has created something: the answer (a
redirect, or the page rendered) is then stored as an `IdempotencyKey` of (user, view, key) in
the same transaction as what was created. The same POST again gets that first answer and
creates nothing; two at the same moment: the second's insert of the key fails, its work is
rolled back, and it answers the first's answer. Records are kept IDEMPOTENCY_KEY_HOURS.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone

from .models import IdempotencyKey

FIELD = "idempotency_key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_key() -> str:
    return uuid.uuid4().hex


def posted_key(request: HttpRequest) -> str:
    """The well-formed key of this POST, or ""."""
    key = request.POST.get(FIELD, "") if request.method == "POST" else ""
    return key if KEY_PATTERN.fullmatch(key) else ""


def created(request: HttpRequest) -> None:
    """Tell `@idempotent` that this POST created something: remember its answer."""
    request._idempotent_created = True  # type: ignore[attr-defined]


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        record.body, status=record.status, content_type=record.content_type or None
    )
    if record.location:
        response["Location"] = record.location
    return response


def _lookup(user: Any, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key).first()


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer a repeated create POST (same user, view and key) with the first answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not raw or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(raw):
            return HttpResponseBadRequest(
                "This form's submission key is not valid. Reload the page and submit again.",
                content_type="text/plain; charset=utf-8",
            )
        name = request.resolver_match.view_name if request.resolver_match else view.__name__
        key = f"{name}:{raw}"[:150]
        if (record := _lookup(request.user, key)) is not None:
            return _replay(record)
        try:
            with transaction.atomic():
                response = view(request, *args, **kwargs)
                if (
                    getattr(request, "_idempotent_created", False)
                    and response.status_code < 400
                    and not response.streaming
                ):
                    IdempotencyKey.objects.create(
                        user=request.user,
                        key=key,
                        status=response.status_code,
                        location=response.get("Location", "")[:2000],
                        body=response.content.decode(response.charset or "utf-8", "replace"),
                        content_type=response.get("Content-Type", "")[:100],
                    )
                    hours = getattr(settings, "IDEMPOTENCY_KEY_HOURS", 24)
                    IdempotencyKey.objects.filter(
                        created_at__lt=timezone.now() - dt.timedelta(hours=hours)
                    ).delete()
        except IntegrityError:
            # The same POST committed first meanwhile (our work was rolled back with the key).
            if (record := _lookup(request.user, key)) is None:
                raise
            return _replay(record)
        return response

    return wrapper
