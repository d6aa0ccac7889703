from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from audit.log import record
from audit.models import AuditEvent
from portal.idempotency import created, idempotent
from portal.rendering import render_page
from portal.security import client_ip, safe_next
from portal.types import AuthedHttpRequest

from . import selectors, services
from .forms import CSVUploadForm, InviteFormSet, JoinAccountForm, JoinCodeForm, JoinSignInForm
from .models import (
    Clinic,
    ClinicMembership,
    ClinicPatient,
    ImportReport,
    Invite,
    InviteListPreference,
)
from .selectors import ClinicContext, require_clinic_member

SESSION_CLINIC = "invites_clinic_id"
SESSION_PROVIDER = "invites_provider_id"
SESSION_SENT = "invites_last_sent"
SESSION_JOIN = "invites_join_invite_id"
SESSION_JOIN_DONE = "invites_join_done_clinic_id"
PAGE_SIZE = 25

# Invited Patients columns: key -> (heading, sort field)
COLUMNS = {
    "name": ("Patient Name", "last_name"),
    "provider": ("Provider Name", "provider__user__last_name"),
    "invited": ("Date Invited", "invited_at"),
    "accepted": ("Date Accepted", "accepted_at"),
    "phone": ("Phone Number", "mobile"),
    "email": ("Email", "email"),
    "code": ("Invite Code", "code"),
    "status": ("Status", "effective_status"),
}


def clinic_context(request: AuthedHttpRequest, clinic_id: int | None = None) -> ClinicContext:
    """The clinic and provider chosen in this session, or the clinic `clinic_id`
    (`selectors.clinic_context`)."""
    return selectors.clinic_context(
        request.user,
        clinic_id=clinic_id,
        remembered_clinic_id=request.session.get(SESSION_CLINIC),
        provider_id=request.session.get(SESSION_PROVIDER),
    )


def _id(value: str | None) -> int:
    """A database id from a form value; 0 for anything else (never an overflow error)."""
    try:
        number = int((value or "0").strip())
    except ValueError:
        return 0
    return number if 0 < number < 2**63 else 0


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    return safe_next(request, target) or default


@login_required
@require_POST
def select(request: AuthedHttpRequest) -> HttpResponse:
    """Remember the chosen clinic and provider (the 'Select Clinic' and 'Providers' lists)."""
    clinics = Clinic.objects.visible_to(request.user)
    clinic_id = _id(request.POST.get("clinic"))
    provider_id = _id(request.POST.get("provider"))
    if clinic_id:
        clinic = get_object_or_404(clinics, pk=clinic_id)
        if clinic.pk != request.session.get(SESSION_CLINIC):
            request.session[SESSION_CLINIC] = clinic.pk
            request.session.pop(SESSION_PROVIDER, None)
    if provider_id:
        provider = get_object_or_404(
            ClinicMembership.objects.visible_to(request.user).providers(), pk=provider_id
        )
        # A provider listed for the previous clinic does not carry over to a newly chosen one.
        if provider.clinic_id == request.session.get(SESSION_CLINIC, provider.clinic_id):
            request.session[SESSION_PROVIDER] = provider.pk
    return redirect(_back(request, reverse("invites:invite")))


@login_required
@require_GET
def providers(request: AuthedHttpRequest) -> HttpResponse:
    """The Providers list of the clinic being chosen (swapped in as the clinic list changes).

    Nothing is remembered: Apply (which also works without JavaScript) saves the choice.
    """
    ctx = clinic_context(request, clinic_id=_id(request.GET.get("clinic")))
    return render(request, "invites/_context_bar.html#provider-field", {"ctx": ctx})


# Invited Patients list --------------------------------------------------------------------------


def chosen_columns(user: User) -> list[str]:
    pref = InviteListPreference.objects.filter(user=user).first()
    cols = [c for c in (pref.columns if pref else []) if c in COLUMNS]
    return cols or list(COLUMNS)


def invite_list_context(request: AuthedHttpRequest, ctx: ClinicContext) -> dict:
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "-invited")
    invites = (
        Invite.objects.visible_to(request.user)
        # Guardians invited for a chart (patient_portal's ProxyInvite) are not patients: the
        # chart page lists their invites, with Resend and Remove.
        .filter(clinic=ctx.clinic, proxy__isnull=True)
        .current()
        .with_effective_status()
        .select_related("provider__user")
    )
    if q:
        invites = invites.annotate(
            _name=Concat("first_name", Value(" "), "last_name"),
            _provider=Concat("provider__user__first_name", Value(" "), "provider__user__last_name"),
        ).filter(
            Q(_name__icontains=q)
            | Q(email__icontains=q)
            | Q(mobile__icontains=q)
            | Q(_provider__icontains=q)
            | Q(code=q)
        )
    if status in Invite.Status.values:
        # An annotation of with_effective_status(): the plugin knows only the model's fields.
        invites = invites.filter(effective_status=status)  # type: ignore[misc]
    key = sort.lstrip("-")
    if key not in COLUMNS:
        sort, key = "-invited", "invited"
    field = COLUMNS[key][1]
    invites = invites.order_by(("-" if sort.startswith("-") else "") + field, "-pk")
    page = Paginator(invites, PAGE_SIZE).get_page(request.GET.get("page"))
    record(
        request,
        AuditEvent.Action.LIST,
        description=f"invited patients of clinic {ctx.clinic.pk} page {page.number}",
    )
    columns = chosen_columns(request.user)
    headings = []
    for col, (label, _f) in COLUMNS.items():
        if col in columns:
            next_sort = col if sort != col else f"-{col}"
            state = "ascending" if sort == col else "descending" if sort == f"-{col}" else "none"
            headings.append({"key": col, "label": label, "sort": next_sort, "state": state})
    return {
        "qs": urlencode({k: v for k, v in (("q", q), ("status", status)) if v}),
        "page": page,
        "q": q,
        "status": status,
        "sort": sort,
        "columns": columns,
        "headings": headings,
        "all_columns": COLUMNS,
        "statuses": Invite.Status.choices,
    }


@login_required
@require_POST
def columns(request: AuthedHttpRequest) -> HttpResponse:
    chosen = [c for c in request.POST.getlist("columns") if c in COLUMNS] or list(COLUMNS)
    InviteListPreference.objects.update_or_create(user=request.user, defaults={"columns": chosen})
    return redirect(_back(request, reverse("invites:invite")))


@login_required
@require_POST
def resend(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    invite = get_object_or_404(Invite.objects.editable_by(request.user), pk=pk)
    if invite.status == Invite.Status.ACCEPTED:
        messages.info(request, f"{invite.full_name} has already joined; nothing was sent.")
    else:
        services.resend_invite(invite=invite)
        record(request, AuditEvent.Action.UPDATE, invite, description="resent invite")
        if invite.email or invite.mobile:
            messages.success(request, f"The invite to {invite.full_name} was sent again.")
        else:
            messages.success(
                request,
                f"The invite of {invite.full_name} was renewed. They have no email or mobile number: "
                f"share their invite code {invite.code} with them.",
            )
    return redirect(_back(request, reverse("invites:invite")))


@login_required
@require_POST
def remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    invite = get_object_or_404(Invite.objects.editable_by(request.user), pk=pk)
    invite.remove()
    record(request, AuditEvent.Action.DELETE, invite, description="removed invite")
    messages.success(
        request, f"The invite to {invite.full_name} was removed; its link and code no longer work."
    )
    return redirect(_back(request, reverse("invites:invite")))


# Invite Patients -----------------------------------------------------------------------------


def _page(
    request: AuthedHttpRequest, template: str, ctx: ClinicContext, **extra: Any
) -> HttpResponse:
    return render_page(
        request,
        template,
        {"ctx": ctx, **invite_list_context(request, ctx), **extra},
        fragment_template="invites/_invite_list.html",
        targets=("invite-list", "invite-results"),
    )


@login_required
@vary_on_headers("HX-Request")
@idempotent
def invite(request: AuthedHttpRequest) -> HttpResponse:
    ctx = clinic_context(request)
    formset = InviteFormSet(request.POST or None, prefix="patients")
    confirm = False
    if request.method == "POST":
        action = request.POST.get("action", "review")
        if action == "add_row":
            # Without JavaScript: re-show the form with one more row, keeping what was typed.
            data = request.POST.copy()
            data["patients-TOTAL_FORMS"] = str(int(data.get("patients-TOTAL_FORMS") or 1) + 1)
            formset = InviteFormSet(data, prefix="patients")
            formset.errors  # noqa: B018 - bind, but show no errors for an add-row click
            # Django's own error caches (no public way to drop errors of a bound form).
            for form in formset.forms:
                form._errors = {}  # type: ignore[attr-defined]
            formset._non_form_errors = formset.error_class()  # type: ignore[attr-defined]
        elif ctx.provider is None:
            messages.error(request, "Choose the provider from the Providers list first.")
        elif formset.is_valid():
            patients = [f.cleaned_data for f in formset.forms if f.cleaned_data]
            if action == "confirm":
                outcome = services.invite_patients(
                    clinic=ctx.clinic,
                    provider=ctx.provider,
                    patients=patients,
                    invited_by=request.user,
                )
                created(request)  # the same confirm again answers this redirect, sends nothing
                for inv in outcome.invited:
                    record(request, AuditEvent.Action.CREATE, inv, description="invited patient")
                request.session[SESSION_SENT] = {
                    "clinic": ctx.clinic.name,
                    "provider": ctx.provider.display_name,
                    "invited": [
                        {"name": i.full_name, "email": i.email, "mobile": i.mobile, "code": i.code}
                        for i in outcome.invited
                    ],
                    "duplicates": [
                        f"{p['first_name']} {p['last_name']}" for p in outcome.duplicates
                    ],
                }
                if outcome.invited:
                    messages.success(
                        request,
                        f"{len(outcome.invited)} invitation{'s' if len(outcome.invited) != 1 else ''} sent successfully.",
                    )
                return redirect("invites:sent")
            confirm = True
            seen = services.known_patients(ctx.clinic)
            for p in patients:
                p["duplicate"] = services.find_known(seen, p) is not None
                services.remember(seen, "form", p)
            return _page(
                request,
                "invites/invite.html",
                ctx,
                formset=formset,
                confirm=True,
                patients=patients,
                csv_form=CSVUploadForm(),
            )
    return _page(
        request,
        "invites/invite.html",
        ctx,
        formset=formset,
        confirm=confirm,
        csv_form=CSVUploadForm(),
    )


@login_required
def sent(request: AuthedHttpRequest) -> HttpResponse:
    require_clinic_member(request.user)
    summary = request.session.get(SESSION_SENT)
    if not summary:
        return redirect("invites:invite")
    return render(request, "invites/sent.html", {"summary": summary})


@login_required
def csv_template(request: AuthedHttpRequest) -> HttpResponse:
    require_clinic_member(request.user)
    response = HttpResponse(
        ",".join(services.CSV_HEADER) + "\r\n", content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="invite-patients-template.csv"'
    return response


@login_required
@require_POST
@idempotent
def import_csv(request: AuthedHttpRequest) -> HttpResponse:
    ctx = clinic_context(request)
    form = CSVUploadForm(request.POST, request.FILES)
    error = ""
    if ctx.provider is None:
        error = "Choose the provider from the Providers list first."
    elif form.is_valid():
        upload = form.cleaned_data["csv_file"]
        if upload.size > services.CSV_MAX_BYTES:
            error = f"The file is larger than {services.CSV_MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        else:
            try:
                result = services.import_invites(
                    clinic=ctx.clinic,
                    provider=ctx.provider,
                    data=upload.read(),
                    invited_by=request.user,
                )
            except services.CSVRefused as exc:
                error = str(exc)
            else:
                created(request)  # the same upload again answers this page, imports nothing
                record(
                    request,
                    AuditEvent.Action.IMPORT,
                    ctx.clinic,
                    description=f"CSV import: {result.invited} invited, {result.duplicates} skipped, {result.rejected} rejected",
                )
                # The page stays small whatever the file's size: the counts and the rows with
                # a problem; every row's result is in the downloadable report.
                report = services.save_import_report(
                    clinic=ctx.clinic, user=request.user, filename=upload.name, result=result
                )
                return render(
                    request,
                    "invites/import_result.html",
                    {"ctx": ctx, "result": result, "filename": upload.name, "report": report},
                )
    if error:
        form.add_error("csv_file", error)
    formset = InviteFormSet(prefix="patients")
    return _page(request, "invites/invite.html", ctx, formset=formset, csv_form=form, csv_open=True)


@login_required
@require_GET
def import_report(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The full row-by-row result of one of the user's own CSV imports, as CSV."""
    report = get_object_or_404(ImportReport.objects.visible_to(request.user), pk=pk)
    record(
        request,
        AuditEvent.Action.EXPORT,
        report.clinic,
        description=f"CSV import report: {report.filename}"[:300],
    )
    stem = report.filename.rsplit(".", 1)[0]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:80] or "import"
    response = HttpResponse(report.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe}-result.csv"'
    return response


# Clinic > Patients ---------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def patients(request: AuthedHttpRequest) -> HttpResponse:
    ctx = clinic_context(request)
    pq = request.GET.get("pq", "").strip()
    joined = (
        ClinicPatient.objects.visible_to(request.user)
        .filter(clinic=ctx.clinic)
        .select_related("user", "provider__user")
    )
    if pq:
        joined = joined.annotate(
            _name=Concat("user__first_name", Value(" "), "user__last_name")
        ).filter(
            Q(_name__icontains=pq) | Q(user__email__icontains=pq) | Q(user__phone__icontains=pq)
        )
    joined_page = Paginator(
        joined.order_by("user__last_name", "user__first_name", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("ppage"))
    record(
        request, AuditEvent.Action.LIST, description=f"joined patients of clinic {ctx.clinic.pk}"
    )
    return _page(request, "invites/patients.html", ctx, joined_page=joined_page, pq=pq)


# Joining (patients; no sign-in needed) ----------------------------------------------------------


SAME_MESSAGE = (
    "That invite code does not match an active invitation with this name or date of birth. "
    "Check them and try again, or ask your clinic for a new invite."
)


def join_code(request: HttpRequest) -> HttpResponse:
    form = JoinCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = services.find_invite_by_code(
                code=form.cleaned_data["code"],
                last_name=form.cleaned_data["last_name"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                client=client_ip(request) or "unknown",
            )
        except services.Throttled:
            form.add_error(
                None,
                "Too many attempts. Please wait 15 minutes and try again, or ask your clinic for help.",
            )
            return render(request, "invites/join_code.html", {"form": form}, status=429)
        if found is None:
            form.add_error(None, SAME_MESSAGE)
        else:
            request.session[SESSION_JOIN] = found.pk
            return redirect("invites:join_account")
    return render(request, "invites/join_code.html", {"form": form})


def join_link(request: HttpRequest, token: str) -> HttpResponse:
    found = services.find_invite_by_token(token)
    if found is None:
        return render(request, "invites/join_invalid.html", status=404)
    request.session[SESSION_JOIN] = found.pk
    return redirect("invites:join_account")


def join_account(request: HttpRequest) -> HttpResponse:
    pending = (
        Invite.objects.live()
        .select_related("clinic", "provider__user")
        .filter(pk=request.session.get(SESSION_JOIN) or 0)
        .first()
    )
    if pending is None:
        return redirect("invites:join_code")
    signing_in = request.method == "POST" and request.POST.get("action") == "sign_in"
    form = JoinAccountForm(
        None if signing_in else (request.POST or None),
        first_name=pending.first_name,
        last_name=pending.last_name,
        initial={"email": pending.email},
    )
    sign_in_form = JoinSignInForm(
        request.POST if signing_in else None, request=request, invite=pending
    )
    user: User | None  # the account the patient joins with (None: the email had one)
    if signing_in and sign_in_form.is_valid():
        # A patient with an account already (joined another clinic before): link it.
        user = cast(User, sign_in_form.user)  # set by a valid form
        services.accept_invite(invite=pending, user=user)
        request.session.pop(SESSION_JOIN, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        record(
            request,
            AuditEvent.Action.UPDATE,
            pending,
            description="patient joined clinic with an existing account",
        )
        return redirect("invites:joined", pk=pending.clinic_id)
    if request.method == "POST" and not signing_in and form.is_valid():
        user = services.join_with_new_account(
            invite=pending,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        record(
            request,
            AuditEvent.Action.CREATE if user else AuditEvent.Action.SECURITY,
            pending,
            description="patient joined clinic"
            if user
            else "join: account form with an email that already has an account (owner emailed)",
        )
        # The same answer whether or not the email already had an account: no sign-in here
        # (a new session would tell them apart); the patient signs in next.
        request.session.pop(SESSION_JOIN, None)
        request.session[SESSION_JOIN_DONE] = pending.clinic_id
        return redirect("invites:join_done")
    return render(
        request,
        "invites/join_account.html",
        {"form": form, "sign_in_form": sign_in_form, "invite": pending},
    )


def join_done(request: HttpRequest) -> HttpResponse:
    clinic_id = request.session.get(SESSION_JOIN_DONE)
    if clinic_id is None:
        return redirect("invites:join_code")
    next_url = reverse("invites:joined", args=[clinic_id])
    login_url = f"{reverse('accounts:login')}?{urlencode({'next': next_url})}"
    return render(request, "invites/join_done.html", {"login_url": login_url})


@login_required
def joined(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    link = (
        ClinicPatient.objects.of_patient(request.user)
        .select_related("clinic", "provider__user")
        .filter(clinic_id=pk)
        .first()
    )
    if link is None:
        # A guardian's invite grants proxy access, not a place at the clinic: their landing.
        return redirect("home")
    return render(request, "invites/joined.html", {"link": link, "product": settings.PRODUCT_NAME})
