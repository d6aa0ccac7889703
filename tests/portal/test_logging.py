"""Logging: each record is written once (Django's own config must not double the root's).

Checked in a fresh interpreter configured as the portal starts, because pytest adds capture
handlers of its own to the root logger.
"""

import json
import subprocess
import sys

from django.conf import settings

COUNT_HANDLERS = """
import json, logging, django
django.setup()

def reached(name):
    logger, count = logging.getLogger(name), 0
    while logger is not None:
        count += len(logger.handlers)
        if not logger.propagate:
            break
        logger = logger.parent
    return count

names = ["django.channels.server", "django.utils.autoreload", "django.request", "requests_chat"]
print(json.dumps({name: reached(name) for name in names}))
"""


def test_each_record_reaches_one_handler():
    out = subprocess.run(
        [sys.executable, "-c", COUNT_HANDLERS],
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "true", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # daphne's development server writes each request line on django.channels.server, the
    # reloader on django.utils.autoreload: before, both printed every line twice
    assert json.loads(out) == {
        "django.channels.server": 1,
        "django.utils.autoreload": 1,
        "django.request": 1,
        "requests_chat": 1,
    }
