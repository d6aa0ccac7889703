from typing import Any

from django.core.management.base import BaseCommand

from notifications.tasks import send_notification_digests


class Command(BaseCommand):
    help = (
        "Email pending notifications to users whose hourly/daily digest is due or whose quiet "
        "hours have ended. Run it every hour (cron), or enqueue the task of the same name."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_notification_digests.call()
        self.stdout.write(f"Sent {sent} notification email(s).")
