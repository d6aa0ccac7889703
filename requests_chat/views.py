from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import (
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from audit.log import record
from audit.models import AuditEvent
from portal.files import safe_filename, serve_private_file
from portal.rendering import render_page
from portal.types import AuthedHttpRequest
from prescriptions.models import Prescription

from .filters import RequestFilter
from .forms import CreateRequestForm, DocumentCheckForm, MessageForm
from .models import Document, Message, Request
from .selectors import CATCH_UP_LIMIT, HAVE_LIMIT, MAX_ID, messages_lacking, unread_by_request
from .services import (
    DocumentStoreUnavailable,
    RequestExists,
    create_request,
    mark_read,
    new_client_id,
    send_message,
)

LIST_PAGE_SIZE = 25
# Request Details opens on the latest messages; "Show earlier messages" loads this many more.
DETAIL_MESSAGES = 100
# The document store (S3) is out: the send is refused whole (the message and its documents are
# one transaction), and the page says so instead of a 500.
DOCUMENT_STORE_UNAVAILABLE = (
    "The documents could not be stored: the document store is not answering. Nothing was "
    "sent. Try again in a few minutes; messages without documents can still be sent."
)
# The document view's own policy: nothing may load from or run in the PDF's context.


def visible_chat(request: AuthedHttpRequest, pk: int) -> Request:
    """The request `pk` if this user may see it (with its prescription), else 404."""
    return get_object_or_404(
        Request.objects.visible_to(request.user).select_related("prescription"), pk=pk
    )


def messages_for(chat: Request) -> QuerySet[Message]:
    """A request's messages in order, each with its documents, without N+1 queries."""
    return chat.messages.order_by("pk").prefetch_related(
        Prefetch("documents", queryset=Document.objects.order_by("pk"))
    )


@login_required
@vary_on_headers("HX-Request")
def for_prescription(request: AuthedHttpRequest, prescription_pk: int) -> HttpResponse:
    """The chat pop-up of a dashboard/profile row: its request, or a link to start one."""
    prescription = get_object_or_404(
        Prescription.objects.visible_to(request.user).select_related("patient"), pk=prescription_pk
    )
    chat = Request.objects.visible_to(request.user).filter(prescription=prescription).first()
    unread = unread_by_request(request.user, [chat.pk]).get(chat.pk, 0) if chat else 0
    record(
        request,
        AuditEvent.Action.VIEW,
        prescription,
        patient=prescription.patient_id,
        description="request pop-up",
    )
    return render_page(
        request,
        "requests_chat/for_prescription.html",
        {"prescription": prescription, "chat": chat, "unread": unread},
        partial="rx-chat",
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def request_list(request: AuthedHttpRequest) -> HttpResponse:
    """Requests the user takes part in, latest activity first, with search and unread counts."""
    filterset = RequestFilter(
        request.GET,
        queryset=Request.objects.visible_to(request.user).select_related(
            "prescription__patient", "prescription__prescriber"
        ),
        request=request,
    )
    page = Paginator(filterset.qs.order_by("-last_message_at", "-pk"), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    unread = unread_by_request(request.user, [c.pk for c in page.object_list])
    for chat in page.object_list:
        chat.unread = unread.get(chat.pk, 0)
    record(
        request,
        AuditEvent.Action.LIST,
        description=f"requests list {request.GET.urlencode()}".strip(),
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render_page(
        request,
        "requests_chat/list.html",
        {
            "filter": filterset,
            "page": page,
            "chats": page.object_list,
            "searching": bool(params.get("q") or params.get("unread")),
            "query": params.urlencode(),
        },
        partial="request-results",
        targets=["request-results"],
    )


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def create(request: AuthedHttpRequest) -> HttpResponse:
    """Create Patient Prescription Request (answers with a dialog: created, or already exists)."""
    user = request.user
    if request.method == "POST" and request.POST.get("step") in ("find", "prescriptions"):
        # Without JavaScript, "Find" and "Show prescriptions" post the form back to be shown
        # again with the patients found or the chosen patient's prescriptions; what was typed
        # is kept (nothing is in the URL).
        form = CreateRequestForm(
            initial=request.POST.dict(),
            user=user,
            patient_query=request.POST.get("patient_q", ""),
        )
        audit_patient_options(request, form)
        return render(request, "requests_chat/create.html", {"form": form})
    if request.method == "POST":
        form = CreateRequestForm(
            request.POST, request.FILES, user=user, patient_query=request.POST.get("patient_q", "")
        )
        if form.is_valid():
            prescription = form.cleaned_data["prescription"]
            try:
                chat, _ = create_request(
                    prescription=prescription,
                    author=user,
                    body=form.cleaned_data["body"],
                    client_id=form.cleaned_data["client_id"],
                    files=form.attachments(),
                )
                outcome = "created"
                record(request, AuditEvent.Action.CREATE, chat, patient=prescription.patient_id)
            except RequestExists as exists:
                chat, outcome = exists.chat, "exists"
            except DocumentStoreUnavailable:
                form.add_error(None, DOCUMENT_STORE_UNAVAILABLE)
        if form.is_valid():
            context = {"chat": chat, "outcome": outcome}
            if request.htmx:
                return render(request, "requests_chat/create.html#create-result", context)
            if outcome == "created":
                flash.success(request, "Your request has been successfully created.")
                return redirect("requests_chat:detail", chat.pk)
            return render(request, "requests_chat/create.html", {"form": form, **context})
        audit_patient_options(request, form)  # the form is shown again, patients listed
        if request.htmx:
            response = render(request, "requests_chat/create.html#create-form", {"form": form})
            return reswap(retarget(response, "#create-form"), "outerHTML")
    else:
        initial = {"client_id": new_client_id()}
        for name in ("patient", "prescription"):
            if value := request.GET.get(name, "").strip():
                initial[name] = value
        form = CreateRequestForm(
            initial=initial, user=user, patient_query=request.GET.get("patient_q", "")
        )
        audit_patient_options(request, form)
    return render(request, "requests_chat/create.html", {"form": form})


def audit_patient_options(request: AuthedHttpRequest, form: CreateRequestForm) -> None:
    """Listing patients (names and dates of birth) in the Patient select is a read of PHI."""
    options = form.patient_options
    if options.patients:
        search = f" matching {options.query!r}" if options.query else ""
        record(
            request,
            AuditEvent.Action.LIST,
            description=f"{len(options.patients)} patients for a new request{search}",
        )


@login_required
@require_GET
def patient_options(request: AuthedHttpRequest) -> HttpResponse:
    """The Patient select, narrowed by the search box (name or date of birth)."""
    form = CreateRequestForm(
        initial={"patient": request.GET.get("patient")},
        user=request.user,
        patient_query=request.GET.get("patient_q", ""),
    )
    audit_patient_options(request, form)
    return render(request, "requests_chat/create.html#patient-options", {"form": form, "oob": True})


@login_required
@require_GET
def prescription_options(request: AuthedHttpRequest) -> HttpResponse:
    """The Prescription select, reloaded when the Patient changes."""
    form = CreateRequestForm(initial={"patient": request.GET.get("patient")}, user=request.user)
    patient_ids = {rx.patient_id for rx in form.prescription_choices}
    if patient_ids:
        record(
            request,
            AuditEvent.Action.LIST,
            patient=patient_ids.pop(),
            description="prescriptions for a new request",
        )
    return render(request, "requests_chat/create.html#prescription-field", {"form": form})


@login_required
@require_GET
def detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chat = get_object_or_404(
        Request.objects.visible_to(request.user).select_related(
            "prescription__patient", "prescription__prescriber"
        ),
        pk=pk,
    )
    patient = chat.prescription.patient
    if request.GET.get("all") == "1":  # "Show earlier messages" without JavaScript
        chat_messages, earlier_than = list(messages_for(chat)), None
    else:
        chat_messages, earlier_than = latest_messages(chat, before=None)
    documents = list(chat.documents.select_related("message").order_by("pk"))
    # The patient's other requests (the side card), not the people in this chat (presence).
    other_requests = list(
        Request.objects.visible_to(request.user)
        .filter(prescription__patient=patient)
        .exclude(pk=chat.pk)
        .select_related("prescription__prescriber")
    )
    unread = unread_by_request(request.user, [o.pk for o in other_requests])
    for other in other_requests:
        other.unread = unread.get(other.pk, 0)  # type: ignore[attr-defined]  # for the template
    if chat_messages:
        mark_read(user=request.user, chat=chat, message_id=chat_messages[-1].pk)
    record(request, AuditEvent.Action.VIEW, chat, patient=patient.pk)
    return render(
        request,
        "requests_chat/detail.html",
        {
            "chat": chat,
            "prescription": chat.prescription,
            "patient": patient,
            "chat_messages": chat_messages,
            "earlier_than": earlier_than,
            "last_id": chat_messages[-1].pk if chat_messages else 0,
            "documents": documents,
            "other_requests": other_requests,
            "form": MessageForm(initial={"client_id": new_client_id()}),
        },
    )


@login_required
@require_POST
def send(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The HTMX (or plain) POST of the chat form; answers with the same message-row partial."""
    chat = visible_chat(request, pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message, created = send_message(
                chat=chat,
                author=request.user,
                body=form.cleaned_data["body"].strip(),
                client_id=form.cleaned_data["client_id"],
                files=form.attachments(),
            )
        except DocumentStoreUnavailable:
            form.add_error(None, DOCUMENT_STORE_UNAVAILABLE)
    if form.errors:
        if request.htmx:
            response = render(
                request, "requests_chat/detail.html#message-form-errors", {"form": form}
            )
            return reswap(retarget(response, "#message-form-errors"), "outerHTML")
        for error in [*form.non_field_errors(), *form.errors.get("documents", [])]:
            flash.error(request, error)
        return redirect("requests_chat:detail", chat.pk)
    if created:
        record(request, AuditEvent.Action.CREATE, message, patient=chat.prescription.patient_id)
    if not request.htmx:
        return HttpResponseRedirect(
            reverse("requests_chat:detail", args=[chat.pk]) + f"#message-{message.pk}"
        )
    if not created:
        message = messages_for(chat).get(pk=message.pk)  # a retry: the stored one, as it is
    return render(request, "requests_chat/detail.html#message-row", {"message": message})


@login_required
@require_GET
def messages_since(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Polling fallback: the messages the page lacks, as message rows, and "complete through".

    ?after=<id>: the page holds every message up to it; ?have=<id>,<id>…: the ones it holds
    above it (its own replies, pushed rows). Like the socket's catch-up, never simply "after the
    highest id shown".
    """
    chat = visible_chat(request, pk)
    try:
        after = min(max(int(request.GET.get("after", "0")), 0), MAX_ID)
    except ValueError:
        after = 0
    have = [int(i) for i in request.GET.get("have", "").split(",")[:HAVE_LIMIT] if i.isdigit()]
    rows, complete_through = messages_lacking(
        chat.pk, after=after, have=[i for i in have if i <= MAX_ID], limit=CATCH_UP_LIMIT
    )
    if rows:
        mark_read(user=request.user, chat=chat, message_id=rows[-1].pk)
        record(
            request,
            AuditEvent.Action.VIEW,
            chat,
            patient=chat.prescription.patient_id,
            description=f"{len(rows)} new messages",
        )
    return render(
        request,
        "requests_chat/detail.html#message-rows",
        {"chat_messages": rows, "complete_through": complete_through, "sync": True},
    )


def latest_messages(chat: Request, *, before: int | None) -> tuple[list[Message], int | None]:
    """The DETAIL_MESSAGES latest messages (before the id `before`, if given), oldest first,
    and the id to ask "earlier than" next (None when there are no earlier ones)."""
    rows = messages_for(chat).order_by("-pk")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows[: DETAIL_MESSAGES + 1])
    more = len(found) > DETAIL_MESSAGES
    page = found[:DETAIL_MESSAGES][::-1]
    return page, (page[0].pk if more and page else None)


@login_required
@require_GET
def messages_before(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Show earlier messages: the batch before ?before=<id>, and the next such control."""
    chat = visible_chat(request, pk)
    try:
        before = max(int(request.GET.get("before", "")), 0)
    except ValueError:
        return HttpResponse(status=400)
    rows, earlier_than = latest_messages(chat, before=before)
    if rows:
        record(
            request,
            AuditEvent.Action.VIEW,
            chat,
            patient=chat.prescription.patient_id,
            description=f"{len(rows)} earlier messages",
        )
    return render(
        request,
        "requests_chat/detail.html#earlier-rows",
        {"chat": chat, "chat_messages": rows, "earlier_than": earlier_than, "oob": True},
    )


@login_required
@require_POST
def check_document(request: AuthedHttpRequest) -> JsonResponse:
    """The Upload Document pop-up: is this file one the chat would accept? Nothing is stored.

    The file is sent again with the message, where the same checks run before it is saved.
    Only for people who take part in chats (who reach at least one prescriber).
    """
    if not Request.takes_part(request.user):
        raise PermissionDenied
    form = DocumentCheckForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = [str(e) for e in form.errors.get("document", [])] or ["Choose a PDF document."]
        return JsonResponse({"ok": False, "error": " ".join(errors)}, status=400)
    pdf = form.cleaned_data["document"]
    pages = f"{pdf.page_count} page{'s' if pdf.page_count != 1 else ''}"
    return JsonResponse(
        {"ok": True, "name": pdf.name, "summary": f"PDF · {filesizeformat(pdf.size)} · {pages}"}
    )


@login_required
@require_GET
def document(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """A PDF, after the access check: inline from our storage, or a short-lived S3 URL."""
    doc = get_object_or_404(
        Document.objects.visible_to(request.user).select_related("request__prescription"), pk=pk
    )
    record(request, AuditEvent.Action.DOWNLOAD, doc, patient=doc.request.prescription.patient_id)
    return serve_private_file(
        doc.file.name, content_type="application/pdf", filename=safe_filename(doc.title)
    )
