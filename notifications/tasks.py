"""Background email for notifications (Django's tasks API: inline in development and tests,
a database queue worked by `manage.py db_worker` in production).

Emails carry no patient data: only the kind of activity and a link into the portal, where the
reader signs in (with MFA) to see what it is about.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from portal.tasks import RetryLater, is_transient

from .models import EMAIL_SUBJECTS, Activity, Notification, NotificationSettings

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def _email_user(
    user: User,
    notifications: list[Notification],
    *,
    digest: bool,
    connection: BaseEmailBackend | None = None,
) -> None:
    kinds = sorted({n.activity for n in notifications})
    count = len(notifications)
    if len(kinds) == 1 and not digest:
        subject = EMAIL_SUBJECTS[Activity(kinds[0])]
    else:
        subject = f"You have {count} new notification{'s' if count != 1 else ''}"
    link = settings.SITE_URL.rstrip("/") + (
        reverse("notifications:open", args=[notifications[0].pk])
        if count == 1
        else reverse("notifications:list")
    )
    lines = [
        (Activity(kind).label, sum(1 for n in notifications if n.activity == kind))
        for kind in kinds
    ]
    context = {"count": count, "lines": lines, "link": link, "PRODUCT_NAME": settings.PRODUCT_NAME}
    send_mail(
        subject=f"{subject} · {settings.PRODUCT_NAME}",
        message=render_to_string("notifications/email.txt", context),
        from_email=None,
        recipient_list=[user.email],
        connection=connection,
    )


def _send(queryset: QuerySet[Notification], *, digest: bool) -> int:
    """Email each recipient one message about their pending rows in `queryset`."""
    by_user: dict[int, list[Notification]] = defaultdict(list)
    users = {}
    # Only fields an email may use: no prescription or patient is loaded at all.
    for n in (
        queryset.filter(email_pending=True)
        .select_related("recipient")
        .only("pk", "activity", "recipient__email", "recipient__is_active")
    ):
        by_user[n.recipient_id].append(n)
        users[n.recipient_id] = n.recipient
    sent = 0
    failures: list[Exception] = []
    # One connection to the mail server for the whole batch (a chat message to 200 readers is
    # 200 emails: one TCP + TLS handshake and login, not 200); opened at the first email.
    connection = get_connection()
    try:
        for user_id, rows in by_user.items():
            try:
                with transaction.atomic():
                    # Claim the rows first so that two workers never send the same email twice;
                    # an error rolls the claim back, so the rows stay pending for the retry.
                    claimed = Notification.objects.filter(
                        pk__in=[n.pk for n in rows], email_pending=True
                    ).update(email_pending=False, emailed_at=timezone.now())
                    if not claimed or not users[user_id].is_active or not users[user_id].email:
                        continue
                    connection.open()  # no-op once open; opened here, send_mail keeps it open
                    _email_user(users[user_id], rows, digest=digest, connection=connection)
                    sent += 1
            except Exception as exc:  # SMTP and friends raise many kinds
                # The other recipients still get theirs; this one is retried (or the digest).
                logger.warning("Notification email to user %s failed: %s", user_id, exc)
                failures.append(exc)
                # A connection that failed is not trusted again: the next send opens a new one.
                with contextlib.suppress(Exception):
                    connection.close()
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    if failures:
        if all(is_transient(exc) for exc in failures):
            raise RetryLater(f"{len(failures)} notification email(s) will be tried again")
        raise failures[0]
    return sent


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    """Send the immediate emails for these notifications (one email per recipient)."""
    return _send(Notification.objects.filter(pk__in=notification_ids), digest=False)


@task()
def send_notification_digests() -> int:
    """Send what waited for a digest or for quiet hours to end (run hourly by cron/worker)."""
    now = timezone.now()
    user_ids = set(
        Notification.objects.filter(email_pending=True).values_list("recipient_id", flat=True)
    )
    existing = {s.user_id: s for s in NotificationSettings.objects.filter(user_id__in=user_ids)}
    sent = 0
    for user_id in sorted(user_ids):
        user_settings = existing.get(user_id) or NotificationSettings(user_id=user_id)
        if not user_settings.digest_due(now):
            continue
        sent += _send(Notification.objects.filter(recipient_id=user_id), digest=True)
        if user_settings.digest != NotificationSettings.Digest.IMMEDIATE:
            NotificationSettings.objects.update_or_create(
                user_id=user_id, defaults={"last_digest_at": now}
            )
    return sent
