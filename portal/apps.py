from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project's own plumbing: worker heartbeats, idempotency keys, `db_worker`."""

    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"
