"""Background deliveries (Django's tasks API: inline in development, a DB queue in production)."""

from django_tasks import task

from .models import Invite


@task()
def deliver_invites(invite_ids: list[int]) -> None:
    """Send a batch of invites; each failure is recorded on its invite (Error Sending)."""
    from .services import deliver_invite

    for invite in Invite.objects.filter(pk__in=invite_ids).select_related("clinic"):
        deliver_invite(invite)
