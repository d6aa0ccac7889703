from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_out, user_login_failed

        from . import receivers

        user_locked_out.connect(receivers.audit_lockout, dispatch_uid="accounts.audit_lockout")
        user_login_failed.connect(
            receivers.audit_failed_password, dispatch_uid="accounts.audit_failed"
        )
        user_logged_out.connect(receivers.audit_sign_out, dispatch_uid="accounts.audit_logout")
        user_logged_out.connect(
            receivers.close_sockets_on_sign_out, dispatch_uid="accounts.close_sockets"
        )
