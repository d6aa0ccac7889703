from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_otp.decorators import otp_required

from audit.log import record
from audit.models import AuditEvent
from portal.rendering import render_page
from portal.security import safe_next
from portal.types import AuthedHttpRequest

from . import services
from .forms import PreferencesForm
from .models import Activity, Notification
from .selectors import bell_context

PAGE_SIZE = 25


@login_required
@otp_required
def bell(request: AuthedHttpRequest) -> HttpResponse:
    """The bell's count and feed (htmx refreshes it after "Mark all read")."""
    return render(
        request, "notifications/_bell.html#ws-update", {"bell": bell_context(request.user)}
    )


@login_required
@otp_required
@require_POST
def mark_all_read(request: AuthedHttpRequest) -> HttpResponse:
    services.mark_all_read(user=request.user)
    if request.htmx:
        return render(
            request, "notifications/_bell.html#ws-update", {"bell": bell_context(request.user)}
        )
    return redirect(safe_next(request, request.POST.get("next")) or "notifications:list")


@login_required
@otp_required
def open_notification(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Mark the item read, then go to what it is about."""
    notification = get_object_or_404(
        Notification.objects.visible_to(request.user).select_related("prescription"), pk=pk
    )
    if notification.read_at is None:
        notification.mark_read()
        transaction.on_commit(lambda: services.broadcast(request.user.pk))
    return redirect(safe_next(request, notification.target_url) or "/")


@login_required
@otp_required
@vary_on_headers("HX-Request")
def notification_list(request: AuthedHttpRequest) -> HttpResponse:
    kind = request.GET.get("type", "")
    notifications = Notification.objects.visible_to(request.user).select_related(
        "actor", "prescription__patient"
    )
    if kind in Activity.values:
        notifications = notifications.filter(activity=kind)
    else:
        kind = ""
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    # The history names patients and medications (the bell does not).
    record(request, AuditEvent.Action.LIST, description=f"notifications page {page.number}")
    return render_page(
        request,
        "notifications/list.html",
        {"page": page, "kind": kind, "activities": Activity.choices},
        partial="notification-results",
    )


@login_required
@otp_required
@vary_on_headers("HX-Request")
def preferences(request: AuthedHttpRequest) -> HttpResponse:
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            form.save(request.user)
            record(request, AuditEvent.Action.UPDATE, description="notification preferences")
            saved = True
            if not request.htmx:
                messages.success(request, "Your notification preferences were saved.")
                return redirect("notifications:preferences")
    else:
        form = PreferencesForm(initial=PreferencesForm.initial_for(request.user))
    return render_page(
        request,
        "notifications/preferences.html",
        {"form": form, "saved": saved},
        partial="preferences-status",
    )
