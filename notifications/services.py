"""The one entry point every producer calls: `notify(...)`.

It decides who may see the object, honours each recipient's preferences, writes the in-app rows
in bulk, and after commit pushes them to open websockets and hands email to a background task
(immediately, or later in a digest / after quiet hours).

Producers:
- requests: `notify(activity=Activity.NEW_MESSAGE, obj=message_or_request, actor=request.user,
  url=request_obj.get_absolute_url())`; obj may be a Prescription or anything with
  `.prescription` (or `.request.prescription` / `.thread.prescription`).
- accounts: `notify(activity=Activity.DELEGATE_JOINED, obj=delegation, actor=delegate_user)`
  (recipients default to the delegation's prescriber user).
- invites: `notify(activity=Activity.INVITE_ACCEPTED, obj=invite, actor=patient_user,
  recipients=[inviting_user], url=..., data={"name": "..."})`.
- the importer's `prescription_status_changed` signal (connected in apps.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse

from portal.consumers import user_group
from portal.push import group_send_many
from prescriptions.models import users_reaching

from .models import Activity, Notification, NotificationPreference, NotificationSettings

if TYPE_CHECKING:
    from accounts.models import User
    from prescriptions.models import Prescription

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# A websocket event names at most this many new items; the rest show up in the count.
EVENT_IDS_MAX = 5


# The channel-layer group of a user's open pages (one name for every app: portal.consumers).
group_name = user_group


# Who may see what ------------------------------------------------------------------------------


def prescription_of(obj: Any) -> Prescription | None:
    """The prescription an object is about (a Prescription, a request, a message…), or None."""
    from prescriptions.models import Prescription

    if isinstance(obj, Prescription):
        return obj
    for path in ("prescription", "request.prescription", "message.request.prescription"):
        target = obj
        for attr in path.split("."):
            target = getattr(target, attr, None)
            if target is None:
                break
        if isinstance(target, Prescription):
            return target
    return None


def _default_recipients(obj: Any, prescription: Prescription | None) -> set[int]:
    from accounts.models import Delegation

    if prescription is not None:
        return users_reaching([prescription.prescriber_id]).get(prescription.prescriber_id, set())
    if isinstance(obj, Delegation):
        user = getattr(obj.prescriber, "user", None)
        return {user.pk} if user is not None and user.is_active else set()
    raise ValueError(
        f"notify() cannot tell who may see a {type(obj).__name__}; pass recipients=[...]"
    )


def default_url(obj: Any, prescription: Prescription | None) -> str:
    """A link to the request for chat objects (a request, message or document), else ""."""
    candidate: Any  # the object or its request, or None: a `_meta` is found only on a model
    for candidate in (
        obj,
        getattr(obj, "request", None),
        getattr(getattr(obj, "message", None), "request", None),
    ):
        meta = getattr(candidate, "_meta", None)
        if meta is not None and meta.label == "requests_chat.Request":
            return reverse("requests_chat:detail", args=[candidate.pk])
    if obj is not prescription and hasattr(obj, "get_absolute_url"):
        return obj.get_absolute_url()
    return ""  # Notification.target_url falls back to the patient profile


# Delivery --------------------------------------------------------------------------------------


def notify(
    *,
    activity: str,
    obj: Any,
    actor: User | None = None,
    recipients: Iterable[User | int] | None = None,
    url: str | None = None,
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """Tell everyone who may see `obj` (or `recipients`) about `activity`, except the actor.

    Returns the in-app notifications created. Safe to call inside a transaction: websocket
    pushes and email happen only after commit, and not at all on rollback.
    """
    activity = Activity(activity)
    prescription = prescription_of(obj)
    if recipients is None:
        user_ids = set(_default_recipients(obj, prescription))
    else:
        user_ids = {r if isinstance(r, int) else r.pk for r in recipients}
    if actor is not None:
        user_ids.discard(actor.pk)
    if url is None:
        url = default_url(obj, prescription)
    template = Notification(
        activity=activity,
        actor=actor,
        prescription=prescription,
        patient_id=prescription.patient_id if prescription is not None else None,
        url=url or "",
        data=data or {},
    )
    return deliver(template, sorted(user_ids))


def notify_status_changes(changes: Sequence[tuple[int, str, str]]) -> int:
    """One notification per actual status change, to everyone who may see the prescription.

    Handles imports of any size: a few queries per chunk of changes, rows written in bulk.
    """
    from prescriptions.models import Prescription

    created = 0
    for start in range(0, len(changes), BATCH_SIZE):
        chunk = changes[start : start + BATCH_SIZE]
        rx = {
            pk: (prescriber_id, patient_id)
            for pk, prescriber_id, patient_id in Prescription.objects.filter(
                pk__in=[c[0] for c in chunk]
            ).values_list("pk", "prescriber_id", "patient_id")
        }
        reach = users_reaching({p for p, _ in rx.values()})
        rows: list[tuple[Notification, int]] = []
        for rx_id, from_status, to_status in chunk:
            if rx_id not in rx:
                continue
            prescriber_id, patient_id = rx[rx_id]
            for user_id in reach.get(prescriber_id, ()):
                rows.append(
                    (
                        Notification(
                            activity=Activity.STATUS_CHANGE,
                            prescription_id=rx_id,
                            patient_id=patient_id,
                            data={"from_status": from_status, "to_status": to_status},
                        ),
                        user_id,
                    )
                )
        created += len(_deliver_rows(rows))
    return created


def deliver(template: Notification, user_ids: Sequence[int]) -> list[Notification]:
    """Copy `template` to each user, as their preferences allow."""
    rows = []
    for user_id in user_ids:
        row = Notification(
            activity=template.activity,
            actor_id=template.actor_id,
            prescription_id=template.prescription_id,
            patient_id=template.patient_id,
            url=template.url,
            data=template.data,
        )
        rows.append((row, user_id))
    return _deliver_rows(rows)


def _deliver_rows(rows: list[tuple[Notification, int]]) -> list[Notification]:
    if not rows:
        return []
    user_ids = {user_id for _, user_id in rows}
    activities = {row.activity for row, _ in rows}
    prefs = {
        (p.user_id, p.activity): (p.in_app, p.email)
        for p in NotificationPreference.objects.filter(
            user_id__in=user_ids, activity__in=activities
        )
    }
    settings_by_user = {
        s.user_id: s for s in NotificationSettings.objects.filter(user_id__in=user_ids)
    }
    keep: list[Notification] = []
    send_now: set[int] = set()
    for row, user_id in rows:
        in_app, email = prefs.get((user_id, row.activity)) or NotificationPreference.default(
            row.activity
        )
        if not (in_app or email):
            continue
        row.recipient_id = user_id
        row.in_app = in_app
        if email:
            user_settings = settings_by_user.get(user_id) or NotificationSettings(user_id=user_id)
            if user_settings.digest == NotificationSettings.Digest.IMMEDIATE and not (
                user_settings.in_quiet_hours()
            ):
                send_now.add(user_id)
            # Pending until an email task has sent it (now, in a digest, or after quiet hours).
            row.email_pending = True
        keep.append(row)
    with transaction.atomic():
        created = Notification.objects.bulk_create(keep, batch_size=BATCH_SIZE)
    if any(n.pk is None for n in created):  # only on backends without RETURNING
        raise RuntimeError("bulk_create did not return primary keys")
    push_ids: dict[int, list[int]] = defaultdict(list)
    email_ids: list[int] = []
    for n in created:
        if n.in_app:
            push_ids[n.recipient_id].append(n.pk)
        if n.email_pending and n.recipient_id in send_now:
            email_ids.append(n.pk)
    transaction.on_commit(lambda: _after_commit(push_ids, email_ids))
    return [n for n in created if n.in_app]


def _after_commit(push_ids: dict[int, list[int]], email_ids: list[int]) -> None:
    broadcast_many({user_id: ids[-EVENT_IDS_MAX:] for user_id, ids in push_ids.items()})
    if email_ids:
        from .tasks import send_notification_emails

        for start in range(0, len(email_ids), BATCH_SIZE * 10):
            send_notification_emails.enqueue(email_ids[start : start + BATCH_SIZE * 10])


def broadcast(user_id: int, ids: list[int] | None = None) -> None:
    """Tell the user's open pages to refresh the bell (with the new items' ids, if any)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(user_id), update_event(ids))
    except Exception:
        # The rows are saved; an open page catches up on its next load. Never fail the producer.
        logger.exception("Could not push notifications to user %s", user_id)


def broadcast_many(ids_by_user: dict[int, list[int]]) -> None:
    """`broadcast` to many users at once: every push of one fan-out in a single event-loop hop
    (see portal.push), not one loop, thread and Redis connection per recipient."""
    sends = [(group_name(user_id), update_event(ids)) for user_id, ids in ids_by_user.items()]
    failures = group_send_many(sends)
    if failures:
        # The rows are saved; open pages catch up on their next load. Never fail the producer.
        logger.error(
            "Could not push notifications to %d of %d users",
            len(failures),
            len(sends),
            exc_info=failures[0],
        )


def update_event(ids: list[int] | None = None) -> dict[str, Any]:
    """The channel-layer event that makes a user's open pages refresh their bell."""
    return {"type": "notifications.update", "ids": ids or []}


# Reading ---------------------------------------------------------------------------------------


def mark_all_read(*, user: User) -> int:
    from django.utils import timezone

    count = Notification.objects.visible_to(user).unread().update(read_at=timezone.now())
    transaction.on_commit(lambda: broadcast(user.pk))
    return count
