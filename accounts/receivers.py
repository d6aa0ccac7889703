from audit.log import record
from audit.models import AuditEvent


def audit_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    """django-axes locked sign-in for this username/client: leave an audit entry."""
    record(request, AuditEvent.Action.LOCKED_OUT, description=f"Sign-in locked for {username or 'unknown'} from {ip_address}")
