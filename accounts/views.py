from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from audit.log import record
from audit.models import AuditEvent
from portal.idempotency import created, idempotent
from portal.security import client_ip, safe_next
from portal.types import AuthedHttpRequest
from prescriptions.models import Prescriber

from . import services
from .decorators import grant_sudo_mode, require_sudo_mode
from .forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    CodeForm,
    EmailSignInForm,
    IdentityForm,
    InviteDelegateForm,
    InviteRegistrationForm,
    RegistrationForm,
    SetPasswordForm,
    SignInForm,
    SudoForm,
)
from .models import DelegateInvite, Delegation, User
from .validators import PASSWORD_REQUIREMENT

MFA_NEXT_KEY = "mfa_next"
RECOVERY_KEY = "mfa_recovery_codes"
REGISTRATION_KEY = "registration"


def needs_mfa(user: User | AnonymousUser) -> bool:
    # Right after login() request.user is a plain User, not django-otp's wrapper: not verified.
    verified = getattr(user, "is_verified", None)
    if not user.is_authenticated or (verified and verified()):
        return False
    # MFA is optional for patients; one who set up an authenticator is asked for it.
    return not user.is_patient or services.confirmed_totp(user) is not None


def rotate_session(request: HttpRequest) -> None:
    """A new session key at every privilege change (second factor passed, factors or email
    changed, sudo mode): a cookie captured before it does not carry the new rights."""
    request.session.cycle_key()


def _safe_next(request: HttpRequest, value: str | None) -> str:
    return safe_next(request, value) or reverse(settings.LOGIN_REDIRECT_URL)


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timeout") == "1"
        context["idle_minutes"] = settings.SESSION_IDLE_MINUTES
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        if not needs_mfa(self.request.user):
            # The password was just given: that is the whole sign-in for a patient.
            grant_sudo_mode(self.request)
        return response

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if needs_mfa(self.request.user):
            self.request.session[MFA_NEXT_KEY] = url
            return reverse("accounts:mfa")
        return url


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; POST signs out and returns to the sign-in page."""
    if request.method == "POST":
        if request.user.is_authenticated:
            logout(request)
            messages.success(request, "You have been signed out.")
        return redirect("accounts:login")
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return render(request, "accounts/sign_out.html")


# Sign-in link by email: the way in while the password path is locked (second factor still
# asked), so a lock-out someone else caused never shuts the real user out.


@require_http_methods(["GET", "POST"])
def email_sign_in(request: HttpRequest) -> HttpResponse:
    form = EmailSignInForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        services.send_sign_in_link(
            email=form.cleaned_data["email"],
            client=client_ip(request) or "unknown",
            request=request,
        )
        # The same answer whether or not the address has an account.
        return redirect("accounts:email_sign_in_sent")
    return render(request, "accounts/email_sign_in.html", {"form": form})


def email_sign_in_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/email_sign_in_sent.html")


@require_http_methods(["GET", "POST"])
def email_sign_in_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST signs in: mail scanners that open links must not use it up."""
    user = services.user_from_sign_in_token(token)
    if user is None:
        return render(request, "accounts/email_sign_in_invalid.html", status=410)
    if request.method == "GET":
        return render(request, "accounts/email_sign_in_confirm.html", {"email": user.email})
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if needs_mfa(request.user):
        return redirect("accounts:mfa")
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["POST"])
def keep_alive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in' from the idle warning: any non-passive request counts as activity."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)


# MFA ----------------------------------------------------------------------------------------


@login_required
def mfa(request: AuthedHttpRequest) -> HttpResponse:
    """Where the second factor starts: enrolment the first time, a code afterwards."""
    if not needs_mfa(request.user):
        return redirect(_safe_next(request, request.session.pop(MFA_NEXT_KEY, None)))
    if services.confirmed_totp(request.user) is None:
        return redirect("accounts:mfa_setup")
    return redirect("accounts:mfa_verify")


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    if services.confirmed_totp(user) is not None:
        return redirect("accounts:mfa")
    device = services.pending_totp(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            rotate_session(request)
            grant_sudo_mode(request)
            request.session[RECOVERY_KEY] = services.issue_recovery_codes(user)
            record(
                request,
                AuditEvent.Action.SECURITY,
                device,
                description="MFA: authenticator app set up",
            )
            return redirect("accounts:recovery_codes")
        form.add_error(
            "code",
            "That code is not correct. Enter the 6-digit code your authenticator app shows now."
            if allowed
            else "Too many wrong codes. Wait a moment, then enter the newest code.",
        )
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_svg": services.qr_svg(device),
            "secret": services.totp_secret(device),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: AuthedHttpRequest) -> HttpResponse:
    codes = request.session.get(RECOVERY_KEY)
    if request.method == "POST" or not codes:
        request.session.pop(RECOVERY_KEY, None)
        return redirect(_safe_next(request, request.session.pop(MFA_NEXT_KEY, None)))
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@login_required
def recovery_codes_download(request: AuthedHttpRequest) -> HttpResponse:
    codes = request.session.get(RECOVERY_KEY)
    if not codes:
        return redirect("accounts:profile")
    text = (
        f"{settings.PRODUCT_NAME} recovery codes for {request.user.email}\n"
        "Each code works once, in place of an authenticator code.\n\n" + "\n".join(codes) + "\n"
    )
    return HttpResponse(
        text,
        content_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="recovery-codes.txt"',
            "Cache-Control": "no-store",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    if not needs_mfa(user):
        return redirect(_safe_next(request, request.session.pop(MFA_NEXT_KEY, None)))
    totp = services.confirmed_totp(user)
    if totp is None:
        return redirect("accounts:mfa_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        static = StaticDevice.objects.filter(user=user, confirmed=True).first()
        # Six digits are an authenticator code; anything else can only be a recovery code.
        device = totp if (code.isdigit() and len(code) == totp.digits) else static
        allowed = device is not None and device.verify_is_allowed()[0]
        if allowed and device.verify_token(code):
            otp_login(request, device)
            rotate_session(request)
            grant_sudo_mode(request)
            if device is static:
                left = device.token_set.count()
                record(
                    request,
                    AuditEvent.Action.LOGIN,
                    device,
                    description=f"MFA passed with a recovery code; {left} left",
                )
                messages.warning(
                    request,
                    f"You signed in with a recovery code. {left} recovery codes are left; "
                    "you can create new ones on your profile page.",
                )
            else:
                record(
                    request,
                    AuditEvent.Action.LOGIN,
                    device,
                    description="MFA passed with an authenticator code",
                )
            return redirect(_safe_next(request, request.session.pop(MFA_NEXT_KEY, None)))
        failures = max(d.throttling_failure_count for d in (totp, static) if d is not None)
        record(
            request,
            AuditEvent.Action.LOGIN_FAILED,
            user,
            description=f"MFA: wrong code ({failures} in a row)",
        )
        if failures >= settings.MFA_FAILURE_LIMIT:
            record(
                request,
                AuditEvent.Action.LOCKED_OUT,
                user,
                description="MFA: signed out after repeated wrong codes",
            )
            logout(request)
            return render(request, "accounts/locked_out.html", status=403)
        form.add_error(
            "code",
            "That code is not correct. Enter the newest code from your authenticator app, "
            "or one of your recovery codes."
            if allowed
            else "Too many wrong codes. Wait a moment, then enter the newest code.",
        )
    return render(request, "accounts/mfa_verify.html", {"form": form})


# Prescriber registration --------------------------------------------------------------------


def _registration_error(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"show_error_dialog": True, **context}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None, initial=request.session.get(REGISTRATION_KEY, {}))
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            request.session[REGISTRATION_KEY] = {
                "email": data["email"].lower(),
                "first_name": data["first_name"],
                "last_name": data["last_name"],
                "phone": data["phone"],
                "npi": data["npi"],
                "verified": False,
            }
            return redirect("accounts:register_verify")
        return _registration_error(request, "accounts/register.html", {"form": form})
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
def register_verify(request: HttpRequest) -> HttpResponse:
    reg = request.session.get(REGISTRATION_KEY)
    if not reg:
        return redirect("accounts:register")
    if reg.get("verified"):
        return redirect("accounts:register_password")
    client = client_ip(request) or "unknown"
    locked_message = (
        "We could not verify your identity and the number of attempts is used up. "
        "Please contact support to complete your registration."
    )
    if services.verification_locked(reg["npi"], client):
        return _registration_error(
            request,
            "accounts/register_verify.html",
            {"locked": True, "error": locked_message},
            status=429,
        )
    if "questions" not in reg:
        from prescriptions.models import Prescriber  # noqa: PLC0415

        prescriber = Prescriber.objects.get(npi=reg["npi"])
        reg["questions"] = [q.__dict__ for q in services.identity_questions(prescriber)]
        request.session[REGISTRATION_KEY] = reg
    questions = reg["questions"]
    form = IdentityForm(request.POST or None, questions=questions)
    if request.method == "POST":
        if form.is_valid() and all(form.cleaned_data[q["name"]] == q["answer"] for q in questions):
            reg["verified"] = True
            request.session[REGISTRATION_KEY] = reg
            return redirect("accounts:register_password")
        services.count_failed_verification(reg["npi"], client)
        record(
            request,
            AuditEvent.Action.LOGIN_FAILED,
            description=f"Identity check failed for NPI {reg['npi']}",
        )
        locked = services.verification_locked(reg["npi"], client)
        form = IdentityForm(questions=questions)  # answers are not kept: try again from scratch
        error = (
            locked_message
            if locked
            else ("Your answers do not match our records. Please check them and try again.")
        )
        return _registration_error(
            request,
            "accounts/register_verify.html",
            {"form": form, "locked": locked, "error": error},
            status=429 if locked else 200,
        )
    return render(request, "accounts/register_verify.html", {"form": form})


@require_http_methods(["GET", "POST"])
def register_password(request: HttpRequest) -> HttpResponse:
    reg = request.session.get(REGISTRATION_KEY)
    if not reg or not reg.get("verified"):
        return redirect("accounts:register")
    form = SetPasswordForm(request.POST or None, user_data=reg)
    if request.method == "POST":
        if form.is_valid():
            # The same page (and about the same time) whether or not the email or the NPI
            # already had an account: that account's owner gets an email instead.
            services.register_prescriber(
                email=reg["email"],
                first_name=reg["first_name"],
                last_name=reg["last_name"],
                phone=reg["phone"],
                npi=reg["npi"],
                password=form.cleaned_data["password1"],
                request=request,
            )
            request.session.pop(REGISTRATION_KEY, None)
            return redirect("accounts:register_done")
        return _registration_error(request, "accounts/register_password.html", {"form": form})
    return render(
        request,
        "accounts/register_password.html",
        {
            "form": form,
            "requirement": PASSWORD_REQUIREMENT,
        },
    )


def register_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/register_done.html")


# Administration (prescribers) ---------------------------------------------------------------


def _require_prescriber(user: User) -> None:
    if not (user.is_prescriber and user.prescriber_id):
        raise PermissionDenied


def _administration_page(
    request: AuthedHttpRequest, invite_form: InviteDelegateForm, status: int = 200
) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/administration.html",
        {
            "invite_form": invite_form,
            "invites": DelegateInvite.objects.visible_to(user).pending().order_by("-sent_at"),
            "delegations": Delegation.objects.visible_to(user)
            .select_related("delegate")
            .order_by("delegate__last_name", "delegate__first_name"),
        },
        status=status,
    )


@login_required
def administration(request: AuthedHttpRequest) -> HttpResponse:
    _require_prescriber(request.user)
    return _administration_page(request, InviteDelegateForm())


@login_required
@require_POST
@idempotent
def invite_delegate(request: AuthedHttpRequest) -> HttpResponse:
    _require_prescriber(request.user)
    form = InviteDelegateForm(request.POST)
    if not form.is_valid():
        return _administration_page(request, form, status=400)
    email = form.cleaned_data["email"].lower()
    if email == request.user.email.lower():
        form.add_error("email", "You cannot invite yourself.")
        return _administration_page(request, form, status=400)
    services.invite_delegate(
        # _require_prescriber above refused a user without a prescriber record.
        prescriber=cast(Prescriber, request.user.prescriber),
        email=email,
        invited_by=request.user,
        request=request,
    )
    created(request)  # the same POST again sends no second email (its link would replace this)
    messages.success(request, f"Invitation sent to {email}.")
    return redirect("accounts:administration")


@login_required
@require_POST
def resend_invite(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    invite = get_object_or_404(DelegateInvite.objects.visible_to(request.user).pending(), pk=pk)
    services.send_invite(invite)
    record(
        request,
        AuditEvent.Action.UPDATE,
        invite,
        description=f"Delegate invite resent to {invite.email}",
    )
    messages.success(request, f"Invitation sent again to {invite.email}.")
    return redirect("accounts:administration")


@login_required
@require_POST
def revoke_invite(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    invite = get_object_or_404(DelegateInvite.objects.visible_to(request.user).pending(), pk=pk)
    invite.revoke()
    record(
        request,
        AuditEvent.Action.UPDATE,
        invite,
        description=f"Delegate invite to {invite.email} revoked",
    )
    messages.success(request, f"The invitation to {invite.email} was revoked.")
    return redirect("accounts:administration")


@login_required
@require_POST
def remove_delegate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    delegation = get_object_or_404(Delegation.objects.visible_to(request.user), pk=pk)
    delegation.revoke()
    record(
        request,
        AuditEvent.Action.UPDATE,
        delegation,
        description=f"Access removed for {delegation.delegate.email}",
    )
    messages.success(request, f"{delegation.delegate} no longer has access.")
    return redirect("accounts:administration")


# Invitation links (delegates and pharmacists) ----------------------------------------------


@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invite_from_token(token)
    except services.InviteError as error:
        return render(request, "accounts/invite_invalid.html", {"error": str(error)}, status=410)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated:
        user = request.user
        if user.email.lower() != invitation.email.lower():
            return render(
                request,
                "accounts/invite_invalid.html",
                {
                    "error": "This invitation was sent to a different email address. "
                    "Sign out, then open the link again.",
                },
                status=403,
            )
        if user.role != invitation.role:
            return render(
                request,
                "accounts/invite_invalid.html",
                {
                    "error": "This invitation cannot be added to your account. Please contact support.",
                },
                status=403,
            )
        if request.method == "POST":
            services.accept_invite(invite=invitation, user=user, request=request)
            messages.success(request, "The invitation was accepted.")
            return redirect("home")
        return render(request, "accounts/invite_accept.html", {"invite": invitation})
    if existing is not None:
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
        return render(
            request, "accounts/invite_sign_in.html", {"invite": invitation, "login_url": login_url}
        )
    form = InviteRegistrationForm(request.POST or None, invite=invitation)
    if request.method == "POST":
        if form.is_valid():
            services.register_from_invite(
                invite=invitation, data=form.cleaned_data, request=request
            )
            messages.success(
                request, "Your account is ready. Sign in to set up multi-factor authentication."
            )
            return redirect("accounts:login")
        return _registration_error(
            request, "accounts/invite_register.html", {"form": form, "invite": invitation}
        )
    return render(request, "accounts/invite_register.html", {"form": form, "invite": invitation})


# Profile ------------------------------------------------------------------------------------


def _profile_page(
    request: AuthedHttpRequest,
    password_form: ChangePasswordForm | None = None,
    email_form: ChangeEmailForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    static = StaticDevice.objects.filter(user=user).first()
    return render(
        request,
        "accounts/profile.html",
        {
            "password_form": password_form or ChangePasswordForm(user=user),
            "email_form": email_form or ChangeEmailForm(user=user),
            "recovery_left": static.token_set.count() if static else 0,
        },
        status=status,
    )


@login_required
def profile(request: AuthedHttpRequest) -> HttpResponse:
    return _profile_page(request)


@login_required
@require_POST
def change_password(request: AuthedHttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.POST, user=request.user)
    if not form.is_valid():
        return _profile_page(request, password_form=form, status=400)
    request.user.set_password(form.cleaned_data["password1"])
    request.user.save(update_fields=["password"])
    update_session_auth_hash(request, request.user)
    services.end_other_sessions(request.user, keep=request.session.session_key)
    record(request, AuditEvent.Action.SECURITY, request.user, description="Password changed")
    messages.success(request, "Your password was changed. Other sessions were signed out.")
    return redirect("accounts:profile")


@login_required
@require_POST
@require_sudo_mode
def change_email(request: AuthedHttpRequest) -> HttpResponse:
    form = ChangeEmailForm(request.POST, user=request.user)
    if not form.is_valid():
        return _profile_page(request, email_form=form, status=400)
    old = request.user.email
    request.user.email = form.cleaned_data["email"]
    request.user.save(update_fields=["email"])
    rotate_session(request)
    services.send_portal_email(
        to=old,
        subject="Your email address was changed",
        template="accounts/email/email_changed.txt",
        context={"new_email": request.user.email},
    )
    record(
        request,
        AuditEvent.Action.SECURITY,
        request.user,
        description=f"Email changed from {old} to {request.user.email}",
    )
    messages.success(request, "Your email address was changed.")
    return redirect("accounts:profile")


@login_required
@require_POST
@require_sudo_mode
def new_recovery_codes(request: AuthedHttpRequest) -> HttpResponse:
    rotate_session(request)
    request.session[RECOVERY_KEY] = services.issue_recovery_codes(request.user)
    request.session[MFA_NEXT_KEY] = reverse("accounts:profile")
    record(
        request, AuditEvent.Action.SECURITY, request.user, description="New recovery codes issued"
    )
    return redirect("accounts:recovery_codes")


@login_required
@require_http_methods(["GET", "POST"])
def sudo(request: AuthedHttpRequest) -> HttpResponse:
    """Confirm it's you (password or a code from the authenticator app) before a security
    action; then back to `next`."""
    user = request.user
    next_url = request.POST.get("next") or request.GET.get("next")
    form = SudoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        secret = form.cleaned_data["secret"]
        totp = services.confirmed_totp(user)
        code = "".join(secret.split())
        if totp is not None and code.isdigit() and len(code) == totp.digits:
            confirmed = totp.verify_is_allowed()[0] and totp.verify_token(code)
            if not confirmed:
                record(
                    request, AuditEvent.Action.LOGIN_FAILED, user, description="Sudo: wrong code"
                )
        else:
            # Through django-axes: wrong passwords here count towards the lock-out (and are
            # audited by the failed-sign-in receiver).
            confirmed = authenticate(request, username=user.email, password=secret) == user
        if confirmed:
            rotate_session(request)
            grant_sudo_mode(request)
            record(request, AuditEvent.Action.SECURITY, user, description="Sudo mode: confirmed")
            return redirect(safe_next(request, next_url) or reverse("accounts:profile"))
        form.add_error(
            "secret",
            "That is not your password or a current code. Try again."
            if totp is not None
            else "That is not your password. Try again.",
        )
    return render(
        request,
        "accounts/sudo.html",
        {
            "form": form,
            "next": safe_next(request, next_url) or "",
            "has_totp": services.confirmed_totp(user) is not None,
            "sudo_minutes": settings.SUDO_MINUTES,
        },
        status=400 if form.errors else 200,
    )


# Password reset: Django's views; the second factor is still asked at the next sign-in.


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"PRODUCT_NAME": settings.PRODUCT_NAME}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False
