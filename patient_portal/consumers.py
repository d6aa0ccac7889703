"""The base of every patient-portal socket: bound to one chart, re-checked before each use.

A Messages (or any chart) consumer subclasses `ChartConsumer`:

    class PatientThreadConsumer(ChartConsumer):
        frame_limits = {"catch_up": (2, 5)}

        def groups_to_join(self) -> list[str]:
            return [*super().groups_to_join(), f"chart-threads-{self.chart_id}"]

        async def frame_catch_up(self, content):
            if not await self.recheck_chart():   # every client frame
                return
            ...

        async def thread_message(self, event):    # every push
            if not await self.recheck_chart():
                return
            await self.send(text_data=event["html"])

`recheck_chart()` runs `Chart.objects.in_portal_of(user)` (or `visible_to` for clinic-side
sockets, `chart_scope = "staff"`) afresh and closes the socket with 4403 when the chart is no
longer reachable: a revoked or expired proxy stops receiving at the next frame or push. A
revocation also tells the grantee's chart sockets at once (`notify_access_changed`), so an idle
socket closes without waiting for traffic.
"""

from __future__ import annotations

from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from portal.consumers import CLOSE_FORBIDDEN, PortalConsumer, otp_verified

EVENT_ACCESS_CHANGED = "chart.access_changed"


def access_group(user_id: int) -> str:
    """The channel-layer group of one account's chart sockets (told when access changes)."""
    return f"chart-access-{user_id}"


def notify_access_changed(user_ids: list[int]) -> None:
    """Make these accounts' chart sockets re-check their chart now (call after commit)."""
    import logging

    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    for user_id in user_ids:
        try:
            async_to_sync(layer.group_send)(access_group(user_id), {"type": EVENT_ACCESS_CHANGED})
        except Exception:
            # The sockets still re-check at their next frame or push.
            logging.getLogger(__name__).exception("Could not tell chart sockets of a change")


def second_factor_ok(scope: dict[str, Any]) -> bool:
    """Past the second factor, or a patient account that has none (MFA is optional for
    patients; one who enrolled must have passed it). Synchronous: a database thread."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if otp_verified(scope):
        return True
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active or not user.is_patient:
        return False
    return not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


class ChartConsumer(PortalConsumer):
    """A socket about one chart: `chart_id` from the route (`chart_id` kwarg) or else the
    session's chosen chart; refused unless the user may reach it."""

    # "patient": own charts and live proxy grants; "staff": Chart.objects.visible_to.
    chart_scope: ClassVar[str] = "patient"
    chart_id: int | None = None

    def groups_to_join(self) -> list[str]:
        return [access_group(self.user.pk)]

    def may_open(self) -> bool:
        from .selectors import SESSION_CHART

        scope: dict[str, Any] = dict(self.scope)
        kwargs = scope.get("url_route", {}).get("kwargs", {})
        raw: Any = kwargs.get("chart_id") or (scope.get("session") or {}).get(SESSION_CHART)
        try:
            self.chart_id = int(raw)
        except (TypeError, ValueError):
            return False
        return self._chart_reachable()

    def _check_open(self) -> bool:
        return second_factor_ok(dict(self.scope)) and self.may_open()

    def _chart_reachable(self) -> bool:
        from .models import Chart

        if self.chart_id is None:
            return False
        charts = (
            Chart.objects.in_portal_of(self.user)
            if self.chart_scope == "patient"
            else Chart.objects.visible_to(self.user)
        )
        return charts.filter(pk=self.chart_id).exists()

    async def recheck_chart(self) -> bool:
        """Is the chart still reachable? If not, close with 4403 and answer False.

        Call it at the start of every frame handler and before every push."""
        reachable = await database_sync_to_async(self._reachable_now)()
        if not reachable:
            await self.close(code=CLOSE_FORBIDDEN)
        return reachable

    def _reachable_now(self) -> bool:
        from accounts.models import User

        # The user may have been deactivated since the socket opened.
        fresh = User.objects.filter(pk=self.user.pk, is_active=True).first()
        if fresh is None:
            return False
        self.user = fresh
        return self._chart_reachable()

    # Channel-layer events: "chart.access_changed" -> chart_access_changed()
    async def chart_access_changed(self, event: dict[str, Any]) -> None:
        await self.recheck_chart()
