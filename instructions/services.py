"""Writes of Clinician's Instructions: publish, edit (until first read), unpublish, publish
again, and the reader's first read. Views audit each through `record_for_chart`."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from invites.models import ClinicMembership
from patient_portal.services import on_behalf_of

from .models import Instruction, InstructionRead

if TYPE_CHECKING:
    from accounts.models import User
    from patient_portal.models import Chart
    from requests_chat.documents import CheckedPdf

logger = logging.getLogger(__name__)


class InstructionFrozen(ValueError):
    """The instruction was read: it is kept as read. The message says what to do instead."""


class StorageUnavailable(RuntimeError):
    """The document storage refused or did not answer: nothing was saved."""


def author_name(user: User, chart: Chart) -> str:
    """How the patient sees the writer: their clinic name (a provider's display name)."""
    membership = ClinicMembership.objects.filter(user=user, clinic_id=chart.clinic_id).first()
    return membership.display_name if membership else (user.get_full_name() or user.email)


def _store_pdf(pdf: CheckedPdf) -> str:
    # A random key: the uploaded name never reaches the storage path.
    try:
        return default_storage.save(f"instructions/{uuid.uuid4().hex}.pdf", ContentFile(pdf.data))
    except Exception as error:  # S3 down, timeout, refused
        raise StorageUnavailable from error


def _delete_stored(key: str) -> None:
    """Remove a file no row names any more; a store that is down leaves an orphan (unreachable:
    no row names it), never an error hiding the original one."""
    try:
        default_storage.delete(key)
    except Exception:
        logger.warning("Could not delete an instruction's document file")


def _attach(instruction: Instruction, pdf: CheckedPdf, key: str) -> None:
    instruction.pdf.name = key
    instruction.pdf_name = pdf.name[:255]
    instruction.pdf_size = pdf.size
    instruction.pdf_pages = pdf.page_count
    instruction.pdf_sha256 = pdf.sha256


def publish_instruction(
    *, chart: Chart, author: User, title: str, text: str, pdf: CheckedPdf | None = None
) -> Instruction:
    """Share a new instruction with the chart; its readers are alerted (PHI-free, only as
    they chose) after commit."""
    key = _store_pdf(pdf) if pdf is not None else ""
    try:
        with transaction.atomic():
            now = timezone.now()
            instruction = Instruction(
                chart=chart,
                title=title,
                text=text,
                author=author,
                author_name=author_name(author, chart),
                created_at=now,
                published_at=now,
                updated_at=now,
                updated_by=author,
            )
            if pdf is not None:
                _attach(instruction, pdf, key)
            instruction.save()
            transaction.on_commit(lambda: queue_alert(instruction.pk))
    except Exception:
        if key:
            _delete_stored(key)
        raise
    return instruction


def queue_alert(instruction_id: int) -> None:
    from .tasks import alert_new_instruction

    alert_new_instruction.enqueue(instruction_id)


def edit_instruction(
    *,
    instruction: Instruction,
    by: User,
    title: str,
    text: str,
    pdf: CheckedPdf | None = None,
    remove_pdf: bool = False,
) -> Instruction:
    """Change an instruction nobody has read yet (a new PDF replaces the old one)."""
    key = _store_pdf(pdf) if pdf is not None else ""
    old_key = instruction.pdf.name or ""
    try:
        with transaction.atomic():
            locked = Instruction.objects.select_for_update().get(pk=instruction.pk)
            if locked.reads.exists():
                raise InstructionFrozen(
                    "This instruction has been read, so it stays as it was read. "
                    "Unpublish it and write a new one instead."
                )
            locked.title = title
            locked.text = text
            if pdf is not None:
                _attach(locked, pdf, key)
            elif remove_pdf:
                locked.pdf.name = ""
                locked.pdf_name = ""
                locked.pdf_size = locked.pdf_pages = 0
                locked.pdf_sha256 = ""
            locked.updated_at = timezone.now()
            locked.updated_by = by
            locked.save()
    except Exception:
        if key:
            _delete_stored(key)
        raise
    if old_key and old_key != (locked.pdf.name or ""):
        transaction.on_commit(lambda: _delete_stored(old_key))
    return locked


def set_published(*, instruction: Instruction, by: User, published: bool) -> bool:
    """Unpublish (patients no longer see it, at once) or publish again; False if unchanged."""
    if instruction.is_published == published:
        return False
    if published:
        instruction.unpublished_at = None
        instruction.unpublished_by = None
    else:
        instruction.unpublished_at = timezone.now()
        instruction.unpublished_by = by
    instruction.save(update_fields=["unpublished_at", "unpublished_by"])
    return True


def mark_read(*, instruction: Instruction, reader: User) -> bool:
    """Record the reader's first opening; True the first time, False ever after."""
    if InstructionRead.objects.filter(instruction=instruction, reader=reader).exists():
        return False
    try:
        with transaction.atomic():
            InstructionRead.objects.create(
                instruction=instruction,
                reader=reader,
                on_behalf_of=on_behalf_of(reader, instruction.chart),
            )
    except IntegrityError:
        # The same reader in two tabs at once: the other request recorded it.
        return False
    return True
