from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prescriptions.importer import prescription_status_changed

        from . import receivers

        prescription_status_changed.connect(
            receivers.on_prescription_status_changed, dispatch_uid="notifications.status"
        )
