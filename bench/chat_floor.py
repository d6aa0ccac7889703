"""The chat benchmark's floor: a plain Channels consumer broadcasting over the same layer.

Served by the same ASGI server as the portal (`uvicorn bench.chat_floor:application`), with the
same settings and so the same channel layer (Redis, the pub/sub layer by default). An HTTP POST
of a form with a `body` field broadcasts `<div class="message">body</div>` to one group; every
websocket (any path) joins that group on connect and sends on what it is given. No database,
no session, no access check, no template: what a message's delivery costs at the least.
"""

from __future__ import annotations

import html
import os
from typing import Any
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402

GROUP = "bench-floor"


class FloorConsumer(AsyncWebsocketConsumer):
    groups = [GROUP]

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])


async def broadcast(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    text = parse_qs(body.decode()).get("body", [""])[0]
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(
        GROUP, {"type": "chat.message", "html": f'<div class="message">{html.escape(text)}</div>'}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


application = ProtocolTypeRouter({"http": broadcast, "websocket": FloorConsumer.as_asgi()})
