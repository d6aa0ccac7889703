"""What the portal's websocket consumers share."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.db import connections

from portal.health import is_database_outage
from portal.security import hash_token

logger = logging.getLogger(__name__)

# The sockets' own database threads (a few connections per process, reused by every consumer:
# PortalConsumer's checks and each app's socket work). One executor, not the event loop's default
# one, so the connections they hold are few, known and closed at shutdown and after tests.
DB_THREADS = 4
_db_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="chat-db")


def on_socket_db_thread(func: Callable[..., Any]) -> DatabaseSyncToAsync:
    """Like database_sync_to_async, but on the sockets' own threads, not the one "sync thread".

    ASGI servers run every synchronous view of the process on that single thread, so a socket's
    access check would otherwise wait behind whatever request is being served (say, the POST
    that sent the message, still writing its audit and notifications).
    """
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_db_executor)


def close_db_connections() -> None:
    """Close the connections the socket threads hold (at shutdown, and after tests)."""
    barrier = threading.Barrier(DB_THREADS)

    def close() -> None:
        connections.close_all()
        # Hold this thread until every thread has a close task of its own.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)

    wait([_db_executor.submit(close) for _ in range(DB_THREADS)])


if TYPE_CHECKING:
    # The mixins below are only ever mixed into a websocket consumer: the checker sees its
    # attributes (scope, channel_layer, close…). At run time they are plain classes.
    _ConsumerBase = AsyncWebsocketConsumer
else:
    _ConsumerBase = object


class DirectDispatchMixin(_ConsumerBase):
    """Run a consumer's handlers without channels' hop to the process's one sync thread.

    `AsyncConsumer.dispatch` awaits `close_old_connections()` through `sync_to_async` before
    every handler: one trip to the thread that also runs every synchronous view of the process,
    for every message of every socket. A chat message pushed to 50 sockets of a process made 50
    such trips, queued behind whatever view was running, which was most of the fan-out time.

    The consumers using this mixin do all their database work through `database_sync_to_async`
    (or a `DatabaseSyncToAsync` on their own executor), which closes stale connections itself,
    on the thread that uses them, before and after each call; their pushes touch no database.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


# Sockets end with the session they were opened in -------------------------------------------

CLOSE_SESSION_ENDED = 4401
EVENT_SESSION_ENDED = "session.ended"


def session_group(session_key: str) -> str:
    """The channel-layer group of the sockets opened with one session (the key itself is a
    credential, so only a digest of it goes to Redis)."""
    return "session-" + hash_token(session_key)[:40]


def end_session_sockets(session_keys: Iterable[str]) -> None:
    """Close every socket opened with these sessions (signed out, or ended by a password
    change): an open page must not go on receiving patient data after its session is gone."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    for key in session_keys:
        if not key:
            continue
        try:
            async_to_sync(layer.group_send)(session_group(key), {"type": EVENT_SESSION_ENDED})
        except Exception:
            # The sockets then end at their next access check; signing out must not fail.
            logger.exception("Could not close the sockets of an ended session")


class SessionBoundMixin(_ConsumerBase):
    """Joins the socket to its session's group; `session.ended` closes it with 4401."""

    session_group_name: str | None = None

    async def join_session_group(self) -> None:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if key:
            self.session_group_name = session_group(key)
            await self.channel_layer.group_add(self.session_group_name, self.channel_name)

    async def leave_session_group(self) -> None:
        if self.session_group_name:
            await self.channel_layer.group_discard(self.session_group_name, self.channel_name)

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_SESSION_ENDED)

    async def session_is_live(self) -> bool:
        """Is the socket's session still there, still this user's, and not idle past the limit?

        Read fresh from the session store (the scope holds the copy of the handshake), so that
        a session deleted or idle on the server ends its sockets even if the page's own idle
        timer never fired (a suspended tab, a closed laptop lid).
        """
        return await on_socket_db_thread(self._session_is_live)()

    def _session_is_live(self) -> bool:
        from importlib import import_module

        from django.conf import settings

        from accounts.middleware import IdleTimeoutMiddleware

        key = getattr(self.scope.get("session"), "session_key", None)
        user = self.scope.get("user")
        if not key or user is None:
            return False
        data = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).load()
        if str(data.get("_auth_user_id")) != str(user.pk):
            return False
        last = data.get(IdleTimeoutMiddleware.SESSION_KEY)
        return last is None or time.time() - last <= settings.SESSION_IDLE_MINUTES * 60


# Shared vocabulary ---------------------------------------------------------------------------

# Close codes a page may see (chat.js acts on them); 4xxx mirror the HTTP statuses they mean.
CLOSE_FORBIDDEN = 4403  # not signed in, no second factor, inactive, foreign origin, no access
CLOSE_RATE_LIMITED = 4429  # the client kept sending frames far faster than any page does
CLOSE_UNAVAILABLE = 4503  # Redis or the database is out: the page polls, then reconnects
# The web process is stopping (SIGTERM: a deploy or a restart). uvicorn closes every socket with
# it at shutdown (RFC 6455's "service restart"); the page reconnects at once, and the proxy
# sends it to another process. Pages reconnect after a random back-off on any other loss.
CLOSE_SERVICE_RESTART = 1012


class DatabaseOutageGuard:
    """ASGI middleware around every websocket route: a handshake that meets a database that is
    out (down, restarting, or the pool's wait for a free connection timed out under load) ends
    in CLOSE_UNAVAILABLE, as a Redis outage does, instead of an HTTP 500.

    The session, the user, the second factor and the access check are all read from the
    database before a socket is accepted (channels' auth middleware, `PortalConsumer.connect`).
    When one of those reads fails for a database outage (`portal.health.is_database_outage`),
    the socket is accepted and closed at once with 4503: nothing is sent on it, and the page
    reads the code, polls meanwhile and reconnects with back-off (static/js/portal.js); a
    refusal before accepting would reach it as 1006 with no reason. A socket already open that
    meets an outage is closed the same way. Any other error propagates as before.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        state = {"connect": False, "accepted": False, "closed": False}

        async def watched_receive() -> Any:
            message = await receive()
            if message.get("type") == "websocket.connect":
                state["connect"] = True
            elif message.get("type") == "websocket.disconnect":
                state["closed"] = True
            return message

        async def watched_send(message: Any) -> None:
            kind = message.get("type")
            if kind == "websocket.accept":
                state["accepted"] = True
            elif kind in ("websocket.close", "websocket.http.response.start"):
                state["closed"] = True
            await send(message)

        try:
            await self.inner(scope, watched_receive, watched_send)
        except Exception as error:
            if scope.get("type") != "websocket" or not is_database_outage(error):
                raise
            logger.warning("Database unavailable at a websocket: closed with 4503 (%s)", error)
            if state["closed"]:
                return
            if not state["accepted"]:
                if not state["connect"]:
                    message = await receive()
                    if message.get("type") != "websocket.connect":
                        return  # the client left before its handshake was answered
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open pages (the notifications socket)."""
    return f"user-{user_id}"


def otp_verified(scope: Mapping[str, Any]) -> bool:
    """Is the socket's user signed in, active, and past the second factor in this session?

    What django-otp's middleware checks for HTTP (it does not run for websockets). Synchronous:
    call it on a database thread.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or not user.is_active or session is None:
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id, for_verify=False)
    return device is not None and device.user_id == user.pk and getattr(device, "confirmed", True)


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    """Does the handshake come from one of our own pages? (The same test as channels'
    AllowedHostsOriginValidator in asgi.py, repeated here so that no consumer depends on how it
    is mounted.)"""
    from urllib.parse import urlparse

    from django.conf import settings
    from django.http.request import validate_host

    origin = next((v for k, v in scope.get("headers", ()) if k == b"origin"), None)
    if not origin:
        return False
    try:
        host = urlparse(origin.decode("latin1")).hostname
    except ValueError:
        return False
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return bool(host) and validate_host(host, allowed)


# Client frames: validated, rate-limited, never fatal ------------------------------------------

# A frame larger than this is refused unread (the biggest a page sends is a catch-up with the
# ids it holds).
MAX_FRAME_CHARS = 16_384
# The largest number a frame may carry (a 64-bit database id).
MAX_ID = 2**63 - 1


class BadFrame(ValueError):
    """A client frame that is not what the protocol allows; it is dropped, the socket stays."""


@dataclass
class TokenBucket:
    """`burst` frames at once, then `rate` per second. Past the burst frames are dropped; a
    client that keeps sending into an empty bucket (a debt of another `burst`) is abusive."""

    rate: float
    burst: float
    tokens: float | None = None
    at: float = 0.0

    def take(self) -> str:
        """ "ok", "drop" (too soon) or "abuse" (far too many)."""
        now = time.monotonic()
        if self.tokens is None:
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        if self.tokens >= 0:
            return "ok"
        return "abuse" if self.tokens < -self.burst else "drop"


def parse_frame(text: str | None) -> dict[str, Any]:
    """The JSON object of a client frame, or BadFrame (never OverflowError, RecursionError…)."""
    if text is None or len(text) > MAX_FRAME_CHARS:
        raise BadFrame("missing or too large")

    def no_constant(name: str) -> Any:
        raise BadFrame(f"{name} is not a number a frame may carry")

    try:
        # Floats stay text: no frame field is a float, and "1e400" must not become infinity.
        content = json.loads(text, parse_constant=no_constant, parse_float=str)
    except (ValueError, RecursionError) as error:  # int() of 5,000 digits is a ValueError too
        raise BadFrame("not JSON") from error
    if not isinstance(content, dict):
        raise BadFrame("not an object")
    return content


def id_field(content: dict[str, Any], name: str, *, default: int | None = None) -> int:
    """A non-negative id-sized integer field (not a bool, float, string or huge number)."""
    value = content.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise BadFrame(f"{name} must be an id")
    return value


def id_list_field(content: dict[str, Any], name: str, *, limit: int) -> list[int]:
    """A list of at most `limit` ids (missing: empty)."""
    value = content.get(name, [])
    if not isinstance(value, list) or len(value) > limit:
        raise BadFrame(f"{name} must be a list of at most {limit} ids")
    return [id_field({"id": item}, "id") for item in value]


# Is the channel layer carrying messages? One watch per process --------------------------------

# While a process holds sockets it sends itself a probe through the channel layer this often;
# a probe that cannot be sent, or does not come back within LAYER_PROBE_TIMEOUT, means pushes
# are not arriving (Redis stopped, restarting, unreachable or stuck). A killed Redis refuses the
# send at once, so open pages hear "not live" within about LAYER_CHECK_SECONDS.
LAYER_CHECK_SECONDS = 0.5
LAYER_PROBE_TIMEOUT = 2.0
# After the layer is back, each socket's own follow-up (the bell's refresh) is spread over this
# many seconds so that a thousand pages do not query at the same instant.
LAYER_RECOVERY_SPREAD = 2.0
EVENT_LAYER_PROBE = "layer.probe"


class LayerWatch:
    """Watches one process's channel layer for its open sockets, and tells them when it stops
    or resumes carrying messages (`PortalConsumer.layer_changed`).

    Why a watch and not each socket for itself: pub/sub delivery fails for every socket of a
    process at once (they share one Redis subscription), and a quiet page sends nothing that
    would notice; one probe per process every half second costs Redis nothing. "Up" again is
    said only once a probe has made the round trip, i.e. once the process's subscriptions are
    back (channels_redis re-subscribes them when it reconnects), never merely when Redis
    accepts connections again.
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.sockets: set[PortalConsumer] = set()
        self.up = True
        self.task: asyncio.Task[None] | None = None
        self.channel: str | None = None
        self.receiver: asyncio.Task[None] | None = None
        self.sent = 0
        self.returned = 0
        self.arrived = asyncio.Event()
        self.pending: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def add(self, consumer: PortalConsumer) -> None:
        self.sockets.add(consumer)
        if not self.running:
            self.task = asyncio.ensure_future(self.run())

    def discard(self, consumer: PortalConsumer) -> None:
        self.sockets.discard(consumer)
        if not self.sockets and self.up and self.task is not None:
            self.task.cancel()  # nothing to watch for: stop now, not at the next probe
            self.task = None

    def known_down(self) -> bool:
        """The layer is down as far as a running watch knows (a handshake need not try it)."""
        return self.running and not self.up

    async def run(self) -> None:
        # While sockets are open, and while the layer is down (so that a handshake refused
        # meanwhile is told the truth as soon as it is back).
        try:
            while self.sockets or not self.up:
                up = await self.probe()
                if up != self.up:
                    self.up = up
                    if up:
                        logger.warning("Channel layer back: %d sockets told", len(self.sockets))
                    else:
                        logger.warning("Channel layer down: %d sockets told", len(self.sockets))
                    for consumer in list(self.sockets):
                        task = asyncio.ensure_future(consumer.layer_changed(up))
                        self.pending.add(task)
                        task.add_done_callback(self.pending.discard)
                await asyncio.sleep(LAYER_CHECK_SECONDS)
        finally:
            if self.receiver is not None:
                self.receiver.cancel()
                self.receiver = None
            self.channel = None

    async def probe(self) -> bool:
        """Send a probe to the watch's own channel; True if it comes back in time."""
        try:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.receiver = asyncio.ensure_future(self.receive_probes(self.channel))
            self.sent += 1
            await self.layer.send(self.channel, {"type": EVENT_LAYER_PROBE, "n": self.sent})
        except Exception:
            return False
        number = self.sent
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LAYER_PROBE_TIMEOUT
        while self.returned < number:
            self.arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def receive_probes(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The list-based layer's BLPOP fails while Redis is down; the pub/sub layer
                # just waits. Either way, try again.
                await asyncio.sleep(LAYER_CHECK_SECONDS)
                continue
            number = message.get("n") if isinstance(message, dict) else None
            if isinstance(number, int) and number > self.returned:
                self.returned = number
                self.arrived.set()


# One watch per event loop and layer object (a test's event loop dies with its watch).
_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, LayerWatch]] = (
    weakref.WeakKeyDictionary()
)


def layer_watch(layer: Any) -> LayerWatch:
    """The running loop's watch of `layer`."""
    per_loop = _watches.setdefault(asyncio.get_running_loop(), {})
    watch = per_loop.get(id(layer))
    if watch is None or watch.layer is not layer:
        watch = per_loop[id(layer)] = LayerWatch(layer)
    return watch


class PortalConsumer(SessionBoundMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    """What every socket of the portal does before and around its own work.

    On connect: the origin is ours, the user is signed in, active and past the second factor
    (`otp_verified`), and `may_open()` (the subclass's access check) agrees; else the handshake
    is refused with CLOSE_FORBIDDEN. Then the socket joins `groups()` and its session's group
    (a sign-out elsewhere closes it with CLOSE_SESSION_ENDED); if the channel layer is down it
    is closed cleanly with CLOSE_UNAVAILABLE instead of failing the handshake (HTTP 500), and the
    page polls and reconnects (static/js/portal.js). While open, the process's `LayerWatch`
    tells it when the layer stops or resumes carrying pushes (`layer_changed`).

    Client frames are JSON objects with a "type"; each type the subclass accepts is listed in
    `frame_limits` (type: (rate per second, burst)) and handled by `frame_<type>(content)`.
    Malformed, unknown, oversized or too-frequent frames are dropped (and logged); a client
    sending far too many is closed with CLOSE_RATE_LIMITED. An error in a handler is logged and
    never ends the socket.
    """

    frame_limits: ClassVar[dict[str, tuple[float, float]]] = {}
    # Frames of no accepted type (or not parseable) share one bucket.
    invalid_limit: ClassVar[tuple[float, float]] = (1.0, 10.0)

    user: Any = None
    opened: bool = False
    # The channel layer could not even make this socket's channel (Redis down at the handshake).
    layer_unavailable: bool = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """channels' `AsyncConsumer.__call__`, except for a channel layer that is down.

        channels creates the socket's channel before anything else; with Redis down that
        raises, and the server answers the handshake with HTTP 500. Here the socket goes on
        without a channel, and `connect()` closes it cleanly with CLOSE_UNAVAILABLE. (While the
        process's watch already knows the layer is down it is not even tried: a failed
        subscription leaves a queue behind in channels_redis' pub/sub layer.)
        """
        self.scope = scope
        # As channels does (its stubs type the attribute as never None).
        self.channel_layer = get_channel_layer(self.channel_layer_alias)  # type: ignore[assignment]
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            try:
                if layer_watch(self.channel_layer).known_down():
                    raise ConnectionError("the channel layer is down")
                self.channel_name = await self.channel_layer.new_channel()
            except Exception as error:
                logger.warning("Channel layer unavailable at a handshake: %s", error)
                self.layer_unavailable = True
            else:
                sources.append(functools.partial(self.channel_layer.receive, self.channel_name))
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch(sources, self.dispatch)

    # WebSocket events

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.buckets = {
            kind: TokenBucket(rate, burst)
            for kind, (rate, burst) in {**self.frame_limits, "": self.invalid_limit}.items()
        }
        if not origin_allowed(self.scope) or not await self._may_open():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if self.layer_unavailable:
            await self._close_unavailable()
            return
        try:
            await self._join_groups()
        except Exception as error:
            # Redis down: a clean close the page understands (it polls meanwhile), not a 500.
            logger.warning("Channel layer unavailable: socket closed (%s)", error)
            await self._leave_groups()
            await self._close_unavailable()
            return
        self.opened = True
        await self.accept()
        if self.channel_layer is not None:
            layer_watch(self.channel_layer).add(self)
        await self.on_open()

    async def disconnect(self, code: int) -> None:
        if not self.opened:
            return
        self.opened = False
        if self.channel_layer is not None:
            layer_watch(self.channel_layer).discard(self)
        try:
            await self.on_close()
        except Exception:
            logger.exception("Error while closing a socket")
        await self._leave_groups()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            content = parse_frame(text_data)
            kind = content.get("type")
            if not isinstance(kind, str) or kind not in self.frame_limits:
                raise BadFrame("unknown type")
        except BadFrame as error:
            logger.info("Dropped a client frame: %s", error)
            await self._charge("")
            return
        if not await self._charge(kind):
            return
        try:
            await getattr(self, f"frame_{kind}")(content)
        except BadFrame as error:
            logger.info("Dropped a %r frame: %s", kind, error)
        except Exception:
            logger.exception("Error handling a %r frame (the socket stays open)", kind)

    # Subclass hooks

    def groups_to_join(self) -> list[str]:
        return []

    def may_open(self) -> bool:
        """The socket's own access check, on a database thread (the user is verified)."""
        return True

    async def on_open(self) -> None:
        pass

    async def on_close(self) -> None:
        pass

    async def on_layer_change(self, up: bool) -> None:
        """The channel layer stopped (False) or resumed (True) carrying this process's pushes:
        say so to the page (pushes may have been lost meanwhile)."""

    # The channel layer's state, from the process's LayerWatch

    async def layer_changed(self, up: bool) -> None:
        if not self.opened:
            return
        try:
            if up:
                # Join again: the list-based layer keeps groups in Redis, which a restart
                # empties (for the pub/sub layer this is a no-op: the subscriptions came back).
                await self._join_groups()
            await self.on_layer_change(up)
        except Exception:
            logger.exception("Error telling a socket about the channel layer")

    # Helpers

    async def _join_groups(self) -> None:
        for group in self.groups_to_join():
            await self.channel_layer.group_add(group, self.channel_name)
        await self.join_session_group()

    async def spread(self) -> None:
        """Wait a random moment (up to LAYER_RECOVERY_SPREAD): work that every socket of a
        process does when the layer returns is spread out instead of done at one instant."""
        await asyncio.sleep(random.uniform(0, LAYER_RECOVERY_SPREAD))  # noqa: S311 (not crypto)

    async def _close_unavailable(self) -> None:
        """Close with CLOSE_UNAVAILABLE where the page can read it.

        A handshake refused before it is accepted reaches the browser as 1006 with no reason
        (the server answers HTTP 403), so the socket is accepted first: the user has passed
        every check by now, and the page learns that live updates are down, polls meanwhile and
        reconnects with back-off (static/js/portal.js), rather than guessing.
        """
        await self.accept()
        await self.close(code=CLOSE_UNAVAILABLE)

    async def _may_open(self) -> bool:
        if self.user is None or not self.user.is_authenticated:
            return False
        return await on_socket_db_thread(self._check_open)()

    def _check_open(self) -> bool:
        return otp_verified(self.scope) and self.may_open()

    async def _charge(self, kind: str) -> bool:
        """Take a token for a frame of `kind`; False if the frame is to be dropped."""
        verdict = self.buckets[kind].take()
        if verdict == "abuse":
            logger.warning("Closing a socket that floods %r frames", kind or "invalid")
            await self.close(code=CLOSE_RATE_LIMITED)
        return verdict == "ok"

    async def _leave_groups(self) -> None:
        for group in self.groups_to_join():
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group, self.channel_name)
        with contextlib.suppress(Exception):
            await self.leave_session_group()


# Ready-made HTML for one user's open pages (their notifications socket forwards it as is).
EVENT_USER_HTML = "user.html"


def user_html_event(html: str) -> dict[str, str]:
    """The channel-layer event that shows `html` (out-of-band swaps) on a user's pages."""
    return {"type": EVENT_USER_HTML, "html": html}
