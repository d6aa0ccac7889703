from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from . import receivers

        user_logged_out.connect(
            receivers.close_sockets_on_sign_out, dispatch_uid="accounts.close_sockets"
        )
