from django.apps import AppConfig


class InstructionsConfig(AppConfig):
    name = "instructions"
    verbose_name = "Clinician's Instructions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The patient section (nav entry and Home card) and the health-records export part.
        from patient_portal.exports import register_export_part
        from patient_portal.sections import ORDER, HomeCard, Section, register

        from .cards import new_instructions
        from .exports import PART

        register(
            Section(
                key="instructions",
                label="Clinician's Instructions",
                url_name="instructions:list",
                permission="instructions",
                order=ORDER["instructions"],
                icon=ICON,
                matches=("instructions:",),
                home_card=HomeCard(
                    template="instructions/_home_card.html", context=new_instructions, order=60
                ),
            )
        )
        register_export_part(PART)


# A clipboard with lines (24×24).
ICON = (
    "M9 2h6a1 1 0 0 1 1 1v1h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2V3a1 "
    "1 0 0 1 1-1Zm1 2v2h4V4h-4ZM7 10v2h10v-2H7Zm0 4v2h7v-2H7Z"
)
