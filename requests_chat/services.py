"""Writes of the requests app: create a request, send a message (with PDFs), mark as read.

A message is saved first; only after the transaction commits is it broadcast (ids only) to the
request's channel-layer group, and are notifications asked for. A broadcast failure (Redis down)
is logged and never undoes or fails the send: open pages fall back to polling.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from .documents import CheckedPdf
from .models import Document, Message, ReadState, Request

if TYPE_CHECKING:
    from accounts.models import User
    from prescriptions.models import Prescription

logger = logging.getLogger(__name__)

EVENT_MESSAGE = "chat.message"
# To a user's own group (the notifications socket of each open page): an unread count changed.
EVENT_UNREAD = "chat.unread"


class RequestExists(Exception):
    """A request already exists for this Rx (one per prescription)."""

    def __init__(self, request: Request):
        super().__init__("A request already exists for this Rx.")
        self.request = request


def new_client_id() -> str:
    return uuid.uuid4().hex


def create_request(
    *,
    prescription: Prescription,
    author: User,
    body: str,
    client_id: str = "",
    files: Sequence[tuple[str, CheckedPdf]] = (),
) -> tuple[Request, Message]:
    """Open the request of `prescription` with its first message; RequestExists if there is one."""
    existing = Request.objects.filter(prescription=prescription).first()
    if existing:
        raise RequestExists(existing)
    try:
        with transaction.atomic():
            chat = Request.objects.create(prescription=prescription, created_by=author)
            message, _ = send_message(
                request=chat, author=author, body=body, client_id=client_id, files=files
            )
    except IntegrityError:
        # Two people opened a request for the same Rx at the same moment: the first one wins.
        raise RequestExists(Request.objects.get(prescription=prescription)) from None
    transaction.on_commit(lambda: _notify("new_request", chat, author))
    return chat, message


def send_message(
    *,
    request: Request,
    author: User,
    body: str,
    client_id: str = "",
    files: Sequence[tuple[str, CheckedPdf]] = (),
) -> tuple[Message, bool]:
    """Store a message (and its checked PDFs), then broadcast it after commit.

    Idempotent by `client_id`: a retried send returns the stored message and `created=False`.
    """
    client_id = (client_id or new_client_id())[:64]
    existing = Message.objects.filter(request=request, client_id=client_id).first()
    if existing:
        return existing, False
    stored: list[str] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            message = Message.objects.create(
                request=request,
                author=author,
                author_name=str(author),
                author_role=author.role_label,
                body=body,
                client_id=client_id,
                created_at=now,
            )
            for title, pdf in files:
                # A random key: the uploaded name never reaches the storage path.
                key = default_storage.save(
                    f"documents/{uuid.uuid4().hex}.pdf", ContentFile(pdf.data)
                )
                stored.append(key)
                Document.objects.create(
                    request=request,
                    message=message,
                    title=(title or pdf.name or "Document")[:200],
                    original_name=pdf.name[:255],
                    file=key,
                    content_type="application/pdf",
                    size=pdf.size,
                    sha256=pdf.sha256,
                    page_count=pdf.page_count,
                    uploaded_by=author,
                )
            Request.objects.filter(pk=request.pk).update(last_message_at=now)
            # The author's own messages are never unread for them: nothing to announce.
            mark_read(user=author, request=request, message_id=message.pk, announce=False)
    except IntegrityError:
        for key in stored:
            default_storage.delete(key)
        # The same client id arrived twice at once; the other one was stored.
        return Message.objects.get(request=request, client_id=client_id), False
    except Exception:
        for key in stored:
            default_storage.delete(key)
        raise
    has_files = bool(files)
    # Once, for the pushed row and the sender's own response alike.
    prefetch_related_objects(
        [message], Prefetch("documents", queryset=Document.objects.order_by("pk"))
    )
    transaction.on_commit(lambda: broadcast_message(message))
    transaction.on_commit(lambda: _notify("new_message", message, author))
    if has_files:
        transaction.on_commit(lambda: _notify("new_document", message, author))
    return message, True


def render_push(message: Message) -> str:
    """The message row as pushed to sockets (it does not depend on who is watching)."""
    return render_to_string("requests_chat/detail.html#message-push", {"message": message})


def render_typing(name: str, role: str) -> str:
    """'<name> (<role>) is typing…', as an out-of-band swap of the chat's typing line."""
    return render_to_string("requests_chat/detail.html#typing", {"name": name, "role": role})


def render_presence(others: list[str]) -> str:
    """Who else has this chat open now ("name (role)" each), as an out-of-band swap."""
    return render_to_string("requests_chat/detail.html#presence", {"others": others, "oob": True})


def push_event(message: Message) -> dict:
    """The channel-layer event for a new message: its row, rendered once, and who may read it.

    The audience is computed here, once per message from the database as it is after the
    commit, instead of once per socket in every process: each consumer only tests membership,
    so a push costs no query and no rendering on the receiving side, and a user who lost access
    before the message was sent is not in it (their socket is closed).
    """
    return {
        "type": EVENT_MESSAGE,
        "message_id": message.pk,
        "request_id": message.request_id,
        "html": render_push(message),
        "audience": sorted(message.request.audience()),
    }


def broadcast_message(message: Message) -> bool:
    """Push `message` to everyone watching its request (in every server process)."""
    try:
        event = push_event(message)
        async_to_sync(get_channel_layer().group_send)(message.request.group_name, event)
    except Exception:
        # Redis down or full: the message is stored; clients catch up by polling or reconnect.
        logger.exception("Could not broadcast message %s", message.pk)
        return False
    return True


def mark_read(*, user: User, request: Request, message_id: int, announce: bool = True) -> None:
    """Move the user's read marker forward to `message_id` (never back).

    With `announce`, the user's other open pages are told after commit, so that unread badges
    (the Requests list) drop at once.
    """
    updated = ReadState.objects.filter(
        user=user, request=request, last_read_message_id__lt=message_id
    ).update(last_read_message_id=message_id, updated_at=timezone.now())
    if not updated and not ReadState.objects.filter(user=user, request=request).exists():
        try:
            with transaction.atomic():
                ReadState.objects.create(
                    user=user, request=request, last_read_message_id=message_id
                )
            updated = 1
        except IntegrityError:
            mark_read(user=user, request=request, message_id=message_id, announce=announce)
            return
    if updated and announce:
        request_id, user_id = request.pk, user.pk
        transaction.on_commit(lambda: announce_unread(request_id, [user_id]))


def announce_unread(request_id: int, user_ids: Iterable[int]) -> None:
    """Tell these users' open pages that their unread count for a request may have changed.

    The event names the request only; each user's socket counts their own unread messages
    (through `visible_to`) before showing anything. Best effort: a page that misses it shows the
    right count on its next load.
    """
    from notifications.services import group_name  # noqa: PLC0415 (notifications imports this app)

    user_ids = sorted(set(user_ids))
    layer = get_channel_layer()
    if layer is None or not user_ids:
        return

    async def send_all() -> None:
        for user_id in user_ids:
            await layer.group_send(
                group_name(user_id), {"type": EVENT_UNREAD, "request_id": request_id}
            )

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("Could not announce unread counts of request %s", request_id)


def _notify(activity: str, obj, actor: User) -> None:
    """The one place that hands events to the notifications app (after commit).

    The fan-out (recipients, preferences, rows, pushes, emails) runs as a background task, so
    the sender's request — and the process's event loop that is delivering the message to its
    sockets at that moment — does not pay for it. Inline in development and tests.
    """
    try:
        notify_chat_event.enqueue(activity, obj._meta.label_lower, obj.pk, actor.pk)
    except Exception:
        # A notification problem must never fail the chat itself.
        logger.exception("Could not queue notification %s for %r", activity, obj)


@task()
def notify_chat_event(activity: str, model: str, pk: int, actor_id: int) -> None:
    """Background half of `_notify`: load the request or message again and notify."""
    from accounts.models import User  # noqa: PLC0415
    from notifications.services import notify  # noqa: PLC0415 (notifications imports this app)

    model_class = Message if model == Message._meta.label_lower else Request
    obj = model_class.objects.filter(pk=pk).first()
    actor = User.objects.filter(pk=actor_id).first()
    if obj is None:
        return  # deleted meanwhile: nothing left to tell anyone about
    try:
        notify(activity=activity, obj=obj, actor=actor)
    except Exception:
        logger.exception("notify(%s) failed for %r", activity, obj)
    if activity == "new_message":
        # Unread badges of everyone else who may read the request (whatever their preferences).
        announce_unread(obj.request_id, obj.request.audience() - {actor_id})
