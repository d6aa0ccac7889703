"""Demo patient-portal data (idempotent; run after seed_clinics): a patient with two
clinicians at two clinics, and her child's chart she reaches as a proxy (parent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart, DashboardMessage, ProxyGrant

DEMO_PASSWORD = "Demo-Portal-2026!"
PATIENT = ("patient@demo.test", "Mary", "Doe", dt.date(1986, 4, 12))
# (clinic, provider email) of Mary's own charts.
MARY_CHARTS = [
    ("Riverside Family Clinic", "prescriber@demo.test"),
    ("Lakeside Dermatology", "dr.nguyen@demo.test"),
]
CHILD = ("Tim", "Doe", dt.date(2017, 9, 3), "Riverside Family Clinic", "dr.ortiz@demo.test")
MESSAGES = {
    "prescriber@demo.test": (
        "Welcome to the Riverside patient portal. Send me a message here for non-urgent "
        "questions; I answer within two working days.\n\nFlu shots are available every "
        "weekday morning — no appointment needed."
    ),
}


class Command(BaseCommand):
    help = "Create the demo patient (two clinicians) and her child's chart (proxy access)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        clinics = {c.name: c for c in Clinic.objects.all()}
        needed = {name for name, _ in MARY_CHARTS} | {CHILD[3]}
        if not needed <= clinics.keys():
            self.stdout.write("Patient portal demo skipped: run seed_clinics first.")
            return
        email, first, last, born = PATIENT
        mary = User.objects.filter(email=email).first()
        if mary is None:
            mary = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                phone="4155550134",
                role=User.Role.PATIENT,
            )
        for clinic_name, provider_email in MARY_CHARTS:
            provider = self.provider(clinics[clinic_name], provider_email)
            link, _ = ClinicPatient.objects.get_or_create(
                clinic=clinics[clinic_name], user=mary, defaults={"provider": provider}
            )
            # Joining made the chart (patient_portal.receivers); fill in the date of birth.
            Chart.objects.filter(joined_link=link, date_of_birth=None).update(date_of_birth=born)
        child_first, child_last, child_born, clinic_name, provider_email = CHILD
        tim, _ = Chart.objects.get_or_create(
            clinic=clinics[clinic_name],
            legal_first_name=child_first,
            legal_last_name=child_last,
            date_of_birth=child_born,
            patient_user=None,
            defaults={"provider": self.provider(clinics[clinic_name], provider_email)},
        )
        if not ProxyGrant.objects.live().filter(chart=tim, grantee=mary).exists():
            ProxyGrant.objects.create(
                chart=tim,
                grantee=mary,
                relationship=ProxyGrant.Relationship.PARENT,
                granted_by=User.objects.filter(email="clinicadmin@demo.test").first(),
            )
        for provider_email, text in MESSAGES.items():
            for membership in ClinicMembership.objects.providers().filter(
                user__email=provider_email
            ):
                DashboardMessage.objects.get_or_create(provider=membership, defaults={"text": text})
        self.stdout.write(
            self.style.SUCCESS(
                "Patient portal ready. Patient login (password for all demo logins: "
                f"{DEMO_PASSWORD}):\n"
                f"  Patient (2 clinicians, parent of Tim Doe)  {email}"
            )
        )

    def provider(self, clinic: Clinic, email: str) -> ClinicMembership:
        return ClinicMembership.objects.providers().get(clinic=clinic, user__email=email)
