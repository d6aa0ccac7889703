"""Writes of the requests app: create a request, send a message (with PDFs), mark as read.

A message is saved first; only after the transaction commits is it broadcast (ids only) to the
request's channel-layer group, and are notifications asked for. Who may read it (the audience)
is computed once, after commit, and handed to the push, the notification and the unread
announcement alike. A broadcast failure (Redis down) is logged and never undoes or fails the
send: open pages catch up with their next "still here" beat, or by polling.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from portal.consumers import user_group, user_html_event
from portal.push import group_send_many

from .documents import CheckedPdf
from .models import Document, Message, ReadState, Request
from .render import render_push, render_unread_badge
from .selectors import unread_in_request_for

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from accounts.models import User
    from prescriptions.models import Prescription

logger = logging.getLogger(__name__)

EVENT_MESSAGE = "chat.message"


class DocumentStoreUnavailable(Exception):
    """The document storage (S3) refused or did not answer: nothing of the message was kept."""


class RequestExists(Exception):
    """A request already exists for this Rx (one per prescription)."""

    def __init__(self, chat: Request):
        super().__init__("A request already exists for this Rx.")
        self.chat = chat


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
    """Open the request of `prescription` with its first message; RequestExists if there is one.

    One action, one notification: "new request" (naming its documents, if any), not also a
    "new message" and a "new document" for the same first message.
    """
    existing = Request.objects.filter(prescription=prescription).first()
    if existing:
        raise RequestExists(existing)
    try:
        with transaction.atomic():
            chat = Request.objects.create(prescription=prescription, created_by=author)
            message, _ = _store_message(
                chat=chat, author=author, body=body, client_id=client_id, files=files
            )
    except IntegrityError:
        # Two people opened a request for the same Rx at the same moment: the first one wins.
        raise RequestExists(Request.objects.get(prescription=prescription)) from None
    transaction.on_commit(lambda: message_committed(message, activity="new_request"))
    return chat, message


def send_message(
    *,
    chat: Request,
    author: User,
    body: str,
    client_id: str = "",
    files: Sequence[tuple[str, CheckedPdf]] = (),
) -> tuple[Message, bool]:
    """Store a message (and its checked PDFs), then broadcast and notify after commit.

    Idempotent by `client_id`: a retried send returns the stored message and `created=False`.
    """
    message, created = _store_message(
        chat=chat, author=author, body=body, client_id=client_id, files=files
    )
    if created:
        # A message of documents only is "new document"; with words too, a "new message"
        # that names its documents.
        activity = "new_document" if files and not body.strip() else "new_message"
        transaction.on_commit(lambda: message_committed(message, activity=activity))
    return message, created


def _delete_stored(keys: list[str]) -> None:
    """Remove the files of a message that was not kept; a store that is down leaves orphan
    files (unreachable: no row names them), never an error hiding the original one."""
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:
            logger.warning("Could not delete an orphaned document file")


def _store_message(
    *,
    chat: Request,
    author: User,
    body: str,
    client_id: str,
    files: Sequence[tuple[str, CheckedPdf]],
) -> tuple[Message, bool]:
    client_id = (client_id or new_client_id())[:64]
    # No look-up first: a retried client id is refused by the unique constraint (below), so a
    # new message, the usual case, costs no query for it.
    stored: list[str] = []
    documents: list[Document] = []
    now = timezone.now()
    message = Message(
        request=chat,
        author=author,
        author_name=str(author),
        author_role=author.role_label,
        body=body,
        client_id=client_id,
        created_at=now,
    )
    connection = connections[router.db_for_write(Message)]
    try:
        if not files and connection.vendor == "postgresql":
            # Words only, on PostgreSQL: the request's row bumped (and so locked), the message
            # inserted and the author's read marker moved by one statement, atomic by itself
            # (see _insert_locked).
            if connection.in_atomic_block:
                with transaction.atomic(using=connection.alias):  # a savepoint: a retry's
                    _insert_locked(connection, message)  # refusal leaves the caller's work
            else:
                _insert_locked(connection, message)
            with_documents(message, [])
            return message, True
        with transaction.atomic():
            # The request's row is locked first, so that the messages of one request take
            # their ids and commit in the same order (catch-up relies on it).
            Request.objects.filter(pk=chat.pk).update(last_message_at=now)
            message.save(force_insert=True)
            for title, pdf in files:
                # A random key: the uploaded name never reaches the storage path.
                try:
                    key = default_storage.save(
                        f"documents/{uuid.uuid4().hex}.pdf", ContentFile(pdf.data)
                    )
                except Exception as error:
                    # Any storage failure (S3 down, timeout, refused): the transaction rolls
                    # back the message, so no message is left without its document.
                    raise DocumentStoreUnavailable from error
                stored.append(key)
                document = Document.objects.create(
                    request=chat,
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
                documents.append(document)
            # The author's own messages are never unread for them: nothing to announce.
            mark_read(user=author, chat=chat, message_id=message.pk, announce=False)
    except IntegrityError:
        _delete_stored(stored)
        # This client id was stored before (a retried send), or by a send of it at the same
        # moment: that message is the answer.
        existing = Message.objects.filter(request=chat, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    except Exception:
        _delete_stored(stored)
        raise
    # Its documents, as `messages_for` prefetches them, for the pushed row and the sender's own
    # response alike: the ones just created, in order (no query).
    with_documents(message, documents)
    return message, True


def _insert_locked(connection: BaseDatabaseWrapper, message: Message) -> None:
    """Store a text message as the general path's transaction does, in one PostgreSQL statement.

    The same order: the UPDATE bumps the request's `last_message_at` and so locks its row
    (waiting for another sender of the same request to commit) before the INSERT takes the
    message's id from the sequence, so the messages of one request take their ids and commit
    in the same order; then the author's read marker moves forward to their own message (an
    upsert on the one-per-user constraint, never backwards), as `mark_read` does. One statement
    is one transaction in autocommit: no BEGIN and COMMIT round trips (this runs before every
    push). A repeated client id raises IntegrityError, as `Message.objects.create` would.
    """
    quote = connection.ops.quote_name

    def column(model: Any, name: str) -> str:
        return quote(str(model._meta.get_field(name).column))

    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    request_field = Message._meta.get_field("request")
    request_pk = quote(str(Request._meta.pk.column))
    message_pk = quote(str(Message._meta.pk.column))
    read_table = quote(ReadState._meta.db_table)
    read_user, read_request = column(ReadState, "user"), column(ReadState, "request")
    last_read, read_at = column(ReadState, "last_read_message_id"), column(ReadState, "updated_at")
    sql = (
        f"WITH bump AS (UPDATE {quote(Request._meta.db_table)} "
        f"SET {column(Request, 'last_message_at')} = %s WHERE {request_pk} = %s "
        f"RETURNING {request_pk}), "
        f"message AS (INSERT INTO {quote(Message._meta.db_table)} "
        f"({', '.join(quote(str(f.column)) for f in fields)}) SELECT "
        + ", ".join(f"bump.{request_pk}" if f is request_field else "%s" for f in fields)
        + f" FROM bump RETURNING {message_pk}), "
        f"seen AS (INSERT INTO {read_table} ({read_user}, {read_request}, {last_read}, {read_at}) "
        f"SELECT %s, %s, {message_pk}, %s FROM message "
        f"ON CONFLICT ({read_user}, {read_request}) DO UPDATE "
        f"SET {last_read} = EXCLUDED.{last_read}, {read_at} = EXCLUDED.{read_at} "
        f"WHERE {read_table}.{last_read} < EXCLUDED.{last_read}) "
        f"SELECT {message_pk} FROM message"
    )
    stamp = message.created_at
    params = [
        Request._meta.get_field("last_message_at").get_db_prep_save(stamp, connection),
        message.request_id,
        *(
            f.get_db_prep_save(f.pre_save(message, True), connection)
            for f in fields
            if f is not request_field
        ),
        message.author_id,
        message.request_id,
        ReadState._meta.get_field("updated_at").get_db_prep_save(stamp, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise IntegrityError(f"Request {message.request_id} does not exist")
    message.pk = row[0]
    message._state.adding = False
    message._state.db = connection.alias


def with_documents(message: Message, documents: list[Document]) -> None:
    """Give `message` its prefetched `documents` (as prefetch_related would) from a known list."""
    queryset = message.documents.all()
    queryset._result_cache = documents
    queryset._prefetch_done = True  # type: ignore[attr-defined]  # Django's prefetch marker
    message._prefetched_objects_cache = {"documents": queryset}  # type: ignore[attr-defined]


def message_committed(message: Message, *, activity: str) -> None:
    """After commit: who may read the message is computed here, once, from the database as it
    is now, and handed to the live push and to the notification task (which also announces
    the unread badges); nothing downstream asks again."""
    try:
        audience = sorted(message.request.audience())
    except Exception:
        logger.exception("Could not compute the audience of message %s", message.pk)
        return
    broadcast_message(message, audience)
    from .tasks import notify_chat_event  # noqa: PLC0415 (tasks imports this module)

    documents = len(message.documents.all())  # prefetched
    try:
        notify_chat_event.enqueue(
            activity,
            message.pk,
            message.author_id,
            audience,
            {"documents": documents} if documents else {},
        )
    except Exception:
        # A notification problem must never fail the chat itself.
        logger.exception("Could not queue notification %s for message %s", activity, message.pk)


def push_event(message: Message, audience: Iterable[int]) -> dict[str, Any]:
    """The channel-layer event for a new message: its row, rendered once, and who may read it.

    Each consumer only tests membership, so a push costs no query and no rendering on the
    receiving side, and a user who lost access before the message was sent is not in it (their
    socket is closed).
    """
    return {
        "type": EVENT_MESSAGE,
        "message_id": message.pk,
        "request_id": message.request_id,
        "html": render_push(message),
        "audience": sorted(audience),
    }


def broadcast_message(message: Message, audience: Iterable[int]) -> bool:
    """Push `message` to everyone watching its request (in every server process)."""
    try:
        event = push_event(message, audience)
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer is configured (settings.CHANNEL_LAYERS).")
        async_to_sync(layer.group_send)(message.request.group_name, event)
    except Exception:
        # Redis down or full: the message is stored; pages catch up with their next beat, or
        # by polling while their socket is down.
        logger.exception("Could not broadcast message %s", message.pk)
        return False
    return True


def mark_read(*, user: User, chat: Request, message_id: int, announce: bool = True) -> None:
    """Move the user's read marker forward to `message_id` (never back).

    With `announce`, the user's other open pages are told after commit, so that unread badges
    (the Requests list) drop at once.
    """
    mark_read_many({(user.pk, chat.pk): message_id}, announce=announce)


def mark_read_many(reads: dict[tuple[int, int], int], *, announce: bool = True) -> None:
    """Move read markers forward, {(user id, request id): message id} (never back).

    One call for a batch (the chat sockets' markers of a few seconds); with `announce`, the
    users whose marker moved are told after commit (their unread badges).
    """
    now = timezone.now()
    moved: dict[int, list[int]] = defaultdict(list)
    for (user_id, chat_id), message_id in reads.items():
        updated = ReadState.objects.filter(
            user_id=user_id, request_id=chat_id, last_read_message_id__lt=message_id
        ).update(last_read_message_id=message_id, updated_at=now)
        if (
            not updated
            and not ReadState.objects.filter(user_id=user_id, request_id=chat_id).exists()
        ):
            try:
                with transaction.atomic():
                    ReadState.objects.create(
                        user_id=user_id, request_id=chat_id, last_read_message_id=message_id
                    )
                updated = 1
            except IntegrityError:
                # Created meanwhile by another request or process: move that one instead.
                updated = ReadState.objects.filter(
                    user_id=user_id, request_id=chat_id, last_read_message_id__lt=message_id
                ).update(last_read_message_id=message_id, updated_at=now)
        if updated:
            moved[chat_id].append(user_id)
    if announce:
        for chat_id, user_ids in moved.items():
            transaction.on_commit(partial(announce_unread, chat_id, user_ids))


def announce_unread(
    chat_id: int, user_ids: Iterable[int], *, audience: Iterable[int] | None = None
) -> None:
    """Push these users' unread badge for a request to their open pages (the Requests list).

    The notifications socket only forwards ready HTML (it knows nothing of requests), so the
    badges are counted and rendered here, for the whole batch at once, whatever its size:

    - who may read the request is `audience`: for a new message, the one computed at its commit
      and handed to every part of the fan-out (`message_committed`); otherwise (read markers
      moved) the request's `Request.audience()`, asked now. Either way the access gate read
      backwards (see `selectors.unread_in_request_for`). A user of `user_ids` outside it gets a
      badge of 0, as counting through `visible_to` gave them before; an inactive user nothing;
    - the counts of all of them in one query (`unread_in_request_for`, the rule of
      `unread_messages`);
    - each distinct count rendered once (a badge depends only on the request and the count);
    - every push in one event-loop hop (`portal.push.group_send_many`).

    Best effort: a page that misses it shows the right count on its next load.
    """
    user_ids = sorted(set(user_ids))
    if get_channel_layer() is None or not user_ids:
        return
    try:
        if audience is None:
            chat = Request.objects.select_related("prescription").filter(pk=chat_id).first()
            audience = chat.audience() if chat is not None else ()
        readers = set(audience)
        counts = unread_in_request_for(user_ids, chat_id)  # the active users of user_ids
        badges: dict[int, str] = {}
        sends = []
        for user_id, unread in sorted(counts.items()):
            if user_id not in readers:
                unread = 0
            if unread not in badges:
                badges[unread] = render_unread_badge(chat_id, unread)
            sends.append((user_group(user_id), user_html_event(badges[unread])))
    except Exception:
        logger.exception("Could not announce unread counts of request %s", chat_id)
        return
    failures = group_send_many(sends)
    if failures:
        logger.error(
            "Could not announce unread counts of request %s to %d of %d users",
            chat_id,
            len(failures),
            len(sends),
            exc_info=failures[0],
        )
