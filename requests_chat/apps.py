from django.apps import AppConfig


class RequestsChatConfig(AppConfig):
    name = "requests_chat"
    default_auto_field = "django.db.models.BigAutoField"
