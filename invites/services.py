"""Writes with side effects: creating invites, queueing deliveries, CSV import, joining."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.security import hash_token, throttle_hit

from .models import (
    Clinic,
    ClinicMembership,
    ClinicPatient,
    ImportReport,
    Invite,
    default_expiry,
    generate_code,
)
from .validation import PatientIndex, validate_patient

if TYPE_CHECKING:
    from accounts.models import User

CSV_HEADER = ["First Name", "Last Name", "Email", "Mobile Number"]
CSV_FIELDS = ["first_name", "last_name", "email", "mobile"]
CSV_MAX_ROWS = getattr(settings, "INVITE_CSV_MAX_ROWS", 10_000)
CSV_MAX_BYTES = getattr(settings, "INVITE_CSV_MAX_BYTES", 2 * 1024 * 1024)
# Deliveries are queued in batches: one task per batch keeps a 10,000-row import quick.
DELIVERY_BATCH = 200
# Code entry throttles (per client address; failures for everyone together), per window.
CODE_WINDOW_SECONDS = 15 * 60
CODE_ATTEMPTS_PER_IP = getattr(settings, "INVITE_CODE_ATTEMPTS_PER_IP", 10)
CODE_ATTEMPTS_GLOBAL = getattr(settings, "INVITE_CODE_ATTEMPTS_GLOBAL", 300)
THROTTLE_PREFIX = "invites:code"

logger = logging.getLogger(__name__)


# Creating and delivering ---------------------------------------------------------------------


EXISTING = "existing"


def known_patients(clinic: Clinic) -> PatientIndex:
    """Everyone already invited (not removed) to, or joined, this clinic, tagged EXISTING."""
    index = PatientIndex()
    # Guardians invited for a chart (patient_portal's ProxyInvite) are not patients.
    rows = Invite.objects.filter(
        clinic=clinic, removed_at__isnull=True, proxy__isnull=True
    ).values_list("first_name", "last_name", "email", "mobile", "date_of_birth")
    for first, last, email, mobile, dob in rows:
        index.add(EXISTING, first=first, last=last, email=email, mobile=mobile, date_of_birth=dob)
    joined = ClinicPatient.objects.filter(clinic=clinic).values_list(
        "user__first_name", "user__last_name", "user__email", "user__phone"
    )
    for first, last, email, phone in joined:
        index.add(EXISTING, first=first, last=last, email=email, mobile=phone)
    return index


def find_known(index: PatientIndex, patient: dict) -> object | None:
    """The tag of the record in `index` that is the same person as `patient`, or None."""
    return index.find(
        first=patient["first_name"],
        last=patient["last_name"],
        email=patient.get("email", ""),
        mobile=patient.get("mobile", ""),
        date_of_birth=patient.get("date_of_birth"),
    )


def remember(index: PatientIndex, tag: object, patient: dict) -> None:
    index.add(
        tag,
        first=patient["first_name"],
        last=patient["last_name"],
        email=patient.get("email", ""),
        mobile=patient.get("mobile", ""),
        date_of_birth=patient.get("date_of_birth"),
    )


def _fresh_codes(count: int) -> list[str]:
    taken = set(Invite.objects.live().values_list("code", flat=True))
    codes: list[str] = []
    while len(codes) < count:
        code = generate_code()
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def create_invites(
    *, clinic: Clinic, provider: ClinicMembership, patients: list[dict], invited_by: User
) -> list[Invite]:
    """Bulk-create invites with codes unique among live invites (retried on a rare race)."""
    for attempt in range(3):
        codes = _fresh_codes(len(patients))
        now = timezone.now()
        invites = [
            Invite(
                clinic=clinic,
                provider=provider,
                invited_by=invited_by,
                invited_at=now,
                expires_at=default_expiry(),
                code=code,
                first_name=p["first_name"],
                last_name=p["last_name"],
                email=p.get("email", ""),
                mobile=p.get("mobile", ""),
            )
            for p, code in zip(patients, codes, strict=True)
        ]
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    created = _copy_insert(invites)
                else:
                    created = Invite.objects.bulk_create(invites, batch_size=500)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        if not created or created[0].pk is None:
            # Backends without RETURNING: read the ids back by their (unique, live) codes.
            by_code = dict(Invite.objects.live().filter(code__in=codes).values_list("code", "pk"))
            for invite in created:
                invite.pk = by_code[invite.code]
        return created
    return []


def _copy_insert(invites: list[Invite]) -> list[Invite]:
    """PostgreSQL: the invites COPY'd to a temporary staging table, then one INSERT … SELECT
    that returns their ids (Django's bulk_create spends most of a large import compiling and
    binding its INSERTs). The same constraints apply: a code taken meanwhile by a live invite
    raises IntegrityError, as with bulk_create."""
    fields = [f for f in Invite._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
    table = connection.ops.quote_name(Invite._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS invite_import ON COMMIT DROP AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE invite_import")
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY invite_import ({columns}) FROM STDIN") as copy,
        ):
            for invite in invites:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(invite, True), connection) for f in fields]
                )
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM invite_import RETURNING id, code"
        )
        ids = {code: pk for pk, code in cursor.fetchall()}
    for invite in invites:
        invite.pk = ids[invite.code]
        invite._state.adding = False
    return invites


def queue_deliveries(invites: list[Invite]) -> None:
    """Queue email/SMS for invites that have an address; nothing is sent inline."""
    from .tasks import deliver_invites

    ids = [i.pk for i in invites if i.email or i.mobile]
    for start in range(0, len(ids), DELIVERY_BATCH):
        deliver_invites.enqueue(ids[start : start + DELIVERY_BATCH])


@dataclass
class InviteOutcome:
    invited: list[Invite] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)


def invite_patients(
    *, clinic: Clinic, provider: ClinicMembership, patients: list[dict], invited_by: User
) -> InviteOutcome:
    """Invite already-validated patients; skip anyone already invited to or joined the clinic."""
    outcome = InviteOutcome()
    seen = known_patients(clinic)
    fresh = []
    for patient in patients:
        # The same person twice; a shared phone number alone is no reason to skip.
        if find_known(seen, patient) is not None:
            outcome.duplicates.append(patient)
            continue
        remember(seen, "form", patient)
        fresh.append(patient)
    if fresh:
        outcome.invited = create_invites(
            clinic=clinic, provider=provider, patients=fresh, invited_by=invited_by
        )
        queue_deliveries(outcome.invited)
    return outcome


def resend_invite(*, invite: Invite) -> None:
    """Send again with a fresh expiry (and link); works after Error Sending and expiry."""
    invite.status = Invite.Status.PENDING
    invite.error_reason = ""
    invite.expires_at = default_expiry()
    invite.failed_attempts = 0
    invite.sent_at = None  # the delivery task sends only invites not sent yet
    if Invite.objects.live().filter(code=invite.code).exclude(pk=invite.pk).exists():
        invite.code = _fresh_codes(1)[0]
    invite.save(
        update_fields=["status", "error_reason", "expires_at", "failed_attempts", "code", "sent_at"]
    )
    queue_deliveries([invite])


def invite_message(invite: Invite, token: str) -> tuple[str, str]:
    """Subject and text of an invitation: the clinic's name, the link and the code only."""
    from django.urls import reverse

    base = settings.SITE_URL.rstrip("/")
    link = base + reverse("invites:join_link", args=[token])
    code_page = base + reverse("invites:join_code")
    subject = f"{invite.clinic.name} invites you to its virtual clinic"
    body = (
        f"Hello {invite.first_name},\n\n"
        f"{invite.clinic.name} has invited you to join its virtual clinic on {settings.PRODUCT_NAME}.\n\n"
        f"Join here: {link}\n\n"
        f"Or go to {code_page} and enter your invite code {invite.code}.\n"
        f"The invitation expires on {expiry_text(invite.expires_at)}.\n"
    )
    return subject, body


def expiry_text(moment: dt.datetime) -> str:
    """ "December 15, 2026 at 2:05 PM UTC": the clinic has no time zone of its own and the
    reader's is unknown in an email, so the moment is given in UTC, and says so."""
    utc = moment.astimezone(dt.UTC)
    return f"{utc:%B} {utc.day}, {utc.year} at {utc.hour % 12 or 12}:{utc:%M %p} UTC"


# Shorter and shorter wordings of the SMS; the first that fits one segment is sent.
SMS_WORDINGS = (
    "{clinic} invites {who} to its patient portal: {link} Code: {code}",
    "{clinic} invites {who}: {link} Code {code}",
)
SMS_NAME_MAX = 20


def invite_sms(invite: Invite, token: str, *, name_recipient: bool = False) -> str:
    """One SMS segment (GSM-7, at most 160 characters): the clinic, the link and the code.

    No health information. When several invites share the phone (`name_recipient`), the
    patient's first name says whom it is for. A long clinic name is cut short to fit.
    """
    from django.urls import reverse

    from .sms import SEGMENT, gsm7_length, to_gsm7

    link = settings.SITE_URL.rstrip("/") + reverse("invites:join_link", args=[token])
    who = to_gsm7(invite.first_name)[:SMS_NAME_MAX].strip() if name_recipient else ""
    fields = {"who": who or "you", "link": link, "code": invite.code}
    clinic = to_gsm7(invite.clinic.name) or "Your clinic"
    for wording in SMS_WORDINGS:
        text = wording.format(clinic=clinic, **fields)
        if (gsm7_length(text) or SEGMENT + 1) <= SEGMENT:
            return text
    # Even the short wording is too long: abbreviate the clinic's name (ending with ".").
    text = SMS_WORDINGS[-1].format(clinic="", **fields)
    room = SEGMENT - (gsm7_length(text) or 0) - 1
    short = clinic
    while short and (gsm7_length(short) or 0) > room:
        short = short[:-1]
    short = short.rstrip(" .,-&'")
    return SMS_WORDINGS[-1].format(clinic=short + "." if short else "Your clinic", **fields)


def shares_phone(invite: Invite) -> bool:
    """Whether another invite a patient may still accept was sent to this mobile number."""
    return (
        bool(invite.mobile)
        and Invite.objects.live().filter(mobile=invite.mobile).exclude(pk=invite.pk).exists()
    )


def deliver_invite(invite: Invite, *, shared_phone: bool | None = None) -> bool:
    """Send one invite by email and/or SMS, once; a failure marks it Error Sending with the
    reason. Returns True when nothing went out for a passing reason (a provider timed out or
    was unreachable), so the task should try again later.

    `shared_phone` (computed when None) names the patient in the SMS when several invites
    went to one number.

    Idempotent: the row is locked and its `sent_at` checked in the transaction that sends and
    marks it, so a task run again (retry, lost worker) sends nothing twice. When one channel
    went out and the other failed, the invite is marked sent with the error (no automatic retry:
    it would mint a new link and send the first channel twice); Resend sends both again.
    """
    from django.core.mail import send_mail

    from portal.tasks import is_transient

    from .sms import send_sms

    with transaction.atomic():
        locked = (
            Invite.objects.select_for_update().select_related("clinic").filter(pk=invite.pk).first()
        )
        if locked is None or not locked.is_live or locked.sent_at is not None:
            return False
        invite = locked
        token = invite.mint_token()
        subject, body = invite_message(invite, token)
        errors: list[str] = []
        transient: list[bool] = []
        delivered = False
        if invite.email:
            try:
                send_mail(subject, body, None, [invite.email])
                delivered = True
            except Exception as exc:  # SMTP and friends raise many kinds
                errors.append(f"Email failed: {exc}")
                transient.append(is_transient(exc))
        if invite.mobile:
            try:
                if shared_phone is None:
                    shared_phone = shares_phone(invite)
                text = invite_sms(invite, token, name_recipient=shared_phone)
                send_sms(to=invite.mobile, body=text)
                delivered = True
            except Exception as exc:  # SMSError, or a backend's own error
                errors.append(str(exc))
                transient.append(is_transient(exc))
        if not errors:
            invite.mark_sent()
            return False
        invite.mark_error("; ".join(errors))
        if delivered:
            invite.sent_at = timezone.now()
            invite.save(update_fields=["sent_at"])
            return False
        return all(transient)


# CSV import ----------------------------------------------------------------------------------


class CSVRefused(Exception):
    """The whole file is refused; the message says why."""


@dataclass
class RowResult:
    line: int
    values: dict
    outcome: str  # "invited", "duplicate", "rejected"
    reason: str = ""


OUTCOME_LABELS = {
    "invited": "Invited",
    "duplicate": "Skipped (duplicate)",
    "ready": "Not invited (file has errors)",
    "rejected": "Rejected",
}
# The result page lists at most this many rows with a problem; the report has every row.
PROBLEM_ROWS_SHOWN = 200
REPORT_HEADER = ["Row", *CSV_HEADER, "Result", "Reason"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ImportResult:
    rows: list[RowResult]

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)

    @cached_property
    def counts(self) -> Counter[str]:
        return Counter(r.outcome for r in self.rows)

    @property
    def ready(self) -> int:
        return self.count("ready")

    @cached_property
    def problems(self) -> list[RowResult]:
        """The rows that were not invited for a reason of their own (rejected, duplicate)."""
        return [r for r in self.rows if r.outcome in ("rejected", "duplicate")]

    @property
    def problems_shown(self) -> list[RowResult]:
        return self.problems[:PROBLEM_ROWS_SHOWN]

    @property
    def problems_hidden(self) -> int:
        return max(0, len(self.problems) - PROBLEM_ROWS_SHOWN)

    @property
    def invited(self) -> int:
        return self.count("invited")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")


def _cell(value: object) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ tab or CR gets a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def report_csv(result: ImportResult) -> str:
    """Every row of the file with what happened to it, as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_HEADER)
    for r in result.rows:
        values = r.values
        writer.writerow(
            [
                r.line,
                *(_cell(values.get(name, "")) for name in CSV_FIELDS),
                OUTCOME_LABELS.get(r.outcome, r.outcome),
                _cell(r.reason),
            ]
        )
    return out.getvalue()


def save_import_report(
    *, clinic: Clinic, user: User, filename: str, result: ImportResult
) -> ImportReport:
    """Keep the full report for download; reports older than REPORT_HOURS go now."""
    ImportReport.objects.filter(
        created_at__lt=timezone.now() - dt.timedelta(hours=ImportReport.REPORT_HOURS)
    ).delete()
    return ImportReport.objects.create(
        clinic=clinic, created_by=user, filename=filename[:255], content=report_csv(result)
    )


def header_difference(header: list[str]) -> str:
    """A message naming how `header` differs from the template's header row."""
    expected = ", ".join(CSV_HEADER)
    missing = [c for c in CSV_HEADER if c not in header]
    extra = [c for c in header if c not in CSV_HEADER]
    parts = []
    renamed = [
        (got, want)
        for got, want in zip(header, CSV_HEADER, strict=False)
        if got != want and got not in CSV_HEADER and want not in header
    ]
    if len(header) == len(CSV_HEADER) and renamed and len(renamed) == len(missing) == len(extra):
        parts += [f'the column "{got}" should be named "{want}"' for got, want in renamed]
    else:
        if missing:
            parts.append(
                "missing column"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(f'"{c}"' for c in missing)
            )
        if extra:
            parts.append(
                "unexpected column"
                + ("s " if len(extra) > 1 else " ")
                + ", ".join(f'"{c}"' for c in extra or ["(blank)"])
            )
    if not parts:
        parts.append("the columns are in a different order")
    return (
        f"The header row does not match the CSV template: {'; '.join(parts)}. "
        f"Row 1 must be exactly: {expected}. Nothing was imported."
    )


def read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    """Decode and parse an uploaded file into (line number, cells) data rows, or refuse it."""
    if len(data) > CSV_MAX_BYTES:
        raise CSVRefused(
            f"The file is larger than {CSV_MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    if b"\x00" in data:
        raise CSVRefused(
            "This file is not a CSV text file. Save it from your spreadsheet as CSV and try again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CSVRefused(
            "The file is not UTF-8 encoded. In your spreadsheet choose "
            '"CSV UTF-8 (Comma delimited)" when saving, and import it again.'
        ) from None
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text[:4096]):
        raise CSVRefused(
            "This file is not a CSV text file. Save it from your spreadsheet as CSV and try again."
        )
    try:
        parsed = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CSVRefused(f"The file could not be read as CSV ({exc}).") from None
    if not parsed or not any(c.strip() for c in parsed[0]):
        raise CSVRefused("The file is empty. Use the CSV template and add one patient per row.")
    header = [c.strip() for c in parsed[0]]
    if header != CSV_HEADER:
        raise CSVRefused(header_difference(header))
    rows = [
        (n, cells) for n, cells in enumerate(parsed[1:], start=2) if any(c.strip() for c in cells)
    ]
    if not rows:
        raise CSVRefused(
            "The file has no patient rows. Add one patient per row, starting on row 2."
        )
    if len(rows) > CSV_MAX_ROWS:
        raise CSVRefused(
            f"The file has {len(rows):,} patient rows; at most {CSV_MAX_ROWS:,} can be imported at once. "
            "Split it into smaller files."
        )
    return rows


def import_invites(
    *, clinic: Clinic, provider: ClinicMembership, data: bytes, invited_by: User
) -> ImportResult:
    """Validate every row, then (only if none is rejected) invite the new patients at once.

    Raises CSVRefused when the file itself is unusable. Rows that duplicate an invite or patient
    of the clinic, or an earlier row of the file, are skipped; they never block the import.
    """
    rows = read_csv(data)
    seen = known_patients(clinic)
    results: list[RowResult] = []
    for line, cells in rows:
        padded = (cells + [""] * 4)[:4]
        values, errors = validate_patient(*padded)
        if len(cells) > 4 and any(c.strip() for c in cells[4:]):
            results.append(
                RowResult(
                    line, values, "rejected", f"Row has {len(cells)} cells; the template has 4."
                )
            )
            continue
        if errors:
            results.append(RowResult(line, values, "rejected", " ".join(errors.values())))
            continue
        match = find_known(seen, values)
        if match == EXISTING:
            results.append(
                RowResult(line, values, "duplicate", "Already invited to or joined this clinic.")
            )
            continue
        if match is not None:
            results.append(RowResult(line, values, "duplicate", f"Same patient as row {match}."))
            continue
        remember(seen, line, values)
        results.append(RowResult(line, values, "invited"))
    if any(row.outcome == "rejected" for row in results):
        # Nothing is sent until every row is right: the page lists what to fix.
        for row in results:
            if row.outcome == "invited":
                row.outcome = "ready"
        return ImportResult(results)
    result = ImportResult(results)
    to_invite = [r.values for r in results if r.outcome == "invited"]
    if to_invite:
        created = create_invites(
            clinic=clinic, provider=provider, patients=to_invite, invited_by=invited_by
        )
        queue_deliveries(created)
    return result


# Joining -------------------------------------------------------------------------------------


class Throttled(Exception):
    pass


def find_invite_by_code(
    *, code: str, last_name: str = "", date_of_birth: dt.date | None = None, client: str
) -> Invite | None:
    """The live invite matching the code AND the patient's last name (or date of birth).

    `client` is the trusted client address (`portal.security.client_ip`). Two throttles:

    - per client: past CODE_ATTEMPTS_PER_IP failed attempts in the window, every attempt from
      that client is refused (Throttled), the right one too;
    - for everyone together: failures only are counted, and past CODE_ATTEMPTS_GLOBAL only
      failures are refused. A flood of wrong guesses from many addresses must not turn away
      the patients who type their right code and name.

    A right code with the wrong name also counts against the invite, which retires after five.
    """
    client_key = f"{THROTTLE_PREFIX}:ip:{client}"
    # Counted before the lookup, so that concurrent requests cannot all slip under the limit;
    # a success is handed back below.
    if throttle_hit(client_key, CODE_WINDOW_SECONDS) > CODE_ATTEMPTS_PER_IP:
        raise Throttled
    invite = _matching_invite(code, last_name, date_of_birth)
    if invite is not None:
        with contextlib.suppress(ValueError):  # the window ended meanwhile
            cache.decr(client_key)
        return invite
    failures = throttle_hit(f"{THROTTLE_PREFIX}:all", CODE_WINDOW_SECONDS)
    if failures == CODE_ATTEMPTS_GLOBAL + 1:
        logger.warning(
            "Invite codes: %s failed attempts from all clients in %s minutes; refusing failures",
            failures,
            CODE_WINDOW_SECONDS // 60,
        )
    if failures > CODE_ATTEMPTS_GLOBAL:
        raise Throttled
    return None


def _matching_invite(code: str, last_name: str, date_of_birth: dt.date | None) -> Invite | None:
    invite = Invite.objects.live().select_related("clinic").filter(code=code.strip()).first()
    if invite is None:
        return None
    if invite.date_of_birth and date_of_birth:
        matches = invite.date_of_birth == date_of_birth
    else:
        matches = (
            bool(last_name) and invite.last_name.strip().casefold() == last_name.strip().casefold()
        )
    if not matches:
        invite.record_wrong_attempt()
        return None
    return invite


def find_invite_by_token(token: str) -> Invite | None:
    return (
        Invite.objects.live()
        .select_related("clinic", "provider__user")
        .filter(token_hash=hash_token(token))
        .first()
    )


@transaction.atomic
def accept_invite(*, invite: Invite, user: User) -> ClinicPatient | None:
    """Link the patient to the invite's clinic and provider; the invite becomes Accepted.

    A guardian's invite (patient_portal's ProxyInvite) grants proxy access to the chart it
    names instead, and links nobody to the clinic as a patient (None).
    """
    # The patient portal sits above this app: called lazily.
    from patient_portal.services import accept_proxy_invite

    invite = Invite.objects.select_for_update().get(pk=invite.pk)
    link = None
    if accept_proxy_invite(invite=invite, user=user) is None:
        link, _ = ClinicPatient.objects.get_or_create(
            clinic=invite.clinic,
            user=user,
            defaults={"provider": invite.provider, "invite": invite},
        )
    invite.status = Invite.Status.ACCEPTED
    invite.accepted_at = timezone.now()
    invite.token_hash = None
    invite.save(update_fields=["status", "accepted_at", "token_hash"])
    return link


def join_with_new_account(*, invite: Invite, email: str, password: str) -> User | None:
    """Create the patient's account and join the invite's clinic with it; or, when the email
    already has an account, create nothing and tell that account's owner by email.

    The caller answers the same either way, and it takes as long: the password is hashed and
    one email (no patient data, not even the clinic's name) is queued in every case.
    """
    from django.contrib.auth.hashers import make_password
    from django.urls import reverse

    from accounts.models import User
    from accounts.services import queue_portal_email

    email = email.strip().lower()
    hashed = make_password(password)
    links = {
        "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        "reset_url": settings.SITE_URL + reverse("accounts:password_reset"),
    }
    user = None
    if not User.objects.filter(email__iexact=email).exists():
        try:
            with transaction.atomic():
                user = User.objects.create(
                    email=email,
                    password=hashed,
                    first_name=invite.first_name,
                    last_name=invite.last_name,
                    phone=invite.mobile,
                    role=User.Role.PATIENT,
                )
                accept_invite(invite=invite, user=user)
        except IntegrityError:  # the same email registered a moment ago
            user = None
    queue_portal_email(
        to=email,
        subject="Your account is ready" if user else "Account creation attempt",
        template="invites/email/account_created.txt"
        if user
        else "invites/email/account_exists.txt",
        context=links,
    )
    return user
