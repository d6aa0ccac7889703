from audit.log import record


def audit_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    """django-axes locked sign-in for this username/client: leave an audit entry."""
    record(request, "auth.locked_out", description=f"Sign-in locked for {username or 'unknown'} from {ip_address}")
