"""Live Messages: one socket per page and user, carrying every thread of that page's scope.

Why one socket per user (per page) and not one per thread: the inbox, the nav badge and an
open thread all react to the same events (a message in one of the chart's threads), so one
socket bound to the chart (patient) or to the staff member's clinics (clinic inbox) serves
them all; a socket per thread would need a second one on every page for the inbox and badge,
doubling connections, and a conversation started elsewhere would have no socket to arrive on.
The page names the thread it shows in its catch-up and "here" frames (access-checked each
time); pushes of other threads update only the inbox row and the badge.

Messages are POSTed over HTTP (forms, attachment checks, storage); a client only sends
"catch_up" and "here" (with what it holds: `static/js/chat.js`, shared with the requests chat).
Checks on connect, frame validation and rate limits come from `portal.consumers.PortalConsumer`.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async

from invites.models import ClinicMembership
from patient_portal.consumers import ChartConsumer
from patient_portal.models import Chart
from portal.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_SESSION_ENDED,
    PortalConsumer,
    id_field,
    id_list_field,
)
from requests_chat.live import off_request_thread

from .live import note_read
from .models import Thread, chart_group, clinic_group
from .render import (
    render_clinic_badge,
    render_clinic_row,
    render_patient_badge,
    render_patient_row,
    render_push,
    render_sync,
)
from .selectors import HAVE_LIMIT, messages_lacking, staff_unread_total, unread_for_chart
from .selectors import with_reader_state as annotate_reader
from .services import mark_read

logger = logging.getLogger(__name__)

# The clinic inbox's unread badge counts this far, then says "99+".
UNREAD_CAP = 99
FRAME_LIMITS = {"here": (0.2, 5.0), "catch_up": (0.5, 5.0)}


def holding(content: dict[str, Any]) -> tuple[int | None, int, list[int]]:
    """(the thread the page shows or None, complete-through id, the ids held above it)."""
    thread = id_field(content, "thread") if content.get("thread") is not None else None
    return (
        thread,
        id_field(content, "after", default=0),
        id_list_field(content, "have", limit=HAVE_LIMIT),
    )


class ThreadSocketMixin(PortalConsumer):
    """What both sides share: the watched thread, catch-up, marking pushed rows read."""

    frame_limits = FRAME_LIMITS
    watching: int | None = None
    side: str = "patient"

    def thread_queryset(self) -> Any:  # the side's visible threads
        raise NotImplementedError

    async def allowed(self) -> bool:
        raise NotImplementedError

    layer_down = False

    async def on_layer_change(self, up: bool) -> None:
        # The open thread's page polls while pushes are down, and catches up when they are
        # back (static/js/chat.js, as for the requests chat).
        self.layer_down = not up
        await self.send(text_data=render_sync(live=up))

    async def frame_catch_up(self, content: dict[str, Any]) -> None:
        thread_id, after, have = holding(content)
        if not await self.allowed():
            return
        await self.sync(thread_id, after, have, quiet=False)

    async def frame_here(self, content: dict[str, Any]) -> None:
        thread_id, after, have = holding(content)
        if not await self.allowed():
            return
        if not await self.session_is_live():
            await self.close(code=CLOSE_SESSION_ENDED)
            return
        await self.sync(thread_id, after, have, quiet=True)

    async def sync(
        self, thread_id: int | None, after: int, have: list[int], *, quiet: bool
    ) -> None:
        if thread_id is None:
            return
        rows, complete = await off_request_thread(self._lacking)(thread_id, after, have)
        if rows is None:
            # Not a thread this socket may see: the page asked for someone else's. Dropped.
            logger.info("Catch-up for a thread out of reach was refused")
            return
        self.watching = thread_id
        for html in rows:
            await self.send(text_data=html)
        if quiet and not rows and (complete or 0) <= after:
            return
        await self.send(text_data=render_sync(complete_through=complete, live=not self.layer_down))

    def _lacking(
        self, thread_id: int, after: int, have: list[int]
    ) -> tuple[list[str] | None, int | None]:
        thread = self.thread_queryset().filter(pk=thread_id).select_related("chart").first()
        if thread is None:
            return None, None
        rows, complete = messages_lacking(thread_id, after=after, have=have)
        if rows:
            mark_read(user=self.user, thread=thread, message_id=rows[-1].pk)
        return [render_push(m, self.side) for m in rows], complete


class PatientMessagesConsumer(ThreadSocketMixin, ChartConsumer):
    """ws/patient/messages/: the session's chosen chart (re-checked on every frame and push)."""

    def groups_to_join(self) -> list[str]:
        groups = super().groups_to_join()
        return [*groups, chart_group(self.chart_id)] if self.chart_id else groups

    def thread_queryset(self) -> Any:
        return Thread.objects.in_portal_of(self.user).filter(chart_id=self.chart_id or 0)

    async def allowed(self) -> bool:
        return await self.recheck_chart()

    # Channel-layer events: "messaging.message" -> messaging_message()
    async def messaging_message(self, event: dict[str, Any]) -> None:
        if event["chart_id"] != self.chart_id or not await self.recheck_chart():
            return
        if event["thread_id"] == self.watching:
            # The open thread: its row, read at once (the marker is batched); no badge moves.
            await self.send(text_data=event["html"]["patient"])
            note_read(self.user.pk, event["thread_id"], event["message_id"])
            return
        await self.send(text_data=await off_request_thread(self._inbox)(event["thread_id"]))

    async def messaging_thread(self, event: dict[str, Any]) -> None:
        pass  # clinic-side state (assignee, done) is not the patient's

    def _inbox(self, thread_id: int) -> str:
        thread = annotate_reader(
            self.thread_queryset().filter(pk=thread_id), self.user, staff=False
        ).first()
        row = render_patient_row(thread) if thread is not None else ""
        chart = Chart.objects.get(pk=self.chart_id or 0)
        return row + render_patient_badge(unread_for_chart(self.user, chart))


class ClinicMessagesConsumer(ThreadSocketMixin):
    """ws/clinic/messages/: every thread of the clinics the staff member works in.

    A push carries its audience (the clinic's active members at the commit): a socket whose
    user is not in it is closed; frames re-check membership through `Thread.for_staff`."""

    side = "clinic"
    clinic_ids: list[int] = []

    def may_open(self) -> bool:
        self.clinic_ids = list(
            ClinicMembership.objects.of_user(self.user)
            .values_list("clinic_id", flat=True)
            .distinct()
        )
        return bool(self.clinic_ids)

    def groups_to_join(self) -> list[str]:
        return [clinic_group(pk) for pk in self.clinic_ids]

    def thread_queryset(self) -> Any:
        return Thread.objects.for_staff(self.user)

    async def allowed(self) -> bool:
        still = await database_sync_to_async(self._still_member)()
        if not still:
            await self.close(code=CLOSE_FORBIDDEN)
        return still

    def _still_member(self) -> bool:
        return ClinicMembership.objects.of_user(self.user).filter(user__is_active=True).exists()

    # Channel-layer events
    async def messaging_message(self, event: dict[str, Any]) -> None:
        if self.user.pk not in event["audience"]:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if event["thread_id"] == self.watching:
            await self.send(text_data=event["html"]["clinic"])
            note_read(self.user.pk, event["thread_id"], event["message_id"])
            return
        await self.send(text_data=await off_request_thread(self._inbox)(event["thread_id"]))

    async def messaging_thread(self, event: dict[str, Any]) -> None:
        if self.user.pk not in event["audience"]:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=await off_request_thread(self._inbox)(event["thread_id"]))

    def _inbox(self, thread_id: int) -> str:
        thread = (
            annotate_reader(self.thread_queryset().filter(pk=thread_id), self.user, staff=True)
            .select_related("assigned_to", "chart")
            .first()
        )
        row = render_clinic_row(thread) if thread is not None else ""
        return row + render_clinic_badge(staff_unread_total(self.user, cap=UNREAD_CAP + 1))
