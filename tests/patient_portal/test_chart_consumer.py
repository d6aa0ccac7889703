"""ChartConsumer: a proxy's socket is refused, or closed, as soon as the grant ends."""

from __future__ import annotations

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from patient_portal.consumers import ChartConsumer
from patient_portal.services import revoke_proxy


class EchoChart(ChartConsumer):
    frame_limits = {"ping": (10.0, 10.0)}

    async def frame_ping(self, content):
        if not await self.recheck_chart():
            return
        await self.send(text_data=f"pong {self.chart_id}")


app = URLRouter([path("ws/chart/<int:chart_id>/", EchoChart.as_asgi())])


def communicator(user, chart_id: int) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        app, f"/ws/chart/{chart_id}/", headers=[(b"origin", b"http://localhost")]
    )
    comm.scope["user"] = user
    comm.scope["session"] = {}
    return comm


pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_patient_without_a_second_factor_opens_their_own_chart(family, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    comm = communicator(family.peter, family.peter_a.pk)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_from() == f"pong {family.peter_a.pk}"
    await comm.disconnect()


async def test_another_persons_chart_is_refused(family, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    comm = communicator(family.peter, family.mary_a.pk)
    connected, code = await comm.connect()
    assert not connected and code == 4403


async def test_a_revoked_proxy_socket_closes_at_once(family, settings):
    from channels.db import database_sync_to_async

    settings.ALLOWED_HOSTS = ["localhost"]
    comm = communicator(family.mary, family.tim.pk)
    connected, _ = await comm.connect()
    assert connected
    await database_sync_to_async(revoke_proxy)(grant=family.tim_grant, by=family.clinics.cadmin)
    output = await comm.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}
