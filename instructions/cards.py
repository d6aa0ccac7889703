"""Home's "Clinician's Instructions" card: unread count and the latest instruction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef

from .models import Instruction, InstructionRead

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patient_portal.models import Chart


def with_unread(queryset: Any, user: Any) -> Any:
    """Annotate `is_read`: has this reader opened it."""
    return queryset.annotate(
        is_read=Exists(InstructionRead.objects.filter(instruction=OuterRef("pk"), reader=user))
    )


def new_instructions(request: HttpRequest, chart: Chart) -> dict[str, Any]:
    """Two queries whatever the number of instructions: the unread count and the latest."""
    mine = Instruction.objects.for_patient(request.user, chart)  # type: ignore[arg-type]
    unread = (
        mine.exclude(reads__reader=request.user).count()  # type: ignore[misc]
    )
    latest = (
        with_unread(mine, request.user).only("pk", "title", "published_at", "author_name").first()
    )
    return {"unread_count": unread, "latest": latest, "provider": chart.provider}
