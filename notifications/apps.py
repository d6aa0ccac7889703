from django.apps import AppConfig
from django.db.models.signals import post_save


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import invite_accepted
        from prescriptions.importer import prescription_status_changed

        from . import receivers

        prescription_status_changed.connect(
            receivers.on_prescription_status_changed, dispatch_uid="notifications.status"
        )
        invite_accepted.connect(receivers.on_invite_accepted, dispatch_uid="notifications.invite")
        # Clinic invites send no signal of their own; their accept service saves the status.
        post_save.connect(
            receivers.on_clinic_invite_saved,
            sender="invites.Invite",
            dispatch_uid="notifications.clinic_invite",
        )
