from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from patient_portal.forms import no_control_characters, no_control_characters_in_text
from requests_chat.documents import CheckedPdf, InvalidDocument, check_pdf

from .models import TEXT_MAX, TITLE_MAX


class InstructionForm(forms.Form):
    """Write or edit an instruction: title, Markdown text, optional PDF (checked by content)."""

    title = forms.CharField(
        label="Title",
        max_length=TITLE_MAX,
        validators=[no_control_characters],
        widget=forms.TextInput(attrs={"maxlength": TITLE_MAX, "autocomplete": "off"}),
        error_messages={
            "required": "Enter a title, for example “Treatment plan”.",
            "max_length": f"The title can be at most {TITLE_MAX} characters "
            "(it has %(show_value)d).",
        },
    )
    text = forms.CharField(
        label="Text",
        max_length=TEXT_MAX,
        strip=False,
        validators=[no_control_characters_in_text],
        widget=forms.Textarea(attrs={"rows": 12, "maxlength": TEXT_MAX}),
        help_text="Markdown works: **bold**, *italic*, lists starting with “- ”, headings "
        "starting with “## ”, links as [words](https://…). HTML is shown as typed, never run.",
        error_messages={
            "required": "Enter the text of the instruction.",
            "max_length": f"The text can be at most {TEXT_MAX:,} characters "
            "(it has %(show_value)d).",
        },
    )
    document = forms.FileField(
        label="PDF (optional)",
        required=False,
        help_text=f"A PDF of up to {filesizeformat(settings.DOCUMENT_MAX_BYTES)}; "
        "it is checked before it is saved.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    remove_document = forms.BooleanField(label="Remove the attached PDF", required=False)

    def __init__(self, *args: Any, has_pdf: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_pdf:
            del self.fields["remove_document"]
        else:
            self.fields["document"].label = "Replace the PDF (optional)"

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if not text.strip():
            raise ValidationError("Enter the text of the instruction.")
        return text.replace("\r\n", "\n").strip("\n")

    def clean_document(self) -> CheckedPdf | None:
        upload = self.cleaned_data.get("document")
        if not upload:
            return None
        # Refuse oversize files before reading them into memory.
        if (upload.size or 0) > settings.DOCUMENT_MAX_BYTES:
            raise ValidationError(
                f"“{upload.name}”: The file is larger than "
                f"{filesizeformat(settings.DOCUMENT_MAX_BYTES)}."
            )
        try:
            return check_pdf(upload.read(), name=(upload.name or "document.pdf")[:200])
        except InvalidDocument as error:
            raise ValidationError(str(error)) from None
