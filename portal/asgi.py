"""ASGI entry point: HTTP through Django, websockets through Channels (daphne or uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Set up Django (apps, models) before importing consumers.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402
from portal.warmup import prepare_process  # noqa: E402
from requests_chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*chat_routes, *notification_routes]))
        ),
    }
)

# Compile templates, fill caches and open pooled connections now, then keep the garbage collector
# off what is loaded (see portal/warmup.py).
prepare_process()
