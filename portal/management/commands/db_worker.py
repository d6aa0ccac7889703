"""`manage.py db_worker`: django_tasks_db's command, running `portal.worker.PortalWorker`.

Same options as django_tasks_db's; this command is found first because `portal` comes before
`django_tasks_db` in INSTALLED_APPS, so compose, bin/run and the docs keep the usual name.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from portal.worker import PortalWorker


class Command(DatabaseWorkerCommand):
    help = (
        "Run a database background worker with heartbeats, recovery of tasks left by lost "
        "workers, a time limit per attempt and retries of transient failures."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        reload = options["reload"] and not options["batch"]
        exclude = options["exclude_queues"]
        if exclude and "*" not in options["queue_name"].split(","):
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = PortalWorker(
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=exclude.split(",") if exclude else [],
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
