"""Forms of Messages: compose (patient), reply (both sides), the clinic inbox's filters."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from django import forms

from .attachments import (
    ACCEPT,
    ATTACHMENT_MAX_BYTES,
    MAX_ATTACHMENTS,
    CheckedAttachment,
    InvalidAttachment,
    check_attachment,
)
from .models import BODY_MAX, SUBJECT_MAX, Thread

# Tab, line feed and carriage return may stand in a message; no other control character.
ALLOWED_CONTROLS = {"\t", "\n", "\r"}
# Bidirectional overrides and isolates can disguise text ("Trojan Source"): refused too.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refuse_controls(value: str, *, field: str, multiline: bool) -> str:
    for char in value:
        if char in ALLOWED_CONTROLS and multiline:
            continue
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS:
            raise forms.ValidationError(
                f"The {field} contains a control character (U+{ord(char):04X}); "
                "remove it and send again."
            )
    return value


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            return [super(AttachmentsField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=BODY_MAX,
        strip=False,
    )
    attachments = AttachmentsField(
        label="Attach a photo or PDF",
        required=False,
        help_text=f"PDF, JPEG or PNG, up to {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB each.",
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def clean_body(self) -> str:
        body = refuse_controls(self.cleaned_data.get("body", ""), field="message", multiline=True)
        return body.strip()

    def clean_client_id(self) -> str:
        value = self.cleaned_data.get("client_id", "")
        if value and not value.replace("-", "").isalnum():
            raise forms.ValidationError("Bad client id.")
        return value

    def clean_attachments(self) -> list[CheckedAttachment]:
        uploads = self.cleaned_data.get("attachments") or []
        if len(uploads) > MAX_ATTACHMENTS:
            raise forms.ValidationError(f"Attach at most {MAX_ATTACHMENTS} files to a message.")
        checked, errors = [], []
        for upload in uploads:
            try:
                checked.append(check_attachment(upload))
            except InvalidAttachment as error:
                errors.append(str(error))
        if errors:
            raise forms.ValidationError(errors)
        return checked

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())
        if not self.errors and not cleaned.get("body") and not cleaned.get("attachments"):
            raise forms.ValidationError("Write a message or attach a file.")
        return cleaned


class ComposeForm(ReplyForm):
    to = forms.ChoiceField(
        label="To", choices=Thread.To.choices, widget=forms.RadioSelect, initial="clinician"
    )
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX)

    field_order = ["to", "subject", "body", "attachments", "client_id"]

    def clean_subject(self) -> str:
        subject = refuse_controls(self.cleaned_data["subject"], field="subject", multiline=False)
        subject = subject.strip()
        if not subject:
            raise forms.ValidationError("Give the message a subject.")
        return subject
