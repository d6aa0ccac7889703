"""Start-up work of a web process, done before it takes its first request.

A fresh process otherwise compiles each template and fills the URL resolver's caches while
serving its first requests: the first chat messages after a start
took 100-120 ms instead of about 30 (docs/PERFORMANCE.md). When that is done, everything loaded
is moved out of the garbage collector's reach (`gc.freeze()`): it lives as long as the process,
and a full collection walking it took about 100 ms, during which every request and websocket of
the process waited.
"""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver

logger = logging.getLogger(__name__)


def portal_templates() -> list[str]:
    """The names of the portal's own templates (not those of Django's admin and other apps)."""
    names = []
    for directory in settings.TEMPLATES[0]["DIRS"]:
        root = Path(directory)
        names += [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.html"))]
        names += [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.txt"))]
    # templates/admin/ overrides Django's admin templates: they belong with the admin's.
    return [name for name in names if not name.startswith("admin/")]


def warm_up() -> None:
    get_resolver().reverse_dict  # noqa: B018 (builds the URL resolver's caches)
    for name in portal_templates():
        try:
            get_template(name)  # compiled once, then kept by the cached loader
        except (TemplateDoesNotExist, TemplateSyntaxError):
            logger.exception("Template %s does not compile", name)


def prepare_process() -> None:
    """Warm up, then freeze what is loaded (called once by portal.asgi).

    Also shortens the GIL's switch interval (`GIL_SWITCH_INTERVAL_MS`): while a view's thread
    runs Python (the sender's POST after its push: read marker, audit, response), the event
    loop that hands the pushed row to this process's sockets waited up to Python's 5 ms for the
    interpreter, several times per message.
    """
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_MS / 1000)
    try:
        warm_up()
    except Exception:
        # A warm-up problem (the database not up yet…) must not keep the server from starting.
        logger.exception("Warm-up failed; the first requests will be slower")
    gc.freeze()
