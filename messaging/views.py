"""Patient side of Messages: inbox (and archived), compose, a thread, reply, archive,
attachments. Every view is gated by `@patient_section("messages")` and narrows to the chosen
chart; a thread of any other chart is a 404, whatever its id."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import render_patient
from patient_portal.services import record_for_chart
from portal.files import safe_download_name, serve_private_file
from portal.types import AuthedHttpRequest

from .forms import ComposeForm, ReplyForm
from .models import Attachment, Reader, Thread
from .selectors import (
    CATCH_UP_LIMIT,
    HAVE_LIMIT,
    messages_lacking,
    messages_of,
    patient_threads,
    thread_messages,
)
from .services import (
    AttachmentStoreUnavailable,
    mark_read,
    new_client_id,
    send_message,
    set_archived,
    start_thread,
)

PAGE_SIZE = 25
MAX_ID = 2**63 - 1
STORE_DOWN = "The file could not be stored just now; nothing was sent. Try again in a minute."


def chart_thread(request: AuthedHttpRequest, pk: int) -> Thread:
    """The thread, if it belongs to the chosen chart and the user may read it; else 404."""
    if pk > MAX_ID:
        raise Http404("No thread")
    return get_object_or_404(
        Thread.objects.in_portal_of(request.user)
        .filter(chart=request.chart)  # type: ignore[attr-defined]
        .select_related("chart__clinic", "provider__user"),
        pk=pk,
    )


@patient_section("messages")
@require_GET
def inbox(request: AuthedHttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    threads = patient_threads(request.user, request.chart, archived=archived)  # type: ignore[attr-defined]
    page = Paginator(threads, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_patient(
        request,
        "messaging/inbox.html",
        {"page": page, "archived": archived, "live_list": not archived and page.number == 1},
    )


@patient_section("messages")
def compose(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():
                    thread, message, created = start_thread(
                        chart=chart,
                        author=request.user,
                        to=form.cleaned_data["to"],
                        subject=form.cleaned_data["subject"],
                        body=form.cleaned_data["body"],
                        client_id=form.cleaned_data["client_id"],
                        files=form.cleaned_data["attachments"],
                    )
                    if created:
                        record_for_chart(
                            request,
                            AuditEvent.Action.CREATE,
                            message,
                            chart=chart,
                            description=f"message to {thread.get_to_display().lower()}",
                        )
            except AttachmentStoreUnavailable:
                form.add_error(None, STORE_DOWN)
            else:
                return redirect("messaging:thread", thread.pk)
        status = 400
    else:
        to = request.GET.get("to")
        form = ComposeForm(
            initial={
                "to": to if to in Thread.To.values else Thread.To.CLINICIAN,
                "client_id": new_client_id(),
            }
        )
        status = 200
    return render_patient(
        request,
        "messaging/compose.html",
        {"form": form, "provider": chart.provider},
        status=status,
    )


@patient_section("messages")
@require_GET
def thread(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = chart_thread(request, pk)
    rows, earlier_than = thread_messages(found)
    if rows:
        mark_read(user=request.user, thread=found, message_id=rows[-1].pk)
    reader = Reader.objects.filter(thread=found, user=request.user).first()
    return render_patient(
        request,
        "messaging/thread.html",
        {
            "thread": found,
            "thread_messages": rows,
            "earlier_than": earlier_than,
            "last_id": rows[-1].pk if rows else 0,
            "archived": bool(reader and reader.archived_at),
            "form": ReplyForm(initial={"client_id": new_client_id()}),
            "reply_url": reverse("messaging:reply", args=[found.pk]),
            "since_url": reverse("messaging:since", args=[found.pk]),
            "archive_url": reverse("messaging:archive", args=[found.pk]),
            "ws_url": "/ws/patient/messages/",
            "side": "patient",
        },
    )


def reply_to(
    request: AuthedHttpRequest, found: Thread, *, from_clinic: bool, back: str
) -> HttpResponse:
    """The reply POST of either side: the message row (htmx) or back to the thread."""
    form = ReplyForm(request.POST, request.FILES)
    message = None
    created = False
    if form.is_valid():
        try:
            with transaction.atomic():
                message, created = send_message(
                    thread=found,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    client_id=form.cleaned_data["client_id"],
                    files=form.cleaned_data["attachments"],
                    from_clinic=from_clinic,
                )
                if created:
                    record_for_chart(
                        request,
                        AuditEvent.Action.CREATE,
                        message,
                        chart=found.chart,
                        description=f"message in thread {found.pk}",
                    )
        except AttachmentStoreUnavailable:
            form.add_error(None, STORE_DOWN)
    if form.errors or message is None:
        if request.htmx:
            response = render(
                request, "messaging/_conversation.html#reply-errors", {"form": form}, status=200
            )
            return reswap(retarget(response, "#reply-errors"), "outerHTML")
        return render(
            request, "messaging/reply_refused.html", {"form": form, "back": back}, status=400
        )
    if not request.htmx:
        return HttpResponseRedirect(back + f"#message-{message.pk}")
    message = messages_of(found.pk).get(pk=message.pk)
    return render(
        request,
        "messaging/_conversation.html#message-row",
        {"message": message, "side": "clinic" if from_clinic else "patient"},
    )


@patient_section("messages")
@require_POST
def reply(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = chart_thread(request, pk)
    return reply_to(
        request, found, from_clinic=False, back=reverse("messaging:thread", args=[found.pk])
    )


def lacking_rows(request: HttpRequest, found: Thread, *, side: str) -> HttpResponse:
    """Polling fallback (both sides): the rows the page lacks and "complete through"."""
    try:
        after = min(max(int(request.GET.get("after", "0")), 0), MAX_ID)
    except ValueError:
        after = 0
    have = [
        int(i)
        for i in request.GET.get("have", "").split(",")[:HAVE_LIMIT]
        if i.isdigit() and len(i) < 20
    ]
    rows, complete = messages_lacking(found.pk, after=after, have=have, limit=CATCH_UP_LIMIT)
    if rows:
        mark_read(user=request.user, thread=found, message_id=rows[-1].pk)  # type: ignore[arg-type]
        record_for_chart(
            request,
            AuditEvent.Action.VIEW,
            found,
            chart=found.chart,
            description=f"{len(rows)} new messages",
        )
    return render(
        request,
        "messaging/_conversation.html#message-rows",
        {"thread_messages": rows, "complete_through": complete, "sync": True, "side": side},
    )


@patient_section("messages", audit_reads=False)
@require_GET
def since(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return lacking_rows(request, chart_thread(request, pk), side="patient")


@patient_section("messages")
@require_POST
def archive(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = chart_thread(request, pk)
    archived = request.POST.get("archived") != "0"
    set_archived(user=request.user, thread=found, archived=archived)
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        found,
        chart=found.chart,
        description=f"thread {found.pk} {'archived' if archived else 'unarchived'}",
    )
    if request.htmx:
        return render(
            request,
            "messaging/thread.html#archive-control",
            {"thread": found, "archived": archived, "archive_url": request.path, "announce": True},
        )
    return redirect("messaging:inbox")


def serve_attachment(request: HttpRequest, attachment: Attachment) -> HttpResponseBase:
    """Inline, with the type its content was checked as (portal.files' headers); audited."""
    response = serve_private_file(
        attachment.file,
        content_type=attachment.content_type,
        filename=safe_download_name(attachment.original_name),
    )
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        attachment.message,
        chart=attachment.thread.chart,
        description=f"attachment {attachment.pk} of thread {attachment.thread_id}",
    )
    return response


@patient_section("messages", audit_reads=False)
@require_GET
def attachment(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    if pk > MAX_ID:
        raise Http404("No attachment")
    found = get_object_or_404(
        Attachment.objects.filter(
            thread__in=Thread.objects.in_portal_of(request.user)
            .filter(chart=request.chart)  # type: ignore[attr-defined]
            .values("pk")
        ).select_related("thread__chart", "message"),
        pk=pk,
    )
    return serve_attachment(request, found)
