from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Schedule"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The patient portal's "Schedule" section, its Home card and the export part.
        from . import registry

        registry.register_all()
