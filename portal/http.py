"""Request data that must not leak or break things: query strings in logs, control characters.

Search forms send patient names and dates of birth as GET parameters (`/?last_name=…`,
`/requests/?q=…`), so every log line that carries a URL goes through `redact_query()`: the
path stays, and only the parameters in SAFE_PARAMETERS keep their values.
"""

from __future__ import annotations

import logging
import logging.config
import re
from urllib.parse import unquote

# Parameters that never carry personal data: paging, ordering and fixed choices.
SAFE_PARAMETERS = frozenset(
    {
        "page",
        "ppage",
        "sort",
        "order",
        "status",
        "quick",
        "unread",
        "type",
        "all",
        "timeout",
        "after",
        "before",
    }
)
SAFE_VALUE = re.compile(r"[\w.,-]{0,40}")
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
# A query string glued to a path or URL: "?" after a non-space, up to a space or quote.
QUERY = re.compile(r"(?<=[^\s\"'])\?([^\s\"'\]]*)")
REDACTED = "-"

# Control characters (C0, DEL, C1). Text areas may send tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def redact_query_string(query: str) -> str:
    """`last_name=Smith&page=2` → `last_name=-&page=2`: names we know, safe values only."""
    parts = []
    for part in re.split(r"[&;]", query):
        if not part:
            continue
        name, has_value, value = part.partition("=")
        name = unquote(name)
        if not PARAMETER_NAME.fullmatch(name):
            parts.append(REDACTED)
        elif name in SAFE_PARAMETERS and SAFE_VALUE.fullmatch(unquote(value)):
            parts.append(f"{name}={unquote(value)}")
        else:
            parts.append(f"{name}={REDACTED}" if has_value else name)
    return "&".join(parts)


def redact_query(text: str) -> str:
    """Every query string in `text` (a log line or a URL) with its personal values removed."""
    return QUERY.sub(lambda match: "?" + redact_query_string(match.group(1)), text)


class RedactQueryStrings(logging.Filter):
    """A logging filter: the record's message, formatted, with its query strings redacted.

    Attached to the loggers that write request lines (daphne's development server, uvicorn's
    access and websocket lines, Django's request and server loggers) and to the console handler,
    so that nothing that reaches a log carries a patient's name from a search URL.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem to report, not ours
            return True
        if "?" in message:
            record.msg, record.args = redact_query(message), ()
        return True


# Loggers that write one line per request (or websocket) with its URL.
REQUEST_LINE_LOGGERS = (
    "django.request",
    "django.server",
    "django.channels.server",
    "uvicorn.access",
    "uvicorn.error",
    "daphne",
)


def configure_logging(config: dict) -> None:
    """settings.LOGGING_CONFIG: dictConfig, then redact the request-line loggers in place.

    The filter goes on the loggers themselves, not through dictConfig, because dictConfig would
    replace the handlers the server set up before Django started (uvicorn's access handler, or
    none at all after --no-access-log).
    """
    logging.config.dictConfig(config)
    for name in REQUEST_LINE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
