"""Sign-in, sign-out, failed sign-ins and lock-outs go to the audit trail: the only receivers
of these signals that write audit events (one event per action)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .log import record
from .models import AuditEvent

if TYPE_CHECKING:
    # A lower layer than accounts (docs/ARCHITECTURE.md, Layers): the type only.
    from accounts.models import User


@receiver(user_logged_in, dispatch_uid="audit.on_login")
def on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(request, AuditEvent.Action.LOGIN, user=user)


@receiver(user_logged_out, dispatch_uid="audit.on_logout")
def on_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record(request, AuditEvent.Action.LOGOUT, user, user=user)


@receiver(user_login_failed, dispatch_uid="audit.on_login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A wrong email or password (the account may or may not exist)."""
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record(
        request, AuditEvent.Action.LOGIN_FAILED, description=f"Wrong email or password for {email}"
    )


@receiver(user_locked_out, dispatch_uid="audit.on_locked_out")
def on_locked_out(
    sender: Any,
    request: HttpRequest | None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    """django-axes locked sign-in for this account."""
    record(
        request,
        AuditEvent.Action.LOCKED_OUT,
        description=f"Sign-in locked for {username or 'unknown'} from {ip_address}",
    )
