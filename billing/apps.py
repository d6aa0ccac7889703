from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from patient_portal.sections import ORDER, HomeCard, Section, register

        from .cards import balance_due

        register(
            Section(
                key="billing",
                label="Billing",
                url_name="billing:invoices",
                permission="billing",
                order=ORDER["billing"],
                # A card with a stripe.
                icon="M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 "
                "4v8h16V9H4Zm0-2h16V7H4Zm2 6h5v2H6v-2Z",
                matches=("billing:",),
                home_card=HomeCard(
                    template="billing/_home_card.html", context=balance_due, order=40
                ),
            )
        )
