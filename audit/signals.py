"""Sign-in, sign-out and failed sign-ins go to the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .log import record
from .models import AuditEvent


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record(request, AuditEvent.Action.LOGIN, user=user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(request, AuditEvent.Action.LOGOUT, user=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record(request, AuditEvent.Action.LOGIN_FAILED, description=f"Failed sign-in for {email}")
