"""Writes of Messages: start a thread, send a message (with checked attachments), read markers,
archive (per reader), assign and done (clinic side).

As in the requests chat (`requests_chat/services.py`): a message is saved first, idempotent on
the client's id, with the thread's row locked before the message takes its id (so a thread's
messages commit in id order and catch-up by "what the page lacks" is exact); only after commit
is it broadcast (rendered once) to the chart's and the clinic's socket groups, and a background
task rings the staff bell or sends the patient's PHI-free alert. A broadcast failure never
undoes a send: pages catch up on their next beat, or poll.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from invites.models import ClinicMembership
from patient_portal.models import Chart, ProxyGrant

from .attachments import CheckedAttachment
from .models import Attachment, Message, Reader, Thread, chart_group, clinic_group
from .render import render_push

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

EVENT_MESSAGE = "messaging.message"
EVENT_THREAD = "messaging.thread"


class AttachmentStoreUnavailable(Exception):
    """The storage refused or did not answer: nothing of the message was kept."""


def new_client_id() -> str:
    return uuid.uuid4().hex


def author_label(user: User, chart: Chart, *, from_clinic: bool) -> str:
    """How a message names its author: "Mary Doe", "Mary Doe for Tim Doe", "Jane Smith (Riverside
    Family Clinic)"."""
    name = user.get_full_name() or user.email
    if from_clinic:
        return f"{name} ({chart.clinic.name})"
    if chart.patient_user_id == user.pk:
        return name
    return f"{name} for {chart.full_name}"


def start_thread(
    *,
    chart: Chart,
    author: User,
    to: str,
    subject: str,
    body: str,
    client_id: str = "",
    files: Sequence[CheckedAttachment] = (),
) -> tuple[Thread, Message, bool]:
    """A new thread from the patient side with its first message; idempotent by `client_id`."""
    client_id = (client_id or new_client_id())[:64]
    existing = Thread.objects.filter(created_by=author, client_id=client_id).first()
    if existing is not None:
        first = Message.objects.filter(thread=existing).order_by("pk").first()
        if first is not None:
            return existing, first, False
    try:
        with transaction.atomic():
            thread = Thread.objects.create(
                chart=chart,
                clinic_id=chart.clinic_id,
                subject=subject,
                to=to,
                provider_id=chart.provider_id if to == Thread.To.CLINICIAN else None,
                created_by=author,
                client_id=client_id,
            )
            message, _ = send_message(
                thread=thread,
                author=author,
                body=body,
                client_id=client_id,
                files=files,
                from_clinic=False,
                new_thread=True,
            )
    except IntegrityError:
        thread = Thread.objects.get(created_by=author, client_id=client_id)
        message = Message.objects.filter(thread=thread).order_by("pk").first()  # type: ignore[assignment]
        return thread, message, False
    return thread, message, True


def send_message(
    *,
    thread: Thread,
    author: User,
    body: str,
    client_id: str = "",
    files: Sequence[CheckedAttachment] = (),
    from_clinic: bool,
    new_thread: bool = False,
) -> tuple[Message, bool]:
    """Store a message and its checked files, then broadcast and alert after commit.

    Idempotent by `client_id`: a retried send returns the stored message, `created=False`.
    """
    client_id = (client_id or new_client_id())[:64]
    existing = Message.objects.filter(thread=thread, client_id=client_id).first()
    if existing is not None:
        return existing, False
    stored: list[str] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            # Lock the thread first: its messages take their ids and commit in order.
            Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
            message = Message.objects.create(
                thread=thread,
                author=author,
                author_name=author_label(author, thread.chart, from_clinic=from_clinic)[:200],
                from_clinic=from_clinic,
                body=body,
                client_id=client_id,
                created_at=now,
            )
            for checked in files:
                try:
                    key = default_storage.save(
                        f"messages/{uuid.uuid4().hex}.{checked.extension}",
                        ContentFile(checked.data),
                    )
                except Exception as error:
                    raise AttachmentStoreUnavailable from error
                stored.append(key)
                Attachment.objects.create(
                    thread=thread,
                    message=message,
                    file=key,
                    original_name=checked.name[:255],
                    content_type=checked.content_type,
                    size=checked.size,
                    sha256=checked.sha256,
                    width=checked.width,
                    height=checked.height,
                    page_count=checked.page_count,
                )
            side = {"last_from_clinic_id" if from_clinic else "last_from_patient_id": message.pk}
            reopen: dict[str, Any] = {} if from_clinic else {"done_at": None, "done_by": None}
            Thread.objects.filter(pk=thread.pk).update(
                last_message=message, last_message_at=now, **side, **reopen
            )
            # A new message brings the thread back to every reader's inbox; the author has
            # read their own message.
            Reader.objects.filter(thread=thread).exclude(user=author).update(archived_at=None)
            mark_read(user=author, thread=thread, message_id=message.pk)
    except IntegrityError:
        _delete_stored(stored)
        return Message.objects.get(thread=thread, client_id=client_id), False
    except Exception:
        _delete_stored(stored)
        raise
    thread.refresh_from_db()
    prefetch_related_objects(
        [message], Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    transaction.on_commit(lambda: message_committed(message, new_thread=new_thread))
    return message, True


def _delete_stored(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:
            logger.warning("Could not delete an orphaned attachment file")


def staff_audience(thread: Thread) -> list[int]:
    """Who on the clinic side may read the thread: the active members of its clinic."""
    return sorted(
        ClinicMembership.objects.filter(clinic_id=thread.clinic_id, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def patient_readers(chart: Chart) -> list[int]:
    """The chart's patient-side readers: its own account and live proxies."""
    ids = set(ProxyGrant.objects.live().filter(chart=chart).values_list("grantee_id", flat=True))
    if chart.patient_user_id:
        ids.add(chart.patient_user_id)
    return sorted(ids)


def message_committed(message: Message, *, new_thread: bool = False) -> None:
    """After commit: push the row (rendered once) to both sides' sockets, then queue the bell
    or the patient's alert."""
    thread = message.thread
    try:
        audience = staff_audience(thread)
    except Exception:
        logger.exception("Could not compute the audience of message %s", message.pk)
        return
    broadcast(message, audience)
    from .tasks import alert_new_message  # noqa: PLC0415 (tasks imports this module)

    try:
        alert_new_message.enqueue(message.pk)
    except Exception:
        logger.exception("Could not queue the alert of message %s", message.pk)


def push_event(message: Message, audience: list[int]) -> dict[str, Any]:
    thread = message.thread
    return {
        "type": EVENT_MESSAGE,
        "thread_id": thread.pk,
        "chart_id": thread.chart_id,
        "clinic_id": thread.clinic_id,
        "message_id": message.pk,
        "from_clinic": message.from_clinic,
        "html": {side: render_push(message, side) for side in ("patient", "clinic")},
        "audience": audience,
    }


def broadcast(message: Message, audience: list[int]) -> bool:
    """One event to the chart's patient sockets and one to the clinic's inbox sockets."""
    try:
        event = push_event(message, audience)
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer is configured.")

        async def send_both() -> None:
            await layer.group_send(chart_group(message.thread.chart_id), event)
            await layer.group_send(clinic_group(message.thread.clinic_id), event)

        async_to_sync(send_both)()
    except Exception:
        logger.exception("Could not broadcast message %s", message.pk)
        return False
    return True


def broadcast_thread_change(thread: Thread) -> None:
    """Tell the clinic's inbox sockets a thread's state changed (assigned, done)."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(
            clinic_group(thread.clinic_id),
            {"type": EVENT_THREAD, "thread_id": thread.pk, "audience": staff_audience(thread)},
        )
    except Exception:
        logger.exception("Could not broadcast a change of thread %s", thread.pk)


# Readers ---------------------------------------------------------------------------------


def mark_read(*, user: User, thread: Thread, message_id: int) -> bool:
    """Move the user's marker forward to `message_id` (never back); True if it moved."""
    updated = Reader.objects.filter(
        thread=thread, user=user, last_read_message_id__lt=message_id
    ).update(last_read_message_id=message_id)
    if updated:
        return True
    if Reader.objects.filter(thread=thread, user=user).exists():
        return False
    try:
        with transaction.atomic():
            Reader.objects.create(thread=thread, user=user, last_read_message_id=message_id)
    except IntegrityError:
        return bool(
            Reader.objects.filter(
                thread=thread, user=user, last_read_message_id__lt=message_id
            ).update(last_read_message_id=message_id)
        )
    return True


def set_archived(*, user: User, thread: Thread, archived: bool) -> None:
    """Archive or unarchive the thread for this reader only."""
    reader, _ = Reader.objects.get_or_create(thread=thread, user=user)
    reader.archived_at = timezone.now() if archived else None
    reader.save(update_fields=["archived_at"])


def assign(*, thread: Thread, assignee: User | None) -> None:
    Thread.objects.filter(pk=thread.pk).update(assigned_to=assignee)
    thread.assigned_to = assignee
    transaction.on_commit(lambda: broadcast_thread_change(thread))


def set_done(*, thread: Thread, by: User, done: bool) -> None:
    thread.done_at = timezone.now() if done else None
    thread.done_by = by if done else None
    Thread.objects.filter(pk=thread.pk).update(done_at=thread.done_at, done_by=thread.done_by)
    transaction.on_commit(lambda: broadcast_thread_change(thread))
