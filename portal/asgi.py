"""ASGI entry point: HTTP through Django, websockets through Channels (daphne or uvicorn)."""

import os
from collections.abc import Callable

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Set up Django (apps, models) before importing consumers.
django_asgi_app = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.db import connections  # noqa: E402

from messaging.routing import websocket_urlpatterns as messaging_routes  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402
from portal.consumers import DatabaseOutageGuard  # noqa: E402
from portal.health import tune_pool_reconnect  # noqa: E402
from portal.warmup import prepare_process  # noqa: E402
from requests_chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402


async def lifespan(scope: dict, receive: Callable, send: Callable) -> None:
    """ASGI lifespan: on shutdown, give the pooled database connections back to the server.

    Graceful shutdown itself is the server's (uvicorn, on SIGTERM): it stops accepting, lets
    running HTTP requests finish (--timeout-graceful-shutdown) and closes every websocket with
    1012 "service restart" (CLOSE_SERVICE_RESTART in portal/consumers.py), on which the pages
    reconnect at once, through the proxy, to another web process.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await sync_to_async(close_pools, thread_sensitive=False)()
            finally:
                await send({"type": "lifespan.shutdown.complete"})
            return


def close_pools() -> None:
    for alias in connections:
        connection = connections[alias]
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close_pool()  # type: ignore[attr-defined]  # the PostgreSQL backend's pool


application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        "http": django_asgi_app,
        # An outage of the database during a handshake closes with 4503, never HTTP 500.
        "websocket": DatabaseOutageGuard(
            AllowedHostsOriginValidator(
                AuthMiddlewareStack(
                    URLRouter([*chat_routes, *notification_routes, *messaging_routes])
                )
            )
        ),
    }
)

# Compile templates, fill caches and open pooled connections now, then keep the garbage collector
# off what is loaded (see portal/warmup.py).
tune_pool_reconnect()
prepare_process()
