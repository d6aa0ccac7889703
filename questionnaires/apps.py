from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Documents (forms, questionnaires, rating scales, e-consent)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The patient portal's "Documents" section, its Home card and the export part.
        from . import registry

        registry.register_all()
