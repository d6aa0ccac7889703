"""Writes of the patient portal: charts from joining, proxy grants, audit "X for Y", sessions."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.utils import timezone

from audit.log import record
from portal.security import client_ip

from .models import (
    Chart,
    ClinicPatient,
    ConsentChange,
    Invite,
    PatientPreferences,
    ProxyGrant,
    ProxyInvite,
    SignedInSession,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import User


# Audit ---------------------------------------------------------------------------------------


def on_behalf_of(user: Any, chart: Chart) -> str:
    """Whom `user` acts for on `chart`: "" for their own chart, else the chart's person."""
    if chart.patient_user_id is not None and chart.patient_user_id == getattr(user, "pk", None):
        return ""
    return chart.full_name


def record_for_chart(
    request: HttpRequest | None,
    action: str,
    obj: Any = None,
    *,
    chart: Chart,
    description: str = "",
    user: Any = None,
) -> None:
    """Audit an action on `chart` (or on `obj` of it), naming who acted for whom.

    The description starts "Mary Doe for Tim Doe:" when the actor is not the chart's own
    account (a proxy, or clinic staff on the clinic side); `chart_id` and `on_behalf_of`
    hold the same for filtering.
    """
    actor = user if user is not None else getattr(request, "user", None)
    behalf = on_behalf_of(actor, chart)
    who = (actor.get_full_name() or actor.email) if actor is not None and actor.pk else "someone"
    prefix = f"{who} for {behalf}: " if behalf else ""
    record(
        request,
        action,
        obj if obj is not None else chart,
        chart=chart,
        on_behalf_of=behalf,
        description=prefix + description,
        user=user,
    )


# Charts --------------------------------------------------------------------------------------


def chart_for_clinic_patient(link: ClinicPatient, *, date_of_birth: dt.date | None = None) -> Chart:
    """The chart of a patient who joined a clinic: linked when it exists, created otherwise.

    Called when a `ClinicPatient` is created (joining by invite, the admin, tests); the data
    migration did the same for the links that existed before charts.
    """
    chart = Chart.objects.filter(joined_link=link).first()
    if chart is not None:
        return chart
    chart = Chart.objects.filter(clinic_id=link.clinic_id, patient_user_id=link.user_id).first()
    if chart is not None:
        chart.joined_link = link
        chart.save(update_fields=["joined_link"])
        return chart
    if date_of_birth is None and link.invite_id is not None:
        date_of_birth = link.invite.date_of_birth  # type: ignore[union-attr]
    user = link.user
    return Chart.objects.create(
        clinic_id=link.clinic_id,
        provider_id=link.provider_id,
        patient_user=user,
        legal_first_name=user.first_name,
        legal_last_name=user.last_name,
        date_of_birth=date_of_birth,
        joined_link=link,
        created_at=link.joined_at,
    )


# Proxy grants --------------------------------------------------------------------------------


class GrantRefused(ValueError):
    """A grant that cannot be made; the message says why, for the clinic's page."""


@transaction.atomic
def grant_proxy(
    *,
    chart: Chart,
    grantee: User,
    relationship: str,
    granted_by: User | None,
    ends_on: dt.date | None = None,
) -> ProxyGrant:
    """Let `grantee` act for `chart` (from the clinic side). One unrevoked grant per pair."""
    if chart.patient_user_id == grantee.pk:
        raise GrantRefused("This account is the chart's own person; it needs no proxy access.")
    if ends_on is not None and ends_on < timezone.localdate():
        raise GrantRefused("The end date is in the past.")
    existing = (
        ProxyGrant.objects.select_for_update()
        .filter(chart=chart, grantee=grantee, revoked_at__isnull=True)
        .first()
    )
    if existing is not None:
        if existing.is_live:
            raise GrantRefused("This account already has proxy access to this chart.")
        # Past its end date: revoke it formally so the new grant can take its place.
        existing.revoke(by=granted_by)
    return ProxyGrant.objects.create(
        chart=chart,
        grantee=grantee,
        relationship=relationship,
        ends_on=ends_on,
        granted_by=granted_by,
    )


def revoke_proxy(*, grant: ProxyGrant, by: User | None) -> None:
    """End a grant now. Pages 404 from the next request; the grantee's open patient-portal
    sockets close at their next re-check (`patient_portal.consumers.ChartConsumer`)."""
    from .consumers import notify_access_changed

    if grant.revoked_at is None:
        grant.revoke(by=by)
        grantee = grant.grantee_id
        transaction.on_commit(lambda: notify_access_changed([grantee]))


# Signed-in sessions --------------------------------------------------------------------------

SESSION_TRACKING = "patient_portal_session_id"
# last_seen is written at most this often per session (a page view is not a write).
TOUCH_EVERY = dt.timedelta(minutes=1)


def touch_session(request: HttpRequest) -> None:
    """Note this browser in the account's signed-in sessions (at most once a minute)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return
    now = timezone.now()
    raw = request.session.get(SESSION_TRACKING)
    try:
        tracking_id = uuid.UUID(str(raw)) if raw else None
    except ValueError:
        tracking_id = None
    agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    if tracking_id is not None:
        updated = SignedInSession.objects.filter(
            tracking_id=tracking_id,
            user=user,
            ended_at__isnull=True,
            last_seen__lt=now - TOUCH_EVERY,
        ).update(last_seen=now, ip_address=client_ip(request), user_agent=agent)
        if (
            updated
            or SignedInSession.objects.filter(
                tracking_id=tracking_id, user=user, ended_at__isnull=True
            ).exists()
        ):
            return
    row = SignedInSession.objects.create(
        user=user, user_agent=agent, ip_address=client_ip(request), last_seen=now
    )
    request.session[SESSION_TRACKING] = str(row.tracking_id)


def current_tracking_id(request: HttpRequest) -> str:
    return str(request.session.get(SESSION_TRACKING, ""))


@transaction.atomic
def invite_guardian(
    *,
    chart: Chart,
    first_name: str,
    last_name: str,
    email: str,
    mobile: str,
    relationship: str,
    ends_on: dt.date | None,
    invited_by: User,
) -> ProxyInvite:
    """Invite a guardian for `chart` with the clinic's invite machinery (email/SMS, link and
    6-digit code); accepting it creates the proxy grant (`accept_proxy_invite`)."""
    from invites.services import create_invites, queue_deliveries

    (invite,) = create_invites(
        clinic=chart.clinic,
        provider=chart.provider,
        patients=[
            {"first_name": first_name, "last_name": last_name, "email": email, "mobile": mobile}
        ],
        invited_by=invited_by,
    )
    proxy = ProxyInvite.objects.create(
        invite=invite, chart=chart, relationship=relationship, ends_on=ends_on
    )
    transaction.on_commit(lambda: queue_deliveries([invite]))
    return proxy


def accept_proxy_invite(*, invite: Invite, user: User) -> ProxyGrant | None:
    """If `invite` is a guardian's invite, grant `user` proxy access to its chart and return
    the grant; None for an ordinary patient invite. Called by `invites.services.accept_invite`
    inside its transaction (the invite row locked)."""
    proxy = ProxyInvite.objects.select_related("chart").filter(invite=invite).first()
    if proxy is None:
        return None
    if proxy.grant_id is not None:
        return proxy.grant
    grant: ProxyGrant | None
    try:
        grant = grant_proxy(
            chart=proxy.chart,
            grantee=user,
            relationship=proxy.relationship,
            granted_by=invite.invited_by,
            ends_on=proxy.ends_on
            if proxy.ends_on and proxy.ends_on >= timezone.localdate()
            else None,
        )
    except GrantRefused:
        # Already a live proxy (or the chart's own person): nothing more to grant.
        grant = ProxyGrant.objects.live().filter(chart=proxy.chart, grantee=user).first()
    proxy.grant = grant
    proxy.save(update_fields=["grant"])
    return grant


# Account -------------------------------------------------------------------------------------

EMAIL_CHANGE_SALT = "patient_portal.email_change"
EMAIL_CHANGE_MAX_AGE = 24 * 60 * 60


def email_change_token(user: User, new_email: str) -> str:
    """A signed token naming the user, the new address and the current one (so it dies when
    the email changes in between); valid EMAIL_CHANGE_MAX_AGE seconds."""
    from django.core import signing

    return signing.dumps(
        {"u": user.pk, "new": new_email, "old": user.email}, salt=EMAIL_CHANGE_SALT
    )


def request_email_change(*, user: User, new_email: str) -> None:
    """Send the confirmation link to the new address; nothing changes until it is opened."""
    from django.conf import settings
    from django.urls import reverse

    from accounts.services import send_portal_email

    link = settings.SITE_URL.rstrip("/") + reverse(
        "patient_portal:account_email_confirm", args=[email_change_token(user, new_email)]
    )
    send_portal_email(
        to=new_email,
        subject="Confirm your new email address",
        template="patient_portal/email/confirm_email.txt",
        context={"link": link, "hours": EMAIL_CHANGE_MAX_AGE // 3600},
    )


def confirm_email_change(*, user: User, token: str) -> str | None:
    """Apply a confirmed change; the new address, or None for a bad, old or foreign link."""
    from django.core import signing

    from accounts.models import User as UserModel
    from accounts.services import send_portal_email

    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk or data.get("old") != user.email:
        return None
    new = str(data.get("new", ""))
    if not new or UserModel.objects.filter(email__iexact=new).exclude(pk=user.pk).exists():
        return None
    old = user.email
    user.email = new
    user.save(update_fields=["email"])
    send_portal_email(
        to=old,
        subject="Your email address was changed",
        template="accounts/email/email_changed.txt",
        context={"new_email": new},
    )
    return new


def set_email_consent(*, user: User, consented: bool, request: HttpRequest | None) -> None:
    """Record a change of the unencrypted-email consent, with its date, in its history."""
    prefs = PatientPreferences.of(user)
    if prefs.pk is not None and prefs.email_consent == consented:
        return
    prefs.email_consent = consented
    prefs.email_consent_at = timezone.now()
    prefs.save()
    ConsentChange.objects.create(user=user, consented=consented, ip_address=client_ip(request))


def live_sessions(user: User) -> list[SignedInSession]:
    """The account's signed-in browsers seen within the session lifetime, newest first."""
    from django.conf import settings

    since = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return list(
        SignedInSession.objects.filter(user=user, ended_at__isnull=True, last_seen__gte=since)
    )


def sign_out_other_sessions(*, request: HttpRequest) -> int:
    """End every other session of the account (their sockets close at once) and mark their
    rows ended; returns how many sessions ended."""
    from accounts.services import end_other_sessions

    user = cast("User", request.user)  # the view requires a signed-in user
    ended = end_other_sessions(user, keep=request.session.session_key)
    others = SignedInSession.objects.filter(user=user, ended_at__isnull=True)
    if tracking_id := current_tracking_id(request):
        others = others.exclude(tracking_id=tracking_id)
    others.update(ended_at=timezone.now())
    return ended


def end_tracked_session(request: HttpRequest) -> None:
    """Signing out ends this browser's row."""
    raw = request.session.get(SESSION_TRACKING) if hasattr(request, "session") else None
    if raw:
        with contextlib.suppress(ValueError):
            SignedInSession.objects.filter(tracking_id=uuid.UUID(str(raw))).update(
                ended_at=timezone.now()
            )
