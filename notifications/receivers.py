"""Signal receivers: events raised elsewhere that become notifications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.urls import reverse

from .models import Activity
from .services import notify, notify_status_changes

if TYPE_CHECKING:
    # Higher apps' types only (docs/ARCHITECTURE.md, Layers).
    from accounts.models import DelegateInvite, User
    from invites.models import Invite


def on_prescription_status_changed(
    sender: Any, changes: Sequence[tuple[int, str, str]], **kwargs: Any
) -> None:
    """The importer sends this after commit, once per batch of actual status changes."""
    notify_status_changes(changes)


def on_invite_accepted(sender: Any, invite: DelegateInvite, user: User, **kwargs: Any) -> None:
    """accounts.signals.invite_accepted: a delegate or pharmacist finished registering.

    A delegate joining tells the prescriber (and whoever sent the invite); a pharmacist
    accepting an ops invite tells the ops user who sent it.
    """
    from accounts.models import Delegation, User

    if invite.role == User.Role.DELEGATE and invite.prescriber_id:
        delegation = (
            Delegation.objects.select_related("prescriber__user")
            .filter(delegate=user, prescriber_id=invite.prescriber_id)
            .first()
        )
        if delegation is None:
            return
        recipients = {
            u for u in [getattr(delegation.prescriber, "user", None), invite.invited_by] if u
        }
        notify(
            activity=Activity.DELEGATE_JOINED,
            obj=delegation,
            actor=user,
            recipients=recipients,
            url=reverse("accounts:administration"),
        )
    elif invite.invited_by_id:
        notify(
            activity=Activity.INVITE_ACCEPTED,
            obj=invite,
            actor=user,
            recipients=[invite.invited_by_id],
            url="",
        )


def on_clinic_invite_saved(
    sender: Any,
    instance: Invite,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """invites.Invite saved as accepted (invites.services.accept_invite): tell the clinic side.

    The inviting clinic admin and the invite's provider hear that "a patient accepted your
    invite"; the patient's name stays in the clinic's pages, out of the bell and email.
    """
    if created or not update_fields or "status" not in update_fields:
        return
    if instance.status != "accepted":
        return
    provider_user_id = (
        type(instance.provider)
        .objects.filter(pk=instance.provider_id)
        .values_list("user_id", flat=True)
        .first()
    )
    recipients = {pk for pk in [instance.invited_by_id, provider_user_id] if pk}
    notify(
        activity=Activity.INVITE_ACCEPTED,
        obj=instance,
        recipients=recipients,
        url=reverse("invites:patients"),
    )
