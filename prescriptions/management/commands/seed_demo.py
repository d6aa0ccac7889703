"""A realistic, deterministic demo world; `--scale N` grows it to benchmark sizes.

Every name, date of birth and address here is invented.
"""

import datetime as dt
import random
import time
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Delegation, User
from prescriptions.models import (
    CareGroup,
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
    Status,
    StatusChange,
)
from prescriptions.npi import make_npi

DEMO_PASSWORD = "Demo-Portal-2026!"
FIRST_NAMES = [
    "Avery",
    "Jordan",
    "Mikey",
    "Ashley",
    "Priya",
    "Mateo",
    "Grace",
    "Hiro",
    "Amara",
    "Lucas",
    "Sofia",
    "Noah",
    "Layla",
    "Ethan",
    "Zoe",
    "Omar",
    "Chloe",
    "Diego",
    "Hannah",
    "Kofi",
    "Isabel",
    "Ravi",
    "Nora",
    "Samuel",
    "Mei",
    "Elena",
    "Tomas",
    "Fatima",
    "Owen",
    "Leah",
]
LAST_NAMES = [
    "Waldorf",
    "Bronkh",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Castillo",
    "Nguyen",
    "Abernathy",
    "Patel",
    "Kowalski",
    "Haddad",
    "Fitzgerald",
    "Romero",
    "Sato",
    "Delacroix",
    "Mensah",
    "Novak",
    "Quinlan",
    "Varga",
    "Whitfield",
    "Yilmaz",
    "Zeller",
    "Brennan",
]
MEDICATIONS = [
    ("Humira Pen", "40 MG/0.4ML", "KIT"),
    ("Enbrel SureClick", "50 MG/ML", "AUTO-INJECTOR"),
    ("Stelara", "90 MG/ML", "SYRINGE"),
    ("Dupixent", "300 MG/2ML", "PEN"),
    ("Abiraterone Acetate", "250 MG", "TABLET"),
    ("Xeljanz", "5 MG", "TABLET"),
    ("Otezla", "30 MG", "TABLET"),
    ("Ibrance", "125 MG", "CAPSULE"),
    ("Revlimid", "10 MG", "CAPSULE"),
    ("Skyrizi", "150 MG/ML", "PEN"),
    ("Cosentyx", "150 MG/ML", "SENSOREADY PEN"),
    ("Epclusa", "400-100 MG", "TABLET"),
    ("Copaxone", "40 MG/ML", "SYRINGE"),
    ("Tecfidera", "240 MG", "CAPSULE"),
    ("Trikafta", "100-50-75 MG", "TABLET"),
    ("Jakafi", "10 MG", "TABLET"),
    ("Imbruvica", "420 MG", "TABLET"),
    ("Inhale", "200 MCG", "TABLET"),
]
CITIES = [
    ("Philadelphia", "PA", "191"),
    ("Pittsburgh", "PA", "152"),
    ("Columbus", "OH", "432"),
    ("Cleveland", "OH", "441"),
    ("Baltimore", "MD", "212"),
    ("Newark", "NJ", "071"),
    ("Richmond", "VA", "232"),
    ("Buffalo", "NY", "142"),
]
STREETS = [
    "Pennsylvania Ave",
    "Market St",
    "Oak Ln",
    "Maple Dr",
    "High St",
    "Chestnut St",
    "Lake Rd",
]
# Weighted so the demo dashboard looks like a real book of business.
STATUS_WEIGHTS = [
    (Status.REFERRAL_RECEIVED, 4),
    (Status.BENEFITS_INVESTIGATION, 5),
    (Status.PA_PENDING, 8),
    (Status.PA_APPROVED, 4),
    (Status.PA_DENIED, 3),
    (Status.FINANCIAL_ASSISTANCE, 3),
    (Status.DUE_FOR_FILL, 12),
    (Status.ORDER_SCHEDULED, 8),
    (Status.ORDER_SHIPPED, 18),
    (Status.DELIVERED, 20),
    (Status.ON_HOLD, 4),
    (Status.DISCONTINUED, 6),
    (Status.TRANSFERRED, 2),
]
SHIPPED_STATUSES = {
    Status.ORDER_SHIPPED,
    Status.DELIVERED,
    Status.DUE_FOR_FILL,
    Status.ORDER_SCHEDULED,
}

# (email, first, last, role) — the demo logins printed at the end.
DEMO_USERS = [
    ("prescriber@demo.test", "Jane", "Smith", User.Role.PRESCRIBER),
    ("prescriber2@demo.test", "John", "Doe", User.Role.PRESCRIBER),
    ("delegate@demo.test", "Dana", "Rivers", User.Role.DELEGATE),
    ("pharmacist@demo.test", "Paul", "Chen", User.Role.PHARMACIST),
    ("clinicadmin@demo.test", "Carla", "Mendes", User.Role.CLINIC_ADMIN),
    ("ops@demo.test", "Olive", "Park", User.Role.OPS),
]


def analyze(*models: type[Model]) -> None:
    """Refresh planner statistics after a bulk load (SQLite keeps none until asked): of the
    tables of `models`, or of the whole database."""
    with connection.cursor() as cursor:
        if not models:
            cursor.execute("ANALYZE")
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class Command(BaseCommand):
    help = "Load deterministic demo data (idempotent). --scale N grows it to N prescriptions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=int, default=600, help="Number of prescriptions")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--quiet-logins", action="store_true")

    def handle(self, *args: Any, scale: int, seed: int, quiet_logins: bool, **options: Any) -> None:
        started = time.monotonic()
        rng = random.Random(seed)
        with transaction.atomic():
            pharmacies, prescribers = self._directory(rng, scale)
            users = self._users(prescribers, pharmacies)
        existing = Prescription.objects.count()
        if existing < scale:
            self._patients_and_prescriptions(rng, scale, existing, prescribers, pharmacies)
            analyze()
        with transaction.atomic():
            self._conversations(users)
        self.stdout.write(
            f"Demo data ready: {Patient.objects.count()} patients, "
            f"{Prescription.objects.count()} prescriptions, {Prescriber.objects.count()} "
            f"prescribers ({time.monotonic() - started:.1f}s)."
        )
        if not quiet_logins:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, *_ in DEMO_USERS:
                self.stdout.write(f"  {users[email].get_role_display():<22} {email}")
            self.stdout.write("  Each account sets up its authenticator (TOTP) at first sign-in.")

    def _directory(self, rng: random.Random, scale: int) -> tuple[list[Pharmacy], list[Prescriber]]:
        main, _ = Pharmacy.objects.get_or_create(
            code="carelink",
            defaults={
                "name": "CareLink Specialty Pharmacy",
                "address": "100 Market St, Philadelphia, PA 19106",
                "phone": "2155550100",
            },
        )
        north, _ = Pharmacy.objects.get_or_create(
            code="northside",
            defaults={
                "name": "Northside Specialty Pharmacy",
                "address": "42 Lake Rd, Cleveland, OH 44101",
                "phone": "2165550142",
            },
        )
        # Enough prescribers that the first demo prescriber has ~2% of a large book.
        count = max(40, scale // 2000)
        prescribers = list(Prescriber.objects.order_by("pk"))
        if len(prescribers) < count:
            new = []
            used = {p.npi for p in prescribers}
            for index in range(len(prescribers), count):
                if index == 0:
                    first, last = "Jane", "Smith"
                elif index == 1:
                    first, last = "John", "Doe"
                else:
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                npi = make_npi(f"1{index:08d}")
                assert npi not in used
                city, state, zip3 = rng.choice(CITIES)
                new.append(
                    Prescriber(
                        npi=npi,
                        first_name=first,
                        last_name=last,
                        credential="MD",
                        practice_name=f"{last} Specialty Care",
                        address_line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                        city=city,
                        state=state,
                        zip_code=f"{zip3}{rng.randint(0, 99):02d}",
                        phone=f"{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}",
                    )
                )
            Prescriber.objects.bulk_create(new)
            prescribers = list(Prescriber.objects.order_by("pk"))
        return [main, north], prescribers

    def _users(self, prescribers: list[Prescriber], pharmacies: list[Pharmacy]) -> dict[str, User]:
        users = {}
        for email, first, last, role in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email,
                    DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    role=role,
                    is_staff=role == User.Role.OPS,
                    is_superuser=role == User.Role.OPS,
                )
            users[email] = user
        jane, john = prescribers[0], prescribers[1]
        # Set on the objects returned too: _conversations reads jane's prescriber_id from them
        # (an .update() alone left it None on a fresh database, so no chat was seeded).
        for email, prescriber in (("prescriber@demo.test", jane), ("prescriber2@demo.test", john)):
            users[email].prescriber = prescriber
            users[email].save(update_fields=["prescriber"])
        Delegation.objects.get_or_create(delegate=users["delegate@demo.test"], prescriber=jane)
        group, _ = CareGroup.objects.get_or_create(
            name="Immunology & Oncology team", defaults={"pharmacy": pharmacies[0]}
        )
        # The pharmacist's care group covers Jane Smith and half the directory, not John Doe.
        group.prescribers.add(jane, *prescribers[2::2])
        group.pharmacists.add(users["pharmacist@demo.test"])
        other, _ = CareGroup.objects.get_or_create(
            name="Northside team", defaults={"pharmacy": pharmacies[1]}
        )
        other.prescribers.add(john, *prescribers[3::2])
        return users

    def _conversations(self, users: dict[str, User]) -> None:
        """A few requests between Jane Smith's office and the pharmacy, so the chat is not empty.

        Written directly (no notifications or emails at seeding time); idempotent: skipped when
        Jane's prescriptions already have requests. Jane and Dana find unread messages waiting.
        """
        from requests_chat.models import Message, ReadState, Request  # noqa: PLC0415

        jane = users["prescriber@demo.test"]
        jane_prescriber_id = cast(int, jane.prescriber_id)  # _users() linked her record
        if Request.objects.filter(prescription__prescriber_id=jane_prescriber_id).exists():
            return
        dana, paul = users["delegate@demo.test"], users["pharmacist@demo.test"]
        scripts = [
            [
                (jane, "Hi, could you let me know where the prior authorization stands?"),
                (paul, "We submitted it yesterday; the plan asked for the latest lab results."),
                (dana, "Uploading them this afternoon."),
                (paul, "Received, thank you. We will call the patient to schedule delivery."),
            ],
            [
                (paul, "The patient's copay card expired. Do you have a new one on file?"),
                (dana, "Checking with the patient and will update you today."),
                (paul, "Any news on the copay card?"),
            ],
            [
                (jane, "Please hold this refill: the dose changes next month."),
                (paul, "Held. We will wait for the new prescription."),
            ],
        ]
        prescriptions = list(
            Prescription.objects.filter(prescriber_id=jane_prescriber_id)
            .active()
            .order_by("pk")[: len(scripts)]
        )
        now = timezone.now()
        for n, (rx, script) in enumerate(zip(prescriptions, scripts, strict=False)):
            started = now - dt.timedelta(days=3 - n, hours=2)
            chat = Request.objects.create(
                prescription=rx, created_by=script[0][0], created_at=started
            )
            for step, (author, body) in enumerate(script):
                at = started + dt.timedelta(hours=3 * step)
                message = Message.objects.create(
                    request=chat,
                    author=author,
                    author_name=str(author),
                    author_role=author.role_label,
                    body=body,
                    created_at=at,
                    client_id=f"demo-{chat.pk}-{step}",
                )
                ReadState.objects.update_or_create(
                    user=author, request=chat, defaults={"last_read_message_id": message.pk}
                )
            Request.objects.filter(pk=chat.pk).update(last_message_at=at)

    def _patients_and_prescriptions(
        self,
        rng: random.Random,
        scale: int,
        existing: int,
        prescribers: list[Prescriber],
        pharmacies: list[Pharmacy],
    ) -> int:
        today = timezone.localdate()
        statuses = [s for s, _ in STATUS_WEIGHTS]
        weights = [w for _, w in STATUS_WEIGHTS]
        patient_target = max(1, scale // 5)
        patients_existing = Patient.objects.count()
        batch = []
        for index in range(patients_existing, patient_target):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            city, state, zip3 = rng.choice(CITIES)
            batch.append(
                Patient(
                    # A quarter of the patients are Northside's; their prescriptions follow them.
                    pharmacy=pharmacies[1] if index % 4 == 0 else pharmacies[0],
                    pharmacy_patient_id=f"P{index + 1:07d}",
                    first_name=first,
                    last_name=last,
                    date_of_birth=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 29000)),
                    sex=rng.choice("FMFMU"),
                    phone=f"{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}",
                    email=f"{first}.{last}{index}@example.com".lower(),
                    address_line1=f"{rng.randint(1, 9999)} {rng.choice(STREETS)}".upper(),
                    city=city.upper(),
                    state=state,
                    zip_code=f"{zip3}{rng.randint(0, 99):02d}",
                )
            )
            if len(batch) >= 5000:
                Patient.objects.bulk_create(batch)
                batch = []
        Patient.objects.bulk_create(batch)
        patients = list(Patient.objects.order_by("pk").values_list("pk", "pharmacy_id"))
        now = timezone.now()
        # Jane Smith (the first demo prescriber) gets a fixed ~2% share; the rest spread out.
        prescriber_ids = [p.pk for p in prescribers]
        jane_every = 8 if scale <= 5000 else 50
        others = prescriber_ids[1:]
        rx_batch, next_rx = [], existing
        for index in range(existing, scale):
            status = rng.choices(statuses, weights)[0]
            name, strength, form = rng.choice(MEDICATIONS)
            shipped = (
                today - dt.timedelta(days=rng.randint(1, 120))
                if status in SHIPPED_STATUSES
                else None
            )
            changed = now - dt.timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            prescriber_id = prescriber_ids[0] if index % jane_every == 0 else rng.choice(others)
            next_fill = (shipped or today) + dt.timedelta(days=28)
            patient_id, pharmacy_id = patients[index % len(patients)]
            rx_batch.append(
                Prescription(
                    pharmacy_rx_id=f"RX{index + 1:08d}",
                    rx_number=str(2100000 + index * 7),
                    patient_id=patient_id,
                    prescriber_id=prescriber_id,
                    pharmacy_id=pharmacy_id,
                    medication_name=name,
                    strength=strength,
                    dosage_form=form,
                    status=status,
                    status_changed_at=changed,
                    last_shipped=shipped,
                    next_fill=next_fill,
                    priority=next_fill.strftime("%b %Y"),
                    refills_remaining=rng.randint(0, 11),
                    written_date=today - dt.timedelta(days=rng.randint(30, 400)),
                    created_at=changed - dt.timedelta(days=30),
                    updated_at=changed,
                )
            )
            next_rx = index + 1
            if len(rx_batch) >= 5000:
                self._save_rx(rx_batch)
                rx_batch = []
        self._save_rx(rx_batch)
        return next_rx

    def _save_rx(self, batch: list[Prescription]) -> None:
        if not batch:
            return
        with transaction.atomic():
            Prescription.objects.bulk_create(batch)  # sets pk (RETURNING on SQLite and PostgreSQL)
            changes = []
            for p in batch:
                pk, status, changed, created = p.pk, p.status, p.status_changed_at, p.created_at
                changes.append(
                    StatusChange(
                        prescription_id=pk,
                        from_status="",
                        to_status=Status.REFERRAL_RECEIVED,
                        changed_at=created,
                    )
                )
                if status != Status.REFERRAL_RECEIVED:
                    changes.append(
                        StatusChange(
                            prescription_id=pk,
                            from_status=Status.REFERRAL_RECEIVED,
                            to_status=status,
                            changed_at=changed,
                        )
                    )
            StatusChange.objects.bulk_create(changes, batch_size=5000)
