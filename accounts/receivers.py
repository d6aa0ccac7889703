from audit.log import record
from audit.models import AuditEvent
from portal.consumers import end_session_sockets


def audit_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    """django-axes locked sign-in for this username/client: leave an audit entry."""
    record(
        request,
        AuditEvent.Action.LOCKED_OUT,
        description=f"Sign-in locked for {username or 'unknown'} from {ip_address}",
    )


def audit_failed_password(sender, credentials, request=None, **kwargs) -> None:
    """A wrong email or password on the sign-in form (the account may or may not exist)."""
    username = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record(
        request,
        AuditEvent.Action.LOGIN_FAILED,
        description=f"Wrong email or password for {username}",
    )


def audit_sign_out(sender, request, user=None, **kwargs) -> None:
    if user is not None:
        record(request, AuditEvent.Action.LOGOUT, user, user=user)


def close_sockets_on_sign_out(sender, request, user=None, **kwargs) -> None:
    """Signing out (or the idle timeout) also closes the session's open chat and bell sockets,
    in every tab and on every server process."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        end_session_sockets([session.session_key])
