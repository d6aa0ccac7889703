from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from .receivers import audit_lockout

        user_locked_out.connect(audit_lockout, dispatch_uid="accounts.audit_lockout")
