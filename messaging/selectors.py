"""Reads of Messages shared by the pages, the sockets and the Home card.

"Unread for a reader": a message from the other side (the clinic, for a patient or proxy; the
patient side, for staff) with an id above the reader's marker (`Reader.last_read_message_id`,
0 without a row). Threads keep the newest id from each side, so "has unread" is one comparison
per thread; counts are per thread (a page shows 25) or per chart (the nav badge).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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

from .models import Attachment, Message, Reader, Thread, ThreadQuerySet

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
    threads = (
        threads.filter(pk__in=archived_by(user))
        if archived
        else threads.exclude(pk__in=archived_by(user))
    )
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


def read_up_to_date(user: User, *, staff: bool) -> QuerySet[Reader, Any]:
    """Ids of the threads this reader has read up to the other side's last message: a small,
    uncorrelated set (the reader's own rows), so "unread" filters need no per-thread subquery."""
    side = "thread__last_from_patient_id" if staff else "thread__last_from_clinic_id"
    return Reader.objects.filter(user=user, last_read_message_id__gte=F(side)).values("thread_id")


def archived_by(user: User) -> QuerySet[Reader, Any]:
    """Ids of the threads this reader archived (their own rows)."""
    return Reader.objects.filter(user=user, archived_at__isnull=False).values("thread_id")


def staff_unread(threads: ThreadQuerySet, user: User) -> ThreadQuerySet:
    """Those of `threads` with a patient message this staff reader has not read."""
    return threads.filter(last_from_patient_id__gt=0).exclude(
        pk__in=read_up_to_date(user, staff=True)
    )


def staff_unread_total(user: User, *, cap: int | None = None) -> int:
    """Threads of the user's clinics with patient messages this staff reader has not read
    (counted up to `cap`, when given: the badge says "99+")."""
    unread = staff_unread(Thread.objects.for_staff(user), user).order_by()
    if cap is not None:
        return len(unread.values_list("pk", flat=True)[:cap])
    return unread.count()


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
