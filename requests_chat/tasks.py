"""Background work of the chat (Django's tasks API: inline in development and tests, a
database queue worked by `manage.py db_worker` in production)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django_tasks import TaskContext, task

from portal.tasks import once

from .models import Message
from .services import announce_unread

logger = logging.getLogger(__name__)


@task(takes_context=True)
def notify_chat_event(
    context: TaskContext,
    activity: str,
    message_id: int,
    actor_id: int | None,
    audience: list[int],
    data: dict[str, Any],
) -> None:
    """Notify the audience of a new message (computed once, at commit) about it, and update
    their unread badges.

    The fan-out (preferences, rows, pushes, emails) runs here, so the sender's request, and the
    process's event loop that is delivering the message to its sockets at that moment, do not
    pay for it. Done once per queued task: run again (a retry, a lost worker), it finds its
    marker and creates no second notification.
    """
    from accounts.models import User  # noqa: PLC0415
    from notifications.services import notify  # noqa: PLC0415

    message = Message.objects.select_related("request__prescription").filter(pk=message_id).first()
    if message is None:
        return  # deleted meanwhile: nothing left to tell anyone about
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    with once(f"requests_chat.notify:{context.task_result.id}") as first:
        if not first:
            return
        try:
            with transaction.atomic():  # a failure rolls back its own rows, not the marker
                notify(activity=activity, obj=message, actor=actor, recipients=audience, data=data)
        except Exception:
            logger.exception("notify(%s) failed for message %s", activity, message_id)
    # Unread badges of everyone else who may read the request (whatever their preferences).
    announce_unread(message.request_id, set(audience) - {actor_id}, audience=audience)
