from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Demographic Info in the patient nav, and this app's parts of the health-records export.
        from patient_portal.sections import ORDER, Section, register

        from .exports import register_parts

        register(
            Section(
                key="demographics",
                label="Demographic Info",
                url_name="records:update_info",
                order=ORDER["demographics"],
                icon="M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Zm4 4a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5Zm-4 9h8c0-2-2-3-4-3s-4 1-4 3Zm10-8v2h6V9h-6Zm0 4v2h4v-2h-4Z",
                matches=(
                    "records:update",
                    "records:add_contact",
                    "records:remove_contact",
                    "records:card",
                    "records:health",
                ),
            )
        )
        register_parts()
