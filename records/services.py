"""Writes of a chart's record: proposed changes and their review, health records, exports.

`add_health_record` is the ONE way any app adds a PDF to a chart's health records (the clinic's
uploads, the Documents section's completed forms, …); see docs/ARCHITECTURE.md, "Records".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from patient_portal.models import Chart
from patient_portal.services import record_for_chart
from requests_chat.documents import InvalidDocument, check_pdf

from .files import CheckedFile
from .models import (
    Coverage,
    Demographics,
    EmergencyContact,
    FieldChange,
    HealthExport,
    HealthRecord,
    PendingChange,
    Subject,
)

if TYPE_CHECKING:
    from django.core.files import File
    from django.http import HttpRequest

    from accounts.models import User

# The fields a patient may propose, with the label the clinic and the patient read.
CHART_FIELDS = {
    "legal_first_name": "Legal first name",
    "legal_last_name": "Legal last name",
    "date_of_birth": "Date of birth",
}
DEMOGRAPHIC_FIELDS = {
    **CHART_FIELDS,
    "preferred_name": "Preferred name",
    "sex": "Sex",
    "gender_identity": "Gender identity",
    "pronouns": "Pronouns",
    "address_line1": "Address",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "country": "Country",
    "phone": "Phone",
    "email": "Email",
    "preferred_language": "Preferred language",
}
CONTACT_FIELDS = {
    "name": "Name",
    "relationship": "Relationship",
    "phone": "Phone",
    "email": "Email",
}
CARD_FIELDS = {"card_front": "Card (front)", "card_back": "Card (back)"}
INSURANCE_FIELDS = {
    "payer": "Insurance company",
    "member_id": "Member ID",
    "group_number": "Group number",
    "subscriber_name": "Subscriber",
    "subscriber_relationship": "Subscriber's relationship to the patient",
    **CARD_FIELDS,
}
REMOVE = "remove"


class ChangeRefused(ValueError):
    """A proposal or decision that cannot be made; the message says why."""


# Current values --------------------------------------------------------------------------------


def demographics_of(chart: Chart) -> Demographics:
    """The chart's demographics row, or an unsaved empty one."""
    found = Demographics.objects.filter(chart=chart).first()
    return found or Demographics(chart=chart)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def current_values(chart: Chart, subject: str, target: str) -> dict[str, str]:
    """The record's present values of one subject/target, as text (what "old" means)."""
    if subject == Subject.DEMOGRAPHICS:
        demo = demographics_of(chart)
        return {
            f: _text(getattr(chart if f in CHART_FIELDS else demo, f)) for f in DEMOGRAPHIC_FIELDS
        }
    if subject == Subject.CONTACT:
        contact = (
            EmergencyContact.objects.filter(chart=chart, pk=int(target)).first()
            if target.isdigit()
            else None
        )
        return {f: _text(getattr(contact, f, "")) for f in CONTACT_FIELDS}
    coverage = Coverage.objects.filter(chart=chart, rank=target).first()
    values = {f: _text(getattr(coverage, f, "")) for f in INSURANCE_FIELDS if f not in CARD_FIELDS}
    for f, label in CARD_FIELDS.items():
        has = bool(coverage and getattr(coverage, f))
        values[f] = f"{label} on file" if has else ""
    return values


def labels_for(subject: str) -> dict[str, str]:
    return {
        Subject.DEMOGRAPHICS: DEMOGRAPHIC_FIELDS,
        Subject.CONTACT: CONTACT_FIELDS,
        Subject.INSURANCE: INSURANCE_FIELDS,
    }[Subject(subject)]


# Proposals (the patient's side) ----------------------------------------------------------------


def _replace_pending(chart: Chart, subject: str, target: str, field: str) -> None:
    """A newer proposal of the same field replaces the one still waiting."""
    for old in PendingChange.objects.filter(
        chart=chart,
        subject=subject,
        target=target,
        field=field,
        status=PendingChange.Status.PENDING,
    ):
        if old.file:
            old.file.delete(save=False)
        old.delete()


@transaction.atomic
def propose_changes(
    *,
    chart: Chart,
    subject: str,
    target: str,
    values: Mapping[str, Any],
    by: User,
    request: HttpRequest | None = None,
) -> list[PendingChange]:
    """Turn what the patient typed into one pending change per field that differs from the
    record; nothing on the chart changes until the clinic accepts. Returns the new rows."""
    labels = labels_for(subject)
    current = current_values(chart, subject, target)
    waiting = dict(
        PendingChange.objects.filter(
            chart=chart, subject=subject, target=target, status=PendingChange.Status.PENDING
        ).values_list("field", "new_value")
    )
    created: list[PendingChange] = []
    for field, raw in values.items():
        if field not in labels or field in CARD_FIELDS:
            continue
        new = _text(raw).strip()
        if new == current.get(field, ""):
            # Back to the record's value: a waiting proposal of it is withdrawn.
            _replace_pending(chart, subject, target, field)
            continue
        if waiting.get(field) == new:
            continue  # the same value already waits: kept as it is, nobody told again
        _replace_pending(chart, subject, target, field)
        created.append(
            PendingChange.objects.create(
                chart=chart,
                subject=subject,
                target=target,
                field=field,
                label=labels[field],
                old_value=current.get(field, ""),
                new_value=new,
                submitted_by=by,
            )
        )
    if created:
        record_for_chart(
            request,
            AuditEvent.Action.CREATE,
            chart=chart,
            user=by,
            description=f"proposed {len(created)} change(s) to {Subject(subject).label.lower()}: "
            + ", ".join(c.label for c in created),
        )
        _tell_staff(chart, by, len(created))
    return created


def _tell_staff(chart: Chart, by: User, changes: int) -> None:
    """The bell (and email, as each one chose) of those who review the chart's changes: its
    provider and the clinic's admins, the staff `PendingChange.objects.editable_by` lets act
    on it. One notification per submission, whatever the number of fields; after commit."""
    from invites.models import ClinicMembership  # noqa: PLC0415
    from notifications.models import Activity  # noqa: PLC0415
    from notifications.services import notify  # noqa: PLC0415

    admins = ClinicMembership.objects.admins().filter(clinic_id=chart.clinic_id)
    staff = {chart.provider.user_id, *admins.values_list("user_id", flat=True)}
    notify(
        activity=Activity.RECORD_CHANGE,
        obj=chart,
        actor=by,
        recipients=sorted(staff),
        url=reverse("clinic_records:chart", args=[chart.pk]),
        data={"changes": changes},
    )


def new_contact_target() -> str:
    return f"new-{uuid.uuid4().hex[:12]}"


@transaction.atomic
def propose_removal(
    *, chart: Chart, contact: EmergencyContact, by: User, request: HttpRequest | None = None
) -> PendingChange:
    target = str(contact.pk)
    _replace_pending(chart, Subject.CONTACT, target, REMOVE)
    change = PendingChange.objects.create(
        chart=chart,
        subject=Subject.CONTACT,
        target=target,
        field=REMOVE,
        label="Remove this contact",
        old_value=str(contact),
        new_value="(removed)",
        submitted_by=by,
    )
    record_for_chart(
        request,
        AuditEvent.Action.CREATE,
        change,
        chart=chart,
        user=by,
        description="proposed removing an emergency contact",
    )
    _tell_staff(chart, by, 1)
    return change


@transaction.atomic
def propose_card(
    *,
    chart: Chart,
    rank: str,
    side: str,
    checked: CheckedFile,
    by: User,
    request: HttpRequest | None = None,
) -> PendingChange:
    """A checked card image or PDF, waiting for the clinic (stored privately meanwhile)."""
    if side not in CARD_FIELDS or rank not in Coverage.Rank.values:
        raise ChangeRefused("Unknown insurance card.")
    _replace_pending(chart, Subject.INSURANCE, rank, side)
    change = PendingChange(
        chart=chart,
        subject=Subject.INSURANCE,
        target=rank,
        field=side,
        label=CARD_FIELDS[side],
        old_value=current_values(chart, Subject.INSURANCE, rank)[side],
        new_value=f"New {CARD_FIELDS[side].lower()}: {checked.summary}",
        file_type=checked.content_type,
        submitted_by=by,
    )
    change.file.save(
        f"{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.data), save=False
    )
    change.save()
    record_for_chart(
        request,
        AuditEvent.Action.CREATE,
        change,
        chart=chart,
        user=by,
        description=f"proposed a new insurance {CARD_FIELDS[side].lower()} ({rank})",
    )
    _tell_staff(chart, by, 1)
    return change


# Review (the clinic's side) ----------------------------------------------------------------------


def _apply(change: PendingChange) -> str:
    """Write the proposed value to the record; returns the value it replaced."""
    chart = change.chart
    field = change.field
    if change.subject == Subject.DEMOGRAPHICS:
        if field in CHART_FIELDS:
            old = _text(getattr(chart, field))
            value: Any = change.new_value
            if field == "date_of_birth":
                value = dt.date.fromisoformat(value) if value else None
            setattr(chart, field, value)
            chart.save(update_fields=[field])
            return old
        demo = demographics_of(chart)
        old = _text(getattr(demo, field))
        setattr(demo, field, change.new_value)
        demo.updated_at = timezone.now()
        demo.save()
        return old
    if change.subject == Subject.CONTACT:
        if change.target.isdigit():
            contact = EmergencyContact.objects.filter(chart=chart, pk=int(change.target)).first()
            if contact is None:
                raise ChangeRefused("This contact was removed meanwhile.")
        else:
            # The first accepted field of a new contact creates it; its sibling proposals then
            # name the new row.
            contact = EmergencyContact.objects.create(chart=chart, name="")
            PendingChange.objects.filter(
                chart=chart, subject=Subject.CONTACT, target=change.target
            ).update(target=str(contact.pk))
            change.target = str(contact.pk)
        if field == REMOVE:
            old = str(contact)
            contact.delete()
            PendingChange.objects.filter(
                chart=chart,
                subject=Subject.CONTACT,
                target=change.target,
                status=PendingChange.Status.PENDING,
            ).exclude(pk=change.pk).update(
                status=PendingChange.Status.REJECTED, decided_at=timezone.now()
            )
            return old
        old = _text(getattr(contact, field))
        setattr(contact, field, change.new_value)
        contact.save()
        return old
    coverage, _ = Coverage.objects.get_or_create(chart=chart, rank=change.target)
    if field in CARD_FIELDS:
        old = f"{CARD_FIELDS[field]} on file" if getattr(coverage, field) else ""
        if replaced := getattr(coverage, field).name:
            # The card it replaces is not kept (the history says a card was replaced).
            transaction.on_commit(lambda: default_storage.delete(replaced))
        # The coverage takes over the stored (already checked and re-encoded) file.
        setattr(coverage, field, change.file.name)
        setattr(coverage, f"{field}_type", change.file_type)
    else:
        old = _text(getattr(coverage, field))
        setattr(coverage, field, change.new_value)
    coverage.updated_at = timezone.now()
    coverage.save()
    return old


@transaction.atomic
def accept_change(
    *, change: PendingChange, by: User, request: HttpRequest | None = None
) -> FieldChange:
    """Apply one proposed field to the chart's record and keep it in the field's history."""
    change = PendingChange.objects.select_for_update().select_related("chart").get(pk=change.pk)
    if change.status != PendingChange.Status.PENDING:
        raise ChangeRefused("This change was already decided.")
    old = _apply(change)
    now = timezone.now()
    change.status = PendingChange.Status.ACCEPTED
    change.decided_by = by
    change.decided_at = now
    change.save(update_fields=["status", "decided_by", "decided_at", "target"])
    history = FieldChange.objects.create(
        chart=change.chart,
        subject=change.subject,
        target=change.target,
        field=change.field,
        label=change.label,
        old_value=old,
        new_value=change.new_value,
        proposed_by=change.submitted_by,
        changed_by=by,
        changed_at=now,
        pending=change,
    )
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        change,
        chart=change.chart,
        user=by,
        description=f"accepted the patient's change of {change.label}",
    )
    return history


@transaction.atomic
def reject_change(*, change: PendingChange, by: User, request: HttpRequest | None = None) -> None:
    change = PendingChange.objects.select_for_update().select_related("chart").get(pk=change.pk)
    if change.status != PendingChange.Status.PENDING:
        raise ChangeRefused("This change was already decided.")
    change.status = PendingChange.Status.REJECTED
    change.decided_by = by
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    if change.file:
        # A refused card image is not kept (the history says a card was proposed).
        name = change.file.name or ""
        transaction.on_commit(lambda: default_storage.delete(name))
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        change,
        chart=change.chart,
        user=by,
        description=f"did not accept the patient's change of {change.label}",
    )


# Health records ----------------------------------------------------------------------------------


def add_health_record(
    *,
    chart: Chart,
    kind: str,
    title: str,
    pdf_bytes: bytes | None = None,
    file: File | None = None,
    source: str,
    created_by: User | None,
    request: HttpRequest | None = None,
) -> HealthRecord:
    """Add a PDF to `chart`'s health records: THE one way any app does it.

    `kind` is a `HealthRecord.Kind` value ("visit_summary", "lab_result", "letter",
    "completed_document", "other"); give the PDF as `pdf_bytes` or as a Django `file`. The PDF
    is checked by content as chat documents are (`requests_chat.documents.check_pdf`): raises
    `requests_chat.documents.InvalidDocument` (the reason in its message) and stores nothing
    when refused. `source` says where it came from ("clinic", "documents:<submission id>").
    The patient sees it at once in Demographic Info → Health records; the addition is audited.
    """
    if kind not in HealthRecord.Kind.values:
        raise ValueError(f"Unknown health-record kind {kind!r}")
    title = " ".join(title.split())[:200]
    if not title:
        raise InvalidDocument("Give the record a title.")
    if pdf_bytes is None:
        if file is None:
            raise ValueError("add_health_record needs pdf_bytes or file")
        from .files import read_upload

        pdf_bytes = read_upload(file)
    checked = check_pdf(pdf_bytes, name=title)
    health = HealthRecord(
        chart=chart,
        kind=kind,
        title=title,
        size=checked.size,
        page_count=checked.page_count,
        sha256=checked.sha256,
        source=source[:100],
        created_by=created_by,
    )
    health.file.save(f"{uuid.uuid4().hex}.pdf", ContentFile(checked.data), save=False)
    name = health.file.name or ""
    try:
        with transaction.atomic():
            health.save()
            record_for_chart(
                request,
                AuditEvent.Action.CREATE,
                health,
                chart=chart,
                user=created_by,
                description=f"health record added ({health.get_kind_display()}, source {source})",
            )
    except Exception:
        # Nothing stored when the row is not: remove the file the failed insert left behind.
        default_storage.delete(name)
        raise
    return health


# Exports -------------------------------------------------------------------------------------------


def start_export(*, chart: Chart, by: User, request: HttpRequest | None = None) -> HealthExport:
    """Queue "Export health records" for `chart` (built by `records.tasks.build_health_export`
    after commit: inline in development, by the worker in production)."""
    from .tasks import build_health_export

    # A double click, or asking again while one is being built, gets the export under way.
    busy = HealthExport.objects.filter(
        chart=chart,
        requested_by=by,
        status__in=[HealthExport.Status.QUEUED, HealthExport.Status.RUNNING],
        created_at__gte=timezone.now() - dt.timedelta(minutes=10),
    ).first()
    if busy is not None:
        return busy
    export = HealthExport.objects.create(chart=chart, requested_by=by)
    record_for_chart(
        request,
        AuditEvent.Action.CREATE,
        export,
        chart=chart,
        user=by,
        description="health-records export requested",
    )
    export_id = export.pk
    transaction.on_commit(lambda: build_health_export.enqueue(export_id))
    return export


def purge_expired_exports(*, now: dt.datetime | None = None) -> int:
    """Delete exports past their expiry (files first); returns how many went."""
    now = now or timezone.now()
    gone = 0
    for export in HealthExport.objects.filter(expires_at__lt=now).iterator():
        for stored in (export.pdf, export.fhir_json):
            if stored:
                stored.delete(save=False)
        export.delete()
        gone += 1
    return gone
