from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from patient_portal.sections import ORDER, HomeCard, Section, register

        from .cards import messages_badge, recent_messages

        register(
            Section(
                key="messages",
                label="Messages",
                url_name="messaging:inbox",
                permission="messages",
                order=ORDER["messages"],
                icon="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2Z",
                matches=("messaging:",),
                home_card=HomeCard(
                    template="messaging/_home_card.html", context=recent_messages, order=10
                ),
                badge=messages_badge,
            )
        )
