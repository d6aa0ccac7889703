"""The Clinic area's Messages: one inbox over the clinics the staff member works in (filters,
search, 25 a page), a thread with reply, assign, done/reopen and archive (per reader).

Every thread comes through `Thread.objects.for_staff(user)` (their clinics' threads); staff of
clinic A never reach clinic B's, whatever the id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import ClinicMembership
from patient_portal.services import record_for_chart
from portal.types import AuthedHttpRequest

from .consumers import UNREAD_CAP
from .forms import ReplyForm
from .models import Attachment, Reader, Thread
from .selectors import (
    archived_by,
    staff_unread,
    staff_unread_total,
    thread_messages,
    with_reader_state,
)
from .services import assign as assign_thread
from .services import mark_read, new_client_id, set_archived, set_done
from .views import MAX_ID, PAGE_SIZE, lacking_rows, reply_to, serve_attachment

STATUSES = {"open": "Open", "done": "Done", "all": "All"}
# The unread badge counts this far, then says "99+": an exact count of a large clinic's unread
# threads would scan them all on every page (the same cap as messaging.consumers).


@dataclass
class SlicePage:
    """A page of 25 without COUNT(*): one row past the page tells whether there is a next one.

    "Page 3" and Previous / Next, not "of 2,002": counting a large clinic's threads for every
    page (and every filter) would cost more than the page itself."""

    number: int
    object_list: list[Any]
    has_next: bool

    @classmethod
    def of(cls, rows: Any, wanted: str | None) -> SlicePage:
        number = int(wanted) if wanted and wanted.isdigit() and len(wanted) < 7 else 1
        number = max(number, 1)
        start = (number - 1) * PAGE_SIZE
        found = list(rows[start : start + PAGE_SIZE + 1])
        return cls(number, found[:PAGE_SIZE], len(found) > PAGE_SIZE)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def staff_thread(request: AuthedHttpRequest, pk: int) -> Thread:
    if pk > MAX_ID:
        raise Http404("No thread")
    return get_object_or_404(
        Thread.objects.for_staff(request.user).select_related(
            "chart__clinic", "chart__provider__user", "provider__user", "assigned_to"
        ),
        pk=pk,
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@login_required
@require_GET
def inbox(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    mine = list(ClinicMembership.objects.of_user(user).select_related("clinic"))
    if not mine:
        raise Http404("No clinic")
    clinic_ids = sorted({m.clinic_id for m in mine})
    providers = list(
        ClinicMembership.objects.providers()
        .filter(clinic_id__in=clinic_ids)
        .select_related("user", "clinic")
    )
    status = request.GET.get("status", "open")
    status = status if status in STATUSES else "open"
    provider = _int(request.GET.get("provider"))
    assigned = request.GET.get("assigned", "")
    unread = request.GET.get("unread") == "1"
    archived = request.GET.get("archived") == "1"
    q = request.GET.get("q", "").strip()[:100]

    # Filters and paging run on the threads alone (the newest-first index); the 25 rows of the
    # page then get their reader state, chart and assignee in one more query.
    threads = Thread.objects.for_staff(user)
    threads = (
        threads.filter(pk__in=archived_by(user))
        if archived
        else threads.exclude(pk__in=archived_by(user))
    )
    if status == "open":
        threads = threads.filter(done_at__isnull=True)
    elif status == "done":
        threads = threads.filter(done_at__isnull=False)
    if provider is not None:
        threads = threads.filter(chart__provider_id=provider)
    if assigned == "me":
        threads = threads.filter(assigned_to=user)
    elif assigned == "none":
        threads = threads.filter(assigned_to__isnull=True)
    elif (assignee := _int(assigned)) is not None:
        threads = threads.filter(assigned_to_id=assignee)
    if unread:
        threads = staff_unread(threads, user)
    if q:
        threads = threads.annotate(
            _name=Concat("chart__legal_first_name", Value(" "), "chart__legal_last_name")
        ).filter(Q(subject__icontains=q) | Q(_name__icontains=q))
    page = SlicePage.of(
        threads.order_by("-last_message_at", "-pk").values_list("pk", flat=True),
        request.GET.get("page"),
    )
    ids = list(page.object_list)
    rows = {
        t.pk: t
        for t in with_reader_state(
            Thread.objects.filter(pk__in=ids), user, staff=True
        ).select_related("assigned_to", "chart__clinic")
    }
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    record(request, AuditEvent.Action.LIST, description="clinic message inbox")
    filtered = bool(provider or assigned or unread or archived or q or status != "open")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "clinic_messaging/inbox.html",
        {
            "page": page,
            "providers": providers,
            "status": status,
            "statuses": STATUSES,
            "provider": provider,
            "assigned": assigned,
            "unread": unread,
            "archived": archived,
            "q": q,
            "query": query.urlencode(),
            "live_list": not filtered and page.number == 1,
            "several_clinics": len(clinic_ids) > 1,
            "unread_total": staff_unread_total(user, cap=UNREAD_CAP + 1),
            "unread_cap": UNREAD_CAP,
            "is_admin": any(m.role == ClinicMembership.Role.ADMIN for m in mine),
            "is_provider": any(m.role == ClinicMembership.Role.PROVIDER for m in mine),
        },
    )


@login_required
@require_GET
def thread(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = staff_thread(request, pk)
    rows, earlier_than = thread_messages(found)
    if rows:
        mark_read(user=request.user, thread=found, message_id=rows[-1].pk)
    reader = Reader.objects.filter(thread=found, user=request.user).first()
    record_for_chart(
        request, AuditEvent.Action.VIEW, found, chart=found.chart, description=f"thread {found.pk}"
    )
    staff = list(
        ClinicMembership.objects.filter(clinic_id=found.clinic_id, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )
    colleagues = list({m.user_id: m.user for m in staff}.values())
    return render(
        request,
        "clinic_messaging/thread.html",
        {
            "thread": found,
            "thread_messages": rows,
            "earlier_than": earlier_than,
            "last_id": rows[-1].pk if rows else 0,
            "archived": bool(reader and reader.archived_at),
            "colleagues": colleagues,
            "form": ReplyForm(initial={"client_id": new_client_id()}),
            "reply_url": reverse("clinic_messaging:reply", args=[found.pk]),
            "since_url": reverse("clinic_messaging:since", args=[found.pk]),
            "archive_url": reverse("clinic_messaging:archive", args=[found.pk]),
            "ws_url": "/ws/clinic/messages/",
            "side": "clinic",
        },
    )


@login_required
@require_POST
def reply(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = staff_thread(request, pk)
    return reply_to(
        request,
        found,
        from_clinic=True,
        back=reverse("clinic_messaging:thread", args=[found.pk]),
    )


@login_required
@require_GET
def since(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return lacking_rows(request, staff_thread(request, pk), side="clinic")


def _changed(request: AuthedHttpRequest, found: Thread, description: str) -> HttpResponse:
    """A thread's state changed by staff: audited on its chart, back to the thread."""
    record_for_chart(
        request, AuditEvent.Action.UPDATE, found, chart=found.chart, description=description
    )
    return redirect("clinic_messaging:thread", found.pk)


@login_required
@require_POST
def archive(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = staff_thread(request, pk)
    archived = request.POST.get("archived") != "0"
    set_archived(user=request.user, thread=found, archived=archived)
    return _changed(request, found, f"thread {found.pk} {'archived' if archived else 'unarchived'}")


@login_required
@require_POST
def assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = staff_thread(request, pk)
    wanted = _int(request.POST.get("assignee"))
    assignee = None
    if wanted is not None:
        member = (
            ClinicMembership.objects.filter(
                clinic_id=found.clinic_id, user_id=wanted, user__is_active=True
            )
            .select_related("user")
            .first()
        )
        if member is None:
            return HttpResponse("Choose a staff member of this clinic.", status=400)
        assignee = member.user
    assign_thread(thread=found, assignee=assignee)
    return _changed(request, found, f"thread {found.pk} assigned to {assignee or 'nobody'}")


@login_required
@require_POST
def done(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = staff_thread(request, pk)
    is_done = request.POST.get("done") != "0"
    set_done(thread=found, by=request.user, done=is_done)
    return _changed(request, found, f"thread {found.pk} {'marked done' if is_done else 'reopened'}")


@login_required
@require_GET
def attachment(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    if pk > MAX_ID:
        raise Http404("No attachment")
    found = get_object_or_404(
        Attachment.objects.filter(
            thread__in=Thread.objects.for_staff(request.user).values("pk")
        ).select_related("thread__chart", "message"),
        pk=pk,
    )
    return serve_attachment(request, found)
