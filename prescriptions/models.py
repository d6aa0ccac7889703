"""Data the pharmacy owns: its prescriber directory, patients and prescriptions.

Nothing here is typed in by portal users; it arrives by import (see importer.py). Every read by a
user goes through a `visible_to(user)` queryset method.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from portal.security import hash_token

from .npi import validate_npi

if TYPE_CHECKING:
    from accounts.models import User


# Within one HTTP request the set of reachable prescribers is computed once (see
# prescriptions.middleware.AccessCacheMiddleware); websocket consumers and commands run without
# the cache, so a revoked delegation takes effect on their very next check.
_reachable_cache: ContextVar[dict[int, list[int]] | None] = ContextVar(
    "reachable_cache", default=None
)


def reachable_prescriber_ids(user: User) -> list[int]:
    """The ids of the prescribers whose patients this user may see: the root of access control.

    Three links, and only these: the user's own directory record (a prescriber), active
    delegations (a delegate), and membership of an active care group (a pharmacist). A user may
    hold several kinds of link; an inactive or anonymous user reaches nobody. Every
    `visible_to(user)` starts here, and `users_reaching` below is this read backwards.

    One query, a UNION of three indexed lookups (the OR of three joins with DISTINCT it replaced
    cost twice as much per request). The result is a literal list, which lets the planner use
    its statistics on `prescriber_id` (a care group covering half the book and a prescriber with
    2% of it need different plans); behind an opaque subquery PostgreSQL assumed every
    prescriber matched.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cache = _reachable_cache.get()
    if cache is not None and user.pk in cache:
        return cache[user.pk]
    ids = sorted({row[0] for row in _run_compiled("reachable", _reachable_query, [user.pk])})
    if cache is not None:
        cache[user.pk] = ids
    return ids


def users_reaching(prescriber_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each prescriber, the active users whose `Prescriber.objects.reachable_by` includes it.

    The reverse of `reachable_by` (kept beside it: a change to one is a change to both; a test
    compares them user by user), with its three links: the prescriber's own user, active
    delegations, and pharmacists of active care groups. One query (a UNION of the three links)
    whatever the batch size: it runs for every chat message, before the message is pushed.
    """
    ids = set(prescriber_ids)
    reach: dict[int, set[int]] = defaultdict(set)
    if not ids:
        return reach
    for prescriber_id, user_id in _run_compiled("reaching", _reaching_query, sorted(ids)):
        reach[prescriber_id].add(user_id)
    return reach


def _reachable_query(user_id: int) -> models.QuerySet[Any, Any]:
    """`reachable_prescriber_ids` as a queryset: the UNION of the three links of one user."""
    from accounts.models import Delegation, User  # noqa: PLC0415 (accounts imports this app)

    # No ORDER BY in the parts of a UNION (SQLite refuses them; models may have a default).
    own = (
        User.objects.filter(pk=user_id, prescriber__isnull=False)
        .order_by()
        .values_list("prescriber_id", flat=True)
    )
    delegated = (
        Delegation.objects.active()
        .filter(delegate_id=user_id)
        .order_by()
        .values_list("prescriber_id", flat=True)
    )
    grouped = (
        CareGroup.prescribers.through.objects.filter(
            caregroup__is_active=True, caregroup__pharmacists=user_id
        )
        .order_by()
        .values_list("prescriber_id", flat=True)
    )
    return own.union(delegated, grouped)


def _reaching_query(*prescriber_ids: int) -> models.QuerySet[Any, Any]:
    """`users_reaching` as a queryset: (prescriber id, user id) over the same three links."""
    from accounts.models import Delegation, User  # noqa: PLC0415 (accounts imports this app)

    own = (
        User.objects.filter(prescriber_id__in=prescriber_ids, is_active=True)
        .order_by()
        .values_list("prescriber_id", "pk")
    )
    delegated = (
        Delegation.objects.active()
        .filter(prescriber_id__in=prescriber_ids, delegate__is_active=True)
        .order_by()
        .values_list("prescriber_id", "delegate_id")
    )
    grouped = (
        CareGroup.pharmacists.through.objects.filter(
            caregroup__is_active=True,
            caregroup__prescribers__in=prescriber_ids,
            user__is_active=True,
        )
        .order_by()
        .values_list("caregroup__prescribers", "user_id")
    )
    return own.union(delegated, grouped, all=True)


# The access root's two queries, compiled to SQL once per database and shape. Building and
# compiling these UNION querysets cost Django about twice what PostgreSQL takes to run them, on
# every request and before every chat push. The SQL stays the ORM's own: the queryset is built
# with placeholder ids, compiled, and each placeholder's parameter slot is noted.
_PLACEHOLDER = -(2**62)  # an id no row has: placeholder i is _PLACEHOLDER - i
_COMPILED_UP_TO = 8  # batches of more ids than this are compiled each time
_compiled: dict[tuple[str, str, str, int], tuple[str, list[tuple[bool, Any]]]] = {}


def _run_compiled(
    name: str, build: Callable[..., models.QuerySet[Any, Any]], values: list[int]
) -> list[tuple[Any, ...]]:
    """Rows of `build(*values)`, from SQL compiled once per (database, number of values)."""
    using = router.db_for_read(Prescriber)
    connection = connections[using]
    key = (name, using, connection.vendor, len(values))
    compiled = _compiled.get(key)
    if compiled is None:
        if len(values) > _COMPILED_UP_TO:
            sql, params = build(*values).query.get_compiler(using=using).as_sql()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        placeholders = [_PLACEHOLDER - i for i in range(len(values))]
        sql, params = build(*placeholders).query.get_compiler(using=using).as_sql()
        slots = [
            (True, placeholders.index(p))
            if not isinstance(p, bool) and p in placeholders
            else (False, p)
            for p in params
        ]
        if {v for is_slot, v in slots if is_slot} != set(range(len(values))):
            raise RuntimeError(f"{name}: a placeholder id did not reach the SQL as a parameter")
        compiled = _compiled[key] = (sql, slots)
    sql, slots = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[v] if is_slot else v for is_slot, v in slots])
        return list(cursor.fetchall())


class PrescriberQuerySet(models.QuerySet["Prescriber"]):
    def reachable_by(self, user: User) -> Self:
        """Prescribers whose patients this user may see (see `reachable_prescriber_ids`)."""
        return self.filter(pk__in=reachable_prescriber_ids(user))


class Prescriber(models.Model):
    """An entry of the pharmacy's prescriber directory."""

    npi = models.CharField("NPI", max_length=10, unique=True, validators=[validate_npi])
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    credential = models.CharField(max_length=20, blank=True, help_text="MD, DO, NP…")
    practice_name = models.CharField(max_length=200, blank=True)
    address_line1 = models.CharField("practice address", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)

    objects = PrescriberQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Pharmacy(models.Model):
    code = models.SlugField(max_length=30, unique=True, help_text="The pharmacy's id in imports.")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    npi = models.CharField("NPI", max_length=10, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "pharmacies"

    def __str__(self) -> str:
        return self.name


class CareGroup(models.Model):
    """A set of prescribers a pharmacy team serves; its pharmacists see their prescriptions."""

    name = models.CharField(max_length=200)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="care_groups")
    prescribers = models.ManyToManyField(Prescriber, related_name="care_groups", blank=True)
    pharmacists = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="care_groups",
        blank=True,
        limit_choices_to={"role": "pharmacist"},
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IngestToken(models.Model):
    """A bearer token with which one pharmacy's dispensing system pushes JSON records.

    Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    """

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="tokens")
    label = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.pharmacy} · {self.label or self.pk}"

    @classmethod
    def issue(cls, *, pharmacy: Pharmacy, label: str = "") -> tuple[IngestToken, str]:
        token = secrets.token_urlsafe(32)
        return cls.objects.create(pharmacy=pharmacy, label=label, digest=hash_token(token)), token

    @classmethod
    def authenticate(cls, token: str) -> IngestToken | None:
        found = (
            cls.objects.select_related("pharmacy")
            .filter(digest=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if found:
            cls.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        return found


# The dates people type and files carry: ISO and US month/day/year.
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


def parse_day(text: str) -> dt.date | None:
    """A date in one of DATE_FORMATS, or None."""
    if not text.isascii():  # dates are written with 0-9, whatever strptime would accept
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: User) -> Self:
        """Patients with at least one prescription the user may see."""
        # EXISTS per patient, not an IN over every visible prescription id (which both SQLite
        # and PostgreSQL would materialise for a pharmacist covering half the book).
        return self.filter(
            Exists(Prescription.objects.visible_to(user).filter(patient=OuterRef("pk")))
        )

    def search(self, text: str, *, max_words: int = 4) -> Self:
        """Every word must match: a date is the date of birth, anything else the start of the
        first or last name ("jane 01/31/1980", "smi j")."""
        queryset = self
        for word in text.split()[:max_words]:
            day = parse_day(word)
            if day:
                queryset = queryset.filter(date_of_birth=day)
            else:
                queryset = queryset.filter(
                    Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
                )
        return queryset


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Other"
        UNKNOWN = "U", "Unknown"

    # The pharmacy's own record of this person: its patient_id is unique within that pharmacy
    # only (two pharmacies may both have a "P-1"), so every lookup by it names the pharmacy too.
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="patients")
    pharmacy_patient_id = models.CharField(max_length=64)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["first_name"]),
            models.Index(fields=["date_of_birth"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["pharmacy", "pharmacy_patient_id"], name="patient_unique_per_pharmacy"
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def address(self) -> str:
        city_line = " ".join(
            p for p in [f"{self.city}," if self.city else "", self.state, self.zip_code] if p
        )
        return ", ".join(p for p in [self.address_line1, city_line] if p)


class Status(models.TextChoices):
    """The pharmacy's status vocabulary; extend here (and in the importer's aliases)."""

    REFERRAL_RECEIVED = "referral_received", "Referral Received"
    BENEFITS_INVESTIGATION = "benefits_investigation", "Benefits Investigation"
    PA_PENDING = "pa_pending", "Prior Authorization Pending"
    PA_APPROVED = "pa_approved", "Prior Authorization Approved"
    PA_DENIED = "pa_denied", "Prior Authorization Denied"
    FINANCIAL_ASSISTANCE = "financial_assistance", "Financial Assistance"
    DUE_FOR_FILL = "due_for_fill", "Due for Fill"
    ORDER_SCHEDULED = "order_scheduled", "Order Scheduled"
    ORDER_SHIPPED = "order_shipped", "Order Shipped"
    DELIVERED = "delivered", "Delivered"
    ON_HOLD = "on_hold", "On Hold"
    DISCONTINUED = "discontinued", "Discontinued"
    TRANSFERRED = "transferred", "Transferred"


INACTIVE_STATUSES = frozenset({Status.DISCONTINUED, Status.TRANSFERRED})
# Statuses a prescriber's office usually has to act on.
NEEDS_ATTENTION_STATUSES = frozenset({Status.PA_PENDING, Status.PA_DENIED, Status.ON_HOLD})


class PrescriptionQuerySet(models.QuerySet["Prescription"]):
    def visible_to(self, user: User) -> Self:
        """Prescriptions this user may read: by NPI, through delegation, or by care group."""
        # The few reachable prescribers first, not an OR of joins plus DISTINCT on the big table.
        return self.filter(prescriber_id__in=reachable_prescriber_ids(user))

    def active(self) -> Self:
        return self.exclude(status__in=INACTIVE_STATUSES)

    def inactive(self) -> Self:
        return self.filter(status__in=INACTIVE_STATUSES)


class Prescription(models.Model):
    # Unique per pharmacy, like the patient's id (see the constraint below).
    pharmacy_rx_id = models.CharField(
        max_length=64, help_text="The pharmacy's id for this prescription."
    )
    rx_number = models.CharField("Rx number", max_length=32, db_index=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    prescriber = models.ForeignKey(
        Prescriber, on_delete=models.PROTECT, related_name="prescriptions"
    )
    pharmacy = models.ForeignKey(
        Pharmacy,
        on_delete=models.PROTECT,
        related_name="prescriptions",
        verbose_name="dispensing pharmacy",
    )
    medication_name = models.CharField(max_length=200)
    strength = models.CharField(max_length=100, blank=True)
    dosage_form = models.CharField("form", max_length=100, blank=True)
    status = models.CharField(max_length=40, choices=Status.choices)
    status_changed_at = models.DateTimeField(default=timezone.now)
    last_shipped = models.DateField(null=True, blank=True)
    next_fill = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=40, blank=True)
    refills_remaining = models.PositiveIntegerField(null=True, blank=True)
    written_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            # The dashboard always filters by prescriber first, then sorts or narrows.
            models.Index(fields=["prescriber", "status"]),
            models.Index(fields=["prescriber", "last_shipped"]),
            models.Index(fields=["prescriber", "next_fill"]),
            models.Index(fields=["prescriber", "medication_name"]),
            models.Index(fields=["prescriber", "-updated_at"]),
            models.Index(fields=["patient", "status"]),
            # Patient-name filters and the profile: a patient's rows, narrowed by prescriber
            # without touching the table (index-only on PostgreSQL).
            models.Index(fields=["patient", "prescriber"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["pharmacy", "pharmacy_rx_id"], name="prescription_unique_per_pharmacy"
            )
        ]

    def __str__(self) -> str:
        return f"Rx {self.rx_number} · {self.medication}"

    @property
    def medication(self) -> str:
        return " ".join(p for p in [self.medication_name, self.strength, self.dosage_form] if p)

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES


class StatusChange(models.Model):
    """One status transition reported by the pharmacy (the prescription's timeline)."""

    prescription = models.ForeignKey(
        Prescription, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=40, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=40, choices=Status.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [models.Index(fields=["prescription", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.prescription_id}: {self.from_status or '—'} → {self.to_status}"


class SavedFilterQuerySet(models.QuerySet["SavedFilter"]):
    def visible_to(self, user: User) -> Self:
        """A user's own saved dashboard filters (they hold a query string, no patient data)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class SavedFilter(models.Model):
    """A named dashboard query string a user can apply again with one click."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SavedFilterQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
