"""Read-only queries other apps use (dashboard, profile, notifications): unread counts.

A message is unread for a user when it is in a request they may see, was written by someone
else, and has an id above their ReadState.last_read_message_id (0 when they never opened it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from prescriptions.models import Prescription

from .models import Document, Message, ReadState, Request

if TYPE_CHECKING:
    from accounts.models import User

# A catch-up (socket or polling) sends at most this many messages: the newest of those the page
# lacks; a page lacking more gets the next older ones when it asks again.
CATCH_UP_LIMIT = 100
# A page names at most this many ids it holds above its "complete through" mark.
HAVE_LIMIT = 500
# The largest id a client may name (a 64-bit primary key).
MAX_ID = 2**63 - 1


def unread_messages(user: User, prescription_ids: list[int] | None = None) -> QuerySet[Message]:
    """Messages this user may read, did not write, and has not read yet.

    Built on `Prescription.objects.visible_to`; narrowed to `prescription_ids` first when given,
    so that a dashboard page does not make the database list every visible prescription.
    """
    visible = Prescription.objects.visible_to(user)
    if prescription_ids is not None:
        visible = visible.filter(pk__in=prescription_ids)
    return _unread_for(user, Message.objects.filter(request__prescription__in=visible.values("pk")))


def _unread_for(
    user: User | OuterRef, messages: QuerySet[Message], *, last_read: Any = None
) -> QuerySet[Message]:
    """The unread rule, once: of `messages`, those `user` did not write with an id above their
    ReadState.last_read_message_id for the message's request (0 when they never opened it).

    `user` may be `OuterRef("pk")` of a query over users (`unread_in_request_for`): then the
    read marker's own subquery, one level deeper, refers to it as OuterRef(OuterRef("pk")).
    `last_read`: that marker as an expression the caller already has (`_read_marker`, for
    messages of one request), instead of looking it up again for every message.
    """
    if last_read is None:
        reader = OuterRef(user) if isinstance(user, OuterRef) else user
        last_read = _read_marker(reader, OuterRef("request"))
    return (
        messages.exclude(author=user)
        .annotate(last_read_id=last_read)
        .filter(pk__gt=F("last_read_id"))
    )


def _read_marker(user: Any, request: Any) -> Coalesce:
    """A user's ReadState.last_read_message_id in a request, 0 when they never opened it."""
    marker = ReadState.objects.filter(user=user, request=request).values("last_read_message_id")
    return Coalesce(Subquery(marker[:1]), Value(0))


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


def with_unread_count(user: User, prescriptions: QuerySet[Prescription]) -> QuerySet[Prescription]:
    """`prescriptions` (already narrowed by `Prescription.objects.visible_to(user)`) with
    `.unread`, the number of messages on each that `user` did not write and has not read: the
    same rule as `unread_messages`, counted per row inside the rows' own query (a dashboard page
    is 25 rows, so 25 small index lookups and no second round trip). The rule is `_unread_for`'s;
    the visibility test is the caller's, already applied to `prescriptions`."""
    unread = (
        _unread_for(user, Message.objects.filter(request__prescription=OuterRef("pk")))
        .order_by()
        .values("request__prescription")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return prescriptions.annotate(unread=Coalesce(Subquery(unread), Value(0)))


def unread_by_request(user: User, chat_ids: Iterable[int]) -> dict[int, int]:
    """{request id: unread message count} for those of `chat_ids` with unread."""
    ids = list(chat_ids)
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


def unread_in_request_for(user_ids: Iterable[int], chat_id: int) -> dict[int, int]:
    """{user id: unread message count in request `chat_id`} for the active users of `user_ids`,
    in ONE query whatever their number (the unread badges of a request's whole audience).

    No visibility test here: the caller passes users who may read the request, i.e. its
    `Request.audience()`, which is the access gate read backwards (`users_reaching`, the
    reverse of `reachable_prescriber_ids` that every `visible_to` starts from, compared with
    `Prescription.objects.visible_to` user by user in tests/notifications/test_notify.py). For
    such a user this is `unread_by_request(user, [chat_id])`: the same rule, `_unread_for`.
    """
    from accounts.models import User  # noqa: PLC0415 (accounts imports prescriptions)

    ids = sorted(set(user_ids))
    if not ids:
        return {}
    # Each user's read marker once (not once per message), then their messages above it.
    unread = (
        _unread_for(
            OuterRef("pk"),
            Message.objects.filter(request_id=chat_id),
            last_read=OuterRef("last_read"),
        )
        .order_by()
        .values("request_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        User.objects.filter(pk__in=ids, is_active=True)
        .annotate(last_read=_read_marker(OuterRef("pk"), chat_id))
        .annotate(unread=Coalesce(Subquery(unread), Value(0)))
        .values_list("pk", "unread")
    )
    return dict(rows)


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


def messages_lacking(
    chat_id: int, *, after: int, have: Iterable[int], limit: int
) -> tuple[list[Message], int | None]:
    """What a page holding every message up to `after`, and the ids `have` above it, lacks.

    Returns the newest `limit` of those messages (oldest first, with their documents) and the
    id the page then holds everything up to ("complete through"), or None when it lacks more
    than `limit` (it asks again, and gets the next older ones). The caller has checked that the
    user may see the request.

    Catch-up goes by what the page lacks, never by "after the highest id shown": the page's own
    reply (rendered from its POST) can be newer than a message it missed.
    """
    from django.db.models import Prefetch

    from portal.catchup import rows_lacking

    messages = Message.objects.filter(request_id=chat_id).prefetch_related(
        Prefetch("documents", queryset=Document.objects.order_by("pk"))
    )
    return rows_lacking(messages, after=after, have=have, limit=limit)


def actor_label(user: User | None) -> str:
    """'Dana Rivers (Prescriber delegate)': who did it, so a prescriber sees their delegates' work."""
    if user is None:
        return "A former user"
    return f"{user.get_full_name() or user.email} ({user.get_role_display()})"


def timeline_events(user: User, prescription: Prescription) -> list[dict[str, Any]]:
    """The chat's part of a prescription's timeline: its request's creation and each shared
    document, with who did it, through `visible_to` (see `prescriptions.selectors`)."""
    from django.urls import reverse

    chats = Request.objects.visible_to(user).filter(prescription=prescription)
    documents = Document.objects.visible_to(user).filter(request__prescription=prescription)
    return [
        *(
            {
                "at": chat.created_at,
                "kind": "request",
                "actor": actor_label(chat.created_by),
                "url": reverse("requests_chat:detail", args=[chat.pk]),
            }
            for chat in chats.select_related("created_by")
        ),
        *(
            {
                "at": doc.created_at,
                "kind": "document",
                "actor": actor_label(doc.uploaded_by),
                "title": doc.title,
            }
            for doc in documents.select_related("uploaded_by")
        ),
    ]
