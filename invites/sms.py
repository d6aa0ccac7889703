"""Pluggable SMS backends, chosen by settings.SMS_BACKEND (like Django's EMAIL_BACKEND).

- ConsoleSMSBackend (default): prints the message; for development.
- FileSMSBackend: appends one JSON line per message to SMS_FILE_PATH; for tests and demos.
- LocmemSMSBackend: keeps messages in `outbox` (module level); for unit tests.
- HTTPSMSBackend: POSTs JSON {"to", "body"} to SMS_PROVIDER_URL with a bearer token.
"""

from __future__ import annotations

import json
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

# GSM 03.38: the 7-bit alphabet every phone reads. One message segment holds 160 of its
# characters (the extension characters take two); a single character outside it switches the
# whole text to UCS-2, and one segment then holds only 70.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
SEGMENT = 160
# Look-alikes spreadsheets and word processors type, mapped to plain GSM-7.
LOOKALIKES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


def gsm7_length(text: str) -> int | None:
    """Septets `text` takes in GSM-7, or None when a character is outside the alphabet."""
    length = 0
    for ch in text:
        if ch in GSM7_BASIC:
            length += 1
        elif ch in GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length


def to_gsm7(text: str) -> str:
    """`text` in the GSM-7 basic alphabet: accents dropped where needed, the rest left out."""
    out = []
    for ch in text.translate(LOOKALIKES):
        if ch in GSM7_BASIC and ch not in "\r\n":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            out.extend(c for c in unicodedata.normalize("NFKD", ch) if c in GSM7_BASIC)
    return " ".join("".join(out).split())


class SMSError(Exception):
    """The provider refused or could not be reached; the message says why.

    `transient` is true when trying again later may work (the provider timed out, could not be
    reached, or answered 429/5xx); the delivery task is then retried by the worker.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class BaseSMSBackend:
    def send(self, *, to: str, body: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str) -> None:
        sys.stdout.write(f"SMS to {to}:\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()


class FileSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str) -> None:
        path = Path(
            getattr(settings, "SMS_FILE_PATH", "")
            or Path(settings.BASE_DIR) / "artifacts" / "sms.jsonl"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"to": to, "body": body}) + "\n")


outbox: list[dict[str, str]] = []


class LocmemSMSBackend(BaseSMSBackend):
    def send(self, *, to: str, body: str) -> None:
        outbox.append({"to": to, "body": body})


class HTTPSMSBackend(BaseSMSBackend):
    @property
    def timeout(self) -> float:
        # Connect and each read; settings.SMS_TIMEOUT (the outbound timeouts group).
        return getattr(settings, "SMS_TIMEOUT", 10)

    def send(self, *, to: str, body: str) -> None:
        url = settings.SMS_PROVIDER_URL
        if not url:
            raise SMSError("No SMS provider is configured (SMS_PROVIDER_URL).")
        if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
            raise SMSError("SMS_PROVIDER_URL must be an http(s) URL.")
        request = urllib.request.Request(
            url,
            data=json.dumps({"to": to, "body": body}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_PROVIDER_TOKEN}",
            },
        )
        try:
            # The scheme is checked above (no file: or custom schemes) and a timeout is set.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 # nosec B310
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace").strip()
            raise SMSError(
                f"SMS provider answered {exc.code}{': ' + detail if detail else ''}",
                transient=exc.code == 429 or exc.code >= 500,
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SMSError(f"SMS provider unreachable: {reason}", transient=True) from exc


HttpSMSBackend = HTTPSMSBackend  # the spelling .env.example uses


def get_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str) -> None:
    get_backend().send(to=to, body=body)
