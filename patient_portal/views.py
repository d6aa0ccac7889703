"""The patient side: Home, the switch, Account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.decorators import require_sudo_mode
from accounts.views import rotate_session
from audit.log import record
from audit.models import AuditEvent
from portal.security import safe_next
from portal.types import AuthedHttpRequest

from . import sections, services
from .decorators import patient_section
from .forms import NotificationsForm, ProfileForm
from .layout import home_cards, render_patient
from .models import ConsentChange, PatientPreferences
from .selectors import SESSION_CHART, chart_choices, portal_settings
from .services import record_for_chart


def _id(value: str | None) -> int:
    """A database id from a form value; 0 for anything else (never an overflow error)."""
    try:
        number = int((value or "0").strip())
    except ValueError:
        return 0
    return number if 0 < number < 2**63 else 0


@patient_section("home")
def home(request: AuthedHttpRequest) -> HttpResponse:
    return render_patient(request, "patient_portal/home.html", {"cards": home_cards(request)})


@login_required
@require_POST
def switch(request: AuthedHttpRequest) -> HttpResponse:
    """Choose the chart (person × clinician) the following pages act for.

    Only an entry of the account's own switch is accepted: any other id is a 404. The page
    comes back to the same section for the new chart, or to Home when it has no such section.
    """
    wanted = _id(request.POST.get("chart"))
    choice = next((c for c in chart_choices(request.user) if c.chart.pk == wanted), None)
    if choice is None:
        raise Http404("No chart")
    request.session[SESSION_CHART] = choice.chart.pk
    record_for_chart(
        request, AuditEvent.Action.VIEW, chart=choice.chart, description="switched to this chart"
    )
    return redirect(_same_section_url(request, choice.chart))


def _same_section_url(request: AuthedHttpRequest, chart: object) -> str:
    target = safe_next(request, request.POST.get("next"))
    enabled = sections.enabled_sections(portal_settings(chart))  # type: ignore[arg-type]
    home = sections.get("home")
    fallback = home.url if home else "/"
    if not target:
        return fallback
    try:
        view_name = resolve(target.split("?", 1)[0]).view_name
    except Resolver404:
        return fallback
    for section in enabled:
        if view_name == section.url_name or any(view_name.startswith(m) for m in section.matches):
            return section.url
    return fallback


# Account -------------------------------------------------------------------------------------


def _account_page(request: AuthedHttpRequest, status: int = 200, **forms: object) -> HttpResponse:
    from accounts.forms import ChangeEmailForm, ChangePasswordForm
    from accounts.services import confirmed_totp

    user = request.user
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    prefs = PatientPreferences.of(user)
    context = {
        "profile_form": ProfileForm(instance=user),
        "password_form": ChangePasswordForm(user=user),
        "email_form": ChangeEmailForm(user=user),
        "notifications_form": NotificationsForm(instance=prefs),
        "prefs": prefs,
        "consent_history": ConsentChange.objects.filter(user=user)[:5],
        "has_totp": confirmed_totp(user) is not None,
        "recovery_left": static.token_set.count() if static else 0,
        "sessions": services.live_sessions(user),
        "this_session": services.current_tracking_id(request),
        **forms,
    }
    return render_patient(request, "patient_portal/account.html", context, status=status)


@patient_section("account")
def account(request: AuthedHttpRequest) -> HttpResponse:
    return _account_page(request)


@patient_section("account")
@require_POST
def account_profile(request: AuthedHttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST, instance=request.user)
    if not form.is_valid():
        return _account_page(request, status=400, profile_form=form)
    form.save()
    record(request, AuditEvent.Action.UPDATE, request.user, description="account profile")
    messages.success(request, "Your profile was saved.")
    return redirect("patient_portal:account")


@patient_section("account")
@require_POST
def account_password(request: AuthedHttpRequest) -> HttpResponse:
    from accounts.forms import ChangePasswordForm
    from accounts.services import end_other_sessions

    form = ChangePasswordForm(request.POST, user=request.user)
    if not form.is_valid():
        return _account_page(request, status=400, password_form=form)
    request.user.set_password(form.cleaned_data["password1"])
    request.user.save(update_fields=["password"])
    update_session_auth_hash(request, request.user)
    end_other_sessions(request.user, keep=request.session.session_key)
    record(request, AuditEvent.Action.SECURITY, request.user, description="Password changed")
    messages.success(request, "Your password was changed. Your other sessions were signed out.")
    return redirect("patient_portal:account")


@patient_section("account")
@require_POST
@require_sudo_mode
def account_email(request: AuthedHttpRequest) -> HttpResponse:
    from accounts.forms import ChangeEmailForm

    form = ChangeEmailForm(request.POST, user=request.user)
    if not form.is_valid():
        return _account_page(request, status=400, email_form=form)
    services.request_email_change(user=request.user, new_email=form.cleaned_data["email"])
    record(
        request,
        AuditEvent.Action.SECURITY,
        request.user,
        description="Email change requested (confirmation sent to the new address)",
    )
    messages.success(
        request,
        f"We sent a link to {form.cleaned_data['email']}. Open it to confirm; until then your "
        "email stays the same.",
    )
    return redirect("patient_portal:account")


@login_required
@require_http_methods(["GET", "POST"])
def account_email_confirm(request: AuthedHttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST applies (mail scanners that open links must not)."""
    if request.method == "GET":
        return render(request, "patient_portal/confirm_email.html", {"token": token})
    new = services.confirm_email_change(user=request.user, token=token)
    if new is None:
        messages.error(
            request,
            "This confirmation link is not valid any more. Ask for a new one from Account.",
        )
        return redirect("home")
    rotate_session(request)
    record(request, AuditEvent.Action.SECURITY, request.user, description=f"Email changed to {new}")
    messages.success(request, f"Your email address is now {new}.")
    return redirect("home")


@patient_section("account")
@require_POST
def account_notifications(request: AuthedHttpRequest) -> HttpResponse:
    prefs = PatientPreferences.of(request.user)
    was = prefs.email_consent
    form = NotificationsForm(request.POST, instance=prefs)
    if not form.is_valid():
        return _account_page(request, status=400, notifications_form=form)
    consent = form.cleaned_data["email_consent"]
    saved = form.save(commit=False)
    saved.email_consent = was  # recorded with its history below
    saved.save()
    services.set_email_consent(user=request.user, consented=consent, request=request)
    record(
        request,
        AuditEvent.Action.UPDATE,
        saved,
        description=f"notification choices; email consent {'given' if consent else 'not given'}",
    )
    messages.success(request, "Your notification choices were saved.")
    return redirect("patient_portal:account")


@patient_section("account")
@require_POST
def account_sign_out_others(request: AuthedHttpRequest) -> HttpResponse:
    ended = services.sign_out_other_sessions(request=request)
    record(
        request,
        AuditEvent.Action.SECURITY,
        request.user,
        description=f"Signed out {ended} other sessions",
    )
    messages.success(request, "Your other sessions were signed out.")
    return redirect("patient_portal:account")


@patient_section("account")
@require_POST
def account_mfa_setup(request: AuthedHttpRequest) -> HttpResponse:
    """Start the accounts app's authenticator enrolment, coming back to Account."""
    request.session["mfa_next"] = reverse("patient_portal:account")
    return redirect("accounts:mfa_setup")


@patient_section("account")
@require_POST
@require_sudo_mode
def account_mfa_off(request: AuthedHttpRequest) -> HttpResponse:
    from accounts.services import reset_mfa

    reset_mfa(user=request.user, request=request)
    # reset_mfa ends every session of the account (the stamp changed): keep this one.
    request.user.refresh_from_db()
    update_session_auth_hash(request, request.user)
    messages.success(request, "Two-step verification is off. Your other sessions were signed out.")
    return redirect("patient_portal:account")


@patient_section("account")
@require_POST
@require_sudo_mode
def account_recovery_codes(request: AuthedHttpRequest) -> HttpResponse:
    from accounts.services import confirmed_totp, issue_recovery_codes

    if confirmed_totp(request.user) is None:
        raise Http404("No second factor")
    rotate_session(request)
    request.session["mfa_recovery_codes"] = issue_recovery_codes(request.user)
    request.session["mfa_next"] = reverse("patient_portal:account")
    record(
        request, AuditEvent.Action.SECURITY, request.user, description="New recovery codes issued"
    )
    return redirect("accounts:recovery_codes")
