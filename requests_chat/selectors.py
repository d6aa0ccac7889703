"""Read-only queries other apps use (dashboard, profile, notifications): unread counts.

A message is unread for a user when it is in a request they may see, was written by someone
else, and has an id above their ReadState.last_read_message_id (0 when they never opened it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from prescriptions.models import Prescription

from .models import Message, ReadState

if TYPE_CHECKING:
    from accounts.models import User


def unread_messages(user: User, prescription_ids: list[int] | None = None) -> QuerySet[Message]:
    """Messages this user may read, did not write, and has not read yet.

    Built on `Prescription.objects.visible_to`; narrowed to `prescription_ids` first when given,
    so that a dashboard page does not make the database list every visible prescription.
    """
    visible = Prescription.objects.visible_to(user)
    if prescription_ids is not None:
        visible = visible.filter(pk__in=prescription_ids)
    last_read = ReadState.objects.filter(user=user, request=OuterRef("request")).values(
        "last_read_message_id"
    )[:1]
    return (
        Message.objects.filter(request__prescription__in=visible.values("pk"))
        .exclude(author=user)
        .annotate(last_read_id=Coalesce(Subquery(last_read), Value(0)))
        .filter(pk__gt=F("last_read_id"))
    )


def unread_by_prescription(user: User, prescription_ids: Iterable[int]) -> dict[int, int]:
    """{prescription id: unread message count} for those of `prescription_ids` with unread."""
    ids = list(prescription_ids)
    if not ids:
        return {}
    rows = (
        unread_messages(user, ids)
        .order_by()
        .values("request__prescription_id")
        .annotate(n=Count("pk"))
    )
    return {row["request__prescription_id"]: row["n"] for row in rows}


def unread_by_request(user: User, request_ids: Iterable[int]) -> dict[int, int]:
    """{request id: unread message count} for those of `request_ids` with unread."""
    ids = list(request_ids)
    if not ids:
        return {}
    rows = (
        unread_messages(user)
        .filter(request_id__in=ids)
        .order_by()
        .values("request_id")
        .annotate(n=Count("pk"))
    )
    return {row["request_id"]: row["n"] for row in rows}


def prescription_ids_with_unread(user: User) -> QuerySet:
    """Ids of prescriptions with unread messages, as a values-list usable in `pk__in=`."""
    return (
        unread_messages(user)
        .order_by()
        .values_list("request__prescription_id", flat=True)
        .distinct()
    )


def unread_total(user: User) -> int:
    return unread_messages(user).count()
