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
    from collections import Counter

    from .services import deliver_invite

    invites = list(Invite.objects.filter(pk__in=invite_ids).select_related("clinic"))
    # One query for the batch: which numbers several live invites share (the SMS names whom).
    mobiles = {i.mobile for i in invites if i.mobile}
    per_mobile: Counter[str] = Counter(
        Invite.objects.live().filter(mobile__in=mobiles).values_list("mobile", flat=True)
    )
    retry = 0
    for invite in invites:
        retry += deliver_invite(invite, shared_phone=per_mobile[invite.mobile] > 1)
    if retry:
        raise RetryLater(f"{retry} invite(s) will be tried again")
