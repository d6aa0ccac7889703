"""Demo clinics for clinicadmin@demo.test (idempotent; run after seed_demo)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from invites.models import Clinic, ClinicMembership

DEMO_PASSWORD = "Demo-Portal-2026!"
CLINICS = {
    "Riverside Family Clinic": [
        ("prescriber@demo.test", "Jane", "Smith"),
        ("dr.ortiz@demo.test", "Maya", "Ortiz"),
    ],
    "Lakeside Dermatology": [
        ("prescriber2@demo.test", "John", "Doe"),
        ("dr.nguyen@demo.test", "Linh", "Nguyen"),
    ],
}


class Command(BaseCommand):
    help = "Create two demo clinics with providers; clinicadmin@demo.test is a member of both."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        admin = User.objects.filter(email="clinicadmin@demo.test").first()
        if admin is None:
            admin = User.objects.create_user(
                "clinicadmin@demo.test",
                DEMO_PASSWORD,
                first_name="Carla",
                last_name="Mendes",
                role=User.Role.CLINIC_ADMIN,
            )
        for name, providers in CLINICS.items():
            clinic, _ = Clinic.objects.get_or_create(name=name)
            ClinicMembership.objects.get_or_create(
                user=admin, clinic=clinic, role=ClinicMembership.Role.ADMIN
            )
            for email, first, last in providers:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(
                        email,
                        DEMO_PASSWORD,
                        first_name=first,
                        last_name=last,
                        role=User.Role.PRESCRIBER,
                    )
                ClinicMembership.objects.get_or_create(
                    user=user,
                    clinic=clinic,
                    role=ClinicMembership.Role.PROVIDER,
                    defaults={"prescriber": user.prescriber},
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Clinics ready: {', '.join(CLINICS)} (clinicadmin@demo.test is admin of both)."
            )
        )
