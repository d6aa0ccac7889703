"""Background deliveries (Django's tasks API: inline in development, a DB queue in production)."""

from django_tasks import task

from portal.tasks import RetryLater

from .models import Invite


@task()
def deliver_invites(invite_ids: list[int]) -> None:
    """Send a batch of invites; each failure is recorded on its invite (Error Sending).

    Invites already sent are skipped, so running the batch again (the worker retries it when a
    provider timed out, or recovers it from a lost worker) sends only what did not go out.
    """
    from .services import deliver_invite

    retry = 0
    for invite in Invite.objects.filter(pk__in=invite_ids).select_related("clinic"):
        retry += deliver_invite(invite)
    if retry:
        raise RetryLater(f"{retry} invite(s) will be tried again")
