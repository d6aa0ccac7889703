"""Account actions with side effects: MFA devices, registration, invitations, email."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.log import record
from audit.models import AuditEvent
from portal.consumers import end_session_sockets
from portal.security import hash_token, throttle_counts, throttle_hit
from prescriptions.models import CareGroup, Prescriber

from .models import DelegateInvite, Delegation, User
from .signals import invite_accepted

RECOVERY_CODE_COUNT = 10
# Cache-key prefix of identity-check attempt counters (tests use a fresh one each).
ATTEMPT_PREFIX = "accounts:idv"
INVITE_SALT = "accounts.invite"


# MFA ----------------------------------------------------------------------------------------


def confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator device, created on first use of the setup page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app expects when typed in by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (no external service)."""
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2
    )
    svg = image.to_string(encoding="unicode")
    # Drop the XML declaration so the SVG can sit inside HTML.
    return svg[svg.index("<svg") :]


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with a fresh set; returns them (shown once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def reset_mfa(*, user: User, request: HttpRequest | None = None) -> None:
    """Remove every second factor (ops action); the user enrols again at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(security_stamp=F("security_stamp") + 1)
    # The new stamp invalidates every session at its next request; ending them now also
    # closes their open sockets at once.
    end_other_sessions(user)
    record(request, AuditEvent.Action.SECURITY, user, description=f"MFA reset for {user.email}")


def end_other_sessions(user: User, keep: str | None = None) -> int:
    """Delete the user's database sessions except `keep` (the current one)."""
    ended = []
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    # Sessions are not indexed by user; the idle timeout keeps this table small.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep:
            continue
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            ended.append(session.session_key)
            # Through the session engine, so that a cached copy (cached_db) goes too.
            store.delete(session.session_key)
    # Their open pages stop receiving at once (not at their next HTTP request).
    transaction.on_commit(lambda: end_session_sockets(ended))
    return len(ended)


# Sign-in links by email (the way in while the password path is locked) ------------------

SIGN_IN_SALT = "accounts.sign_in_link"
# Cache-key prefix of the link-request counters (tests use a fresh one each).
SIGN_IN_PREFIX = "accounts:signin-link"


def _sign_in_fingerprint(user: User) -> str:
    # Changes when the user signs in (last_login), or the password, email or a factor changes:
    # a link works once, and an older link dies with any of those.
    value = f"{user.pk}:{user.password}:{user.security_stamp}:{user.email}:{user.last_login}"
    return salted_hmac(SIGN_IN_SALT, value, algorithm="sha256").hexdigest()[:32]


def sign_in_link(user: User) -> str:
    """An absolute one-time sign-in link for `user`, valid SIGN_IN_LINK_MINUTES."""
    token = signing.dumps({"u": user.pk, "f": _sign_in_fingerprint(user)}, salt=SIGN_IN_SALT)
    return settings.SITE_URL + reverse("accounts:email_sign_in_confirm", args=[token])


def user_from_sign_in_token(token: str) -> User | None:
    """The active user a sign-in link was issued to, or None if it is forged, old or used."""
    try:
        data = signing.loads(token, salt=SIGN_IN_SALT, max_age=settings.SIGN_IN_LINK_MINUTES * 60)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    # A token without "u" filters on pk=None, which matches no user.
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()  # type: ignore[misc]
    if user is None or not hmac.compare_digest(_sign_in_fingerprint(user), str(data.get("f"))):
        return None
    return user


def send_sign_in_link(*, email: str, client: str, request: HttpRequest | None = None) -> bool:
    """Email a one-time sign-in link to the account with this address, if there is one.

    Throttled per address and per client (no mail bombing); the caller answers the same
    whether or not anything was sent. The link skips only the password: the second factor is
    still asked. Returns whether an email went out.
    """
    email = email.strip().lower()
    window = 15 * 60
    too_many = [
        throttle_hit(f"{SIGN_IN_PREFIX}:email:{hash_token(email)}", window)
        > settings.SIGN_IN_LINK_REQUESTS_PER_EMAIL,
        throttle_hit(f"{SIGN_IN_PREFIX}:client:{client}", window)
        > settings.SIGN_IN_LINK_REQUESTS_PER_CLIENT,
    ]
    if any(too_many):
        return False
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return False
    send_portal_email(
        to=user.email,
        subject="Your sign-in link",
        template="accounts/email/sign_in_link.txt",
        context={"link": sign_in_link(user), "minutes": settings.SIGN_IN_LINK_MINUTES},
    )
    record(request, AuditEvent.Action.SECURITY, user, description="Sign-in link sent by email")
    return True


# Registration: identity questions -----------------------------------------------------------

FALLBACK_CITIES = [
    "Springfield",
    "Riverside",
    "Fairview",
    "Franklin",
    "Greenville",
    "Madison",
    "Clinton",
    "Arlington",
    "Georgetown",
    "Salem",
    "Bristol",
    "Dover",
    "Oxford",
    "Jackson",
    "Milton",
]


@dataclass
class Question:
    name: str
    label: str
    answer: str
    choices: list[str]


def _seeded(npi: str, what: str) -> random.Random:
    # Decoys are the same on every attempt for one NPI: comparing attempts reveals nothing.
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{npi}:{what}".encode(), hashlib.sha256)
    return random.Random(digest.hexdigest())


def _decoys(
    rng: random.Random, answer: str, pool: list[str], make: Callable[[random.Random], str]
) -> list[str]:
    options = [v for v in dict.fromkeys(pool) if v and v != answer]
    rng.shuffle(options)
    picked = options[:3]
    while len(picked) < 3:
        candidate = make(rng)
        if candidate != answer and candidate not in picked:
            picked.append(candidate)
    return picked


def identity_questions(prescriber: Prescriber) -> list[Question]:
    """Three multiple-choice questions from the directory record, with plausible decoys."""
    npi = prescriber.npi
    others = Prescriber.objects.exclude(pk=prescriber.pk)
    zip5 = (prescriber.zip_code or "")[:5]
    rng = _seeded(npi, "zip")
    nearby_zips = list(
        others.filter(zip_code__startswith=zip5[:3]).values_list("zip_code", flat=True)[:20]
    )
    zip_decoys = _decoys(
        rng,
        zip5,
        [z[:5] for z in nearby_zips],
        lambda r: f"{zip5[:3] or r.randint(100, 999)}{r.randint(0, 99):02d}",
    )
    rng = _seeded(npi, "city")
    city_pool = list(others.exclude(city="").values_list("city", flat=True).distinct()[:50])
    city_decoys = _decoys(
        rng, prescriber.city, city_pool + FALLBACK_CITIES, lambda r: r.choice(FALLBACK_CITIES)
    )
    digits = "".join(c for c in prescriber.phone if c.isdigit())
    last4 = digits[-4:]
    rng = _seeded(npi, "phone")
    phone_decoys = _decoys(rng, last4, [], lambda r: f"{r.randint(0, 9999):04d}")

    questions = [
        Question(
            "zip_code", "What is the ZIP code of your practice address?", zip5, [zip5, *zip_decoys]
        ),
        Question(
            "city",
            "In which city is your practice?",
            prescriber.city,
            [prescriber.city, *city_decoys],
        ),
        Question(
            "phone_last4",
            "What are the last four digits of your practice phone number?",
            last4,
            [last4, *phone_decoys],
        ),
    ]
    shuffle = random.SystemRandom()
    for question in questions:
        question.choices = sorted(question.choices) if question.name != "city" else question.choices
        shuffle.shuffle(question.choices)
    shuffle.shuffle(questions)
    return questions


def _attempt_keys(npi: str, client: str) -> list[str]:
    return [f"{ATTEMPT_PREFIX}:npi:{npi}", f"{ATTEMPT_PREFIX}:client:{client}"]


def verification_locked(npi: str, client: str) -> bool:
    keys = _attempt_keys(npi, client)
    counts = throttle_counts(keys)
    return (
        counts[keys[0]] >= settings.REGISTRATION_VERIFY_MAX_ATTEMPTS
        or counts[keys[1]] >= settings.REGISTRATION_VERIFY_MAX_ATTEMPTS_PER_CLIENT
    )


def count_failed_verification(npi: str, client: str) -> None:
    window = settings.REGISTRATION_VERIFY_WINDOW_MINUTES * 60
    for key in _attempt_keys(npi, client):
        throttle_hit(key, window)


# Registration: accounts ---------------------------------------------------------------------


def send_portal_email(*, to: str, subject: str, template: str, context: dict) -> None:
    """Email through Django's API. Messages never contain patient data."""
    context = {
        "PRODUCT_NAME": settings.PRODUCT_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        **context,
    }
    body = render_to_string(template, context)
    send_mail(f"{settings.PRODUCT_NAME}: {subject}", body, None, [to])


def queue_portal_email(*, to: str, subject: str, template: str, context: dict) -> None:
    """`send_portal_email` from a background task (the context must be JSON: strings)."""
    from .tasks import send_portal_email_task

    send_portal_email_task.enqueue(to, subject, template, context)


def register_prescriber(
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str,
    npi: str,
    password: str,
    request: HttpRequest | None = None,
) -> User | None:
    """Create the prescriber account, or, when the email or the NPI already has an account,
    only tell that account's owner (no patient data in either email).

    The caller answers the same either way, and it takes as long: the password is hashed and
    one email is queued in every case (no account enumeration, by text or by timing).
    """
    email = email.strip().lower()
    hashed = make_password(password)
    links = {
        "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        "reset_url": settings.SITE_URL + reverse("accounts:password_reset"),
    }
    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        with transaction.atomic():
            prescriber = Prescriber.objects.select_for_update().get(npi=npi)
            owner = User.objects.filter(prescriber=prescriber).first()
            if owner is None:
                user = User.objects.create(
                    email=email,
                    password=hashed,
                    first_name=first_name,
                    last_name=last_name,
                    phone=phone,
                    role=User.Role.PRESCRIBER,
                    prescriber=prescriber,
                )
        if owner is None:
            queue_portal_email(
                to=email,
                subject="Your account is ready",
                template="accounts/email/registered.txt",
                context=links,
            )
            record(
                request,
                AuditEvent.Action.CREATE,
                user,
                user=user,
                description=f"Prescriber registered (NPI {npi})",
            )
            return user
    queue_portal_email(
        to=owner.email,
        subject="Registration attempt",
        template="accounts/email/already_registered.txt",
        context=links,
    )
    record(
        request,
        AuditEvent.Action.SECURITY,
        owner,
        description=f"Registration attempt for an existing account (NPI {npi})",
    )
    return None


# Invitations --------------------------------------------------------------------------------


def invite_link(invite: DelegateInvite, raw: str) -> str:
    token = signing.dumps({"i": invite.pk, "t": raw}, salt=INVITE_SALT, compress=True)
    return settings.SITE_URL + reverse("accounts:invite", args=[token])


def send_invite(invite: DelegateInvite) -> None:
    """Issue a fresh link secret and email it (also used to resend)."""
    raw = invite.new_secret()
    invite.save(update_fields=["token_hash", "sent_at"])
    if invite.role == User.Role.PHARMACIST:
        inviter = invite.care_group.pharmacy.name if invite.care_group else settings.PRODUCT_NAME
    else:
        inviter = invite.prescriber.display_name if invite.prescriber else "A prescriber"
    send_portal_email(
        to=invite.email,
        subject="Complete your registration",
        template="accounts/email/invite.txt",
        context={
            "invite": invite,
            "inviter": inviter,
            "link": invite_link(invite, raw),
            "days": settings.DELEGATE_INVITE_MAX_AGE_DAYS,
        },
    )


def invite_delegate(
    *, prescriber: Prescriber, email: str, invited_by: User, request: HttpRequest | None = None
) -> DelegateInvite:
    """Invite `email` to act for `prescriber`; a pending invite to the same email is resent."""
    return _invite(User.Role.DELEGATE, email, invited_by, request, prescriber=prescriber)


def invite_pharmacist(
    *, care_group: CareGroup, email: str, invited_by: User, request: HttpRequest | None = None
) -> DelegateInvite:
    """Invite `email` as a pharmacist of `care_group`; a pending invite is resent."""
    return _invite(User.Role.PHARMACIST, email, invited_by, request, care_group=care_group)


def _invite(
    role: str, email: str, invited_by: User, request: HttpRequest | None, **target: Any
) -> DelegateInvite:
    email = email.strip().lower()
    invite = (
        DelegateInvite.objects.pending().filter(email__iexact=email, role=role, **target).first()
    )
    if invite is None:
        invite = DelegateInvite.objects.create(
            email=email, invited_by=invited_by, role=role, **target
        )
    send_invite(invite)
    label = "Delegate" if role == User.Role.DELEGATE else "Pharmacist"
    record(request, AuditEvent.Action.CREATE, invite, description=f"{label} invite to {email}")
    return invite


class InviteError(Exception):
    """Why an invite link cannot be used; the message is shown to the person."""


def invite_from_token(token: str) -> DelegateInvite:
    """The pending invite behind a link, or InviteError saying why it is not usable."""
    try:
        data = signing.loads(
            token, salt=INVITE_SALT, max_age=settings.DELEGATE_INVITE_MAX_AGE_DAYS * 86400
        )
    except signing.SignatureExpired as exc:
        raise InviteError("This invitation link has expired. Ask for a new invitation.") from exc
    except signing.BadSignature as exc:
        raise InviteError("This invitation link is not valid.") from exc
    invite = DelegateInvite.objects.filter(pk=data.get("i")).first()
    if invite is None or not hmac.compare_digest(invite.token_hash, hash_token(str(data.get("t")))):
        # A resent invite replaces the older link.
        raise InviteError(
            "This invitation link is no longer valid. Use the most recent invitation email."
        )
    if invite.status == DelegateInvite.Status.ACCEPTED:
        raise InviteError("This invitation has already been used. Sign in with your account.")
    if invite.status == DelegateInvite.Status.REVOKED:
        raise InviteError("This invitation was withdrawn.")
    if invite.is_expired:
        raise InviteError("This invitation link has expired. Ask for a new invitation.")
    return invite


def accept_invite(
    *, invite: DelegateInvite, user: User, request: HttpRequest | None = None
) -> None:
    """Link `user` to what the invite grants and mark it used (once)."""
    with transaction.atomic():
        locked = DelegateInvite.objects.select_for_update().get(pk=invite.pk)
        if locked.status != DelegateInvite.Status.PENDING:
            raise InviteError("This invitation has already been used. Sign in with your account.")
        if locked.role == User.Role.DELEGATE and locked.prescriber_id:
            delegation, created = Delegation.objects.get_or_create(
                delegate=user, prescriber_id=locked.prescriber_id
            )
            if not created and delegation.revoked_at:
                delegation.revoked_at = None
                delegation.save(update_fields=["revoked_at"])
        elif locked.role == User.Role.PHARMACIST and locked.care_group is not None:
            locked.care_group.pharmacists.add(user)
        locked.status = DelegateInvite.Status.ACCEPTED
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["status", "accepted_at", "accepted_by"])
    record(
        request,
        AuditEvent.Action.UPDATE,
        locked,
        user=user,
        description=f"Invite accepted by {user.email}",
    )
    invite_accepted.send(sender=DelegateInvite, invite=locked, user=user)


def register_from_invite(
    *, invite: DelegateInvite, data: dict[str, Any], request: HttpRequest | None = None
) -> User:
    user = User.objects.create_user(
        data["email"].strip().lower(),
        data["password1"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        phone=data.get("phone", ""),
        role=invite.role,
    )
    accept_invite(invite=invite, user=user, request=request)
    return user
