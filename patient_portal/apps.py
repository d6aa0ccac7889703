from django.apps import AppConfig


class PatientPortalConfig(AppConfig):
    name = "patient_portal"
    verbose_name = "Patient portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The portal's own sections (Home, Account) and Home's Clinician Information card;
        # other apps register theirs in their own ready().
        from . import receivers, sections  # noqa: F401

        sections.register_core()
