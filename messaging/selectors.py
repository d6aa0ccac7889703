"""Reads of Messages shared by the pages, the sockets and the Home card.

"Unread for a reader": a message from the other side (the clinic, for a patient or proxy; the
patient side, for staff) with an id above the reader's marker (`Reader.last_read_message_id`,
0 without a row). Threads keep the newest id from each side, so "has unread" is one comparison
per thread; counts are per thread (a page shows 25) or per chart (the nav badge).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from portal.catchup import rows_lacking

from .models import Attachment, Message, Reader, Thread

if TYPE_CHECKING:
    from accounts.models import User
    from patient_portal.models import Chart

CATCH_UP_LIMIT = 100
HAVE_LIMIT = 500
THREAD_MESSAGES = 100


def _marker(user: User) -> Coalesce:
    last = Reader.objects.filter(thread=OuterRef("pk"), user=user).values("last_read_message_id")[
        :1
    ]
    return Coalesce(Subquery(last), Value(0), output_field=IntegerField())


def _archived(user: User) -> Exists:
    return Exists(
        Reader.objects.filter(thread=OuterRef("pk"), user=user, archived_at__isnull=False)
    )


def _unread_count(user: User, *, from_clinic: bool) -> Coalesce:
    """Per-thread count of the other side's messages above the reader's marker."""
    last = Reader.objects.filter(thread=OuterRef(OuterRef("pk")), user=user).values(
        "last_read_message_id"
    )[:1]
    counted = (
        Message.objects.filter(thread=OuterRef("pk"), from_clinic=from_clinic)
        .filter(pk__gt=Coalesce(Subquery(last), Value(0)))
        .order_by()
        .values("thread")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_reader_state(threads: QuerySet[Thread], user: User, *, staff: bool) -> QuerySet[Thread]:
    """Annotate `read_through`, `archived` and `unread` (count) for this reader."""
    return threads.annotate(
        read_through=_marker(user),
        archived=_archived(user),
        unread=_unread_count(user, from_clinic=not staff),
    ).select_related("last_message", "provider__user", "chart")


def patient_threads(user: User, chart: Chart, *, archived: bool = False) -> QuerySet[Thread]:
    """The chosen chart's threads for its patient-side reader, newest first."""
    threads = Thread.objects.in_portal_of(user).filter(chart=chart)
    threads = threads.annotate(is_archived=_archived(user)).filter(is_archived=archived)
    return with_reader_state(threads, user, staff=False).order_by("-last_message_at", "-pk")


def unread_for_chart(user: User, chart: Chart) -> int:
    """The nav badge: clinic messages in the chart's threads this reader has not read."""
    last = Reader.objects.filter(thread=OuterRef("thread"), user=user).values(
        "last_read_message_id"
    )[:1]
    return (
        Message.objects.filter(
            thread__in=Thread.objects.in_portal_of(user).filter(chart=chart).values("pk"),
            from_clinic=True,
        )
        .filter(pk__gt=Coalesce(Subquery(last), Value(0)))
        .count()
    )


def staff_unread_total(user: User) -> int:
    """Threads of the user's clinics with patient messages this staff reader has not read."""
    return (
        Thread.objects.for_staff(user)
        .annotate(read_through=_marker(user))
        .filter(last_from_patient_id__gt=F("read_through"))
        .count()
    )


def thread_messages(
    thread: Thread, *, before: int | None = None
) -> tuple[list[Message], int | None]:
    """The latest THREAD_MESSAGES messages (before `before`), oldest first, and the id to ask
    "earlier than" next (None when there are none)."""
    rows = messages_of(thread.pk).order_by("-pk")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows[: THREAD_MESSAGES + 1])
    page = found[:THREAD_MESSAGES][::-1]
    return page, (page[0].pk if len(found) > THREAD_MESSAGES and page else None)


def messages_of(thread_id: int) -> QuerySet[Message]:
    return Message.objects.filter(thread_id=thread_id).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )


def messages_lacking(
    thread_id: int, *, after: int, have: Iterable[int], limit: int = CATCH_UP_LIMIT
) -> tuple[list[Message], int | None]:
    """What a page holding every message up to `after` and the ids `have` lacks (the chat's
    rule, `portal.catchup.rows_lacking`); the caller checked access."""
    return rows_lacking(messages_of(thread_id), after=after, have=have, limit=limit)
