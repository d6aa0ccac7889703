from typing import Any

from django.http import HttpRequest

from portal.consumers import end_session_sockets

# Sign-in, sign-out, failed sign-in and lock-out audit events: audit/signals.py (only there).


def close_sockets_on_sign_out(
    sender: Any, request: HttpRequest | None, user: Any = None, **kwargs: Any
) -> None:
    """Signing out (or the idle timeout) also closes the session's open chat and bell sockets,
    in every tab and on every server process."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        end_session_sockets([session.session_key])
