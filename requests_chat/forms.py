from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.functional import cached_property

from prescriptions.models import Patient, PatientQuerySet, Prescription

from .documents import CheckedPdf, InvalidDocument, check_pdf

if TYPE_CHECKING:
    from accounts.models import User

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,.pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class AttachmentsMixin(forms.Form):
    """Attach Documents: an optional title and any number of PDFs, checked by content."""

    title = forms.CharField(label="Document title", max_length=200, required=False)
    documents = MultipleFileField(
        label="Attach documents",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].help_text = (
            f"PDF only, up to {filesizeformat(settings.DOCUMENT_MAX_BYTES)} each and "
            f"{filesizeformat(settings.DOCUMENT_MAX_TOTAL_BYTES)} per message."
        )
        # The Upload Document pop-up gives each file its own title (in the files' order).
        getlist = getattr(self.data, "getlist", None)
        self.document_titles = (
            [t.strip()[:200] for t in getlist("document_titles")] if getlist else []
        )

    @property
    def max_total_bytes(self) -> int:
        return settings.DOCUMENT_MAX_TOTAL_BYTES

    def clean_documents(self) -> list[CheckedPdf]:
        uploads = self.cleaned_data.get("documents") or []
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} documents at a time.")
        if sum(upload.size for upload in uploads) > settings.DOCUMENT_MAX_TOTAL_BYTES:
            raise forms.ValidationError(
                "These documents add up to more than "
                f"{filesizeformat(settings.DOCUMENT_MAX_TOTAL_BYTES)}: "
                "send some of them in another message."
            )
        checked, errors = [], []
        for upload in uploads:
            try:
                checked.append(check_upload(upload))
            except InvalidDocument as error:
                errors.append(str(error))
        if errors:
            raise forms.ValidationError(errors)
        return checked

    def attachments(self) -> list[tuple[str, CheckedPdf]]:
        """(title, pdf) pairs: each file's own title from the pop-up, else the form's title
        (numbered when several files share it), else the file name."""
        pdfs = self.cleaned_data.get("documents") or []
        title = self.cleaned_data.get("title", "").strip()
        own = self.document_titles if len(self.document_titles) == len(pdfs) else []
        result = []
        for n, pdf in enumerate(pdfs, start=1):
            stem = pdf.name.rsplit(".", 1)[0] or "Document"
            if own:
                result.append((own[n - 1] or stem, pdf))
            elif not title:
                result.append((stem, pdf))
            elif len(pdfs) == 1:
                result.append((title, pdf))
            else:
                result.append((f"{title} ({n})", pdf))
        return result


def check_upload(upload: UploadedFile) -> CheckedPdf:
    """One uploaded file, judged as the chat stores it: size first, then the content."""
    # Refuse oversize files before reading them into memory. (A request's uploads always have
    # a size and a name; the stubs allow None for files built by hand.)
    if (upload.size or 0) > settings.DOCUMENT_MAX_BYTES:
        raise InvalidDocument(
            f"“{upload.name}”: The file is larger than "
            f"{filesizeformat(settings.DOCUMENT_MAX_BYTES)}."
        )
    return check_pdf(upload.read(), name=upload.name or "")


class DocumentCheckForm(forms.Form):
    """The Upload Document pop-up's check: one file, judged before it is attached to a message."""

    document = forms.FileField(label="Document")

    def clean_document(self) -> CheckedPdf:
        try:
            return check_upload(self.cleaned_data["document"])
        except InvalidDocument as error:
            raise forms.ValidationError(str(error)) from None


class MessageForm(AttachmentsMixin):
    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    field_order = ["body", "title", "documents", "client_id"]

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        cleaned = cast(dict[str, Any], super().clean())
        if not cleaned.get("body", "").strip() and not cleaned.get("documents") and not self.errors:
            raise forms.ValidationError("Enter a message or attach a document.")
        return cleaned


# The Patient select lists at most this many; a search narrows it (see patient_options).
PATIENT_OPTIONS_LIMIT = 50


@dataclass
class PatientOptions:
    patients: list[Patient]
    query: str
    more: bool  # more patients match than are listed
    searchable: bool  # the search box is shown (many patients, or a search was made)
    chosen_id: str = ""  # the patient to show selected (asked for, or the one search match)


class PatientChoiceField(forms.ModelChoiceField):
    queryset: PatientQuerySet  # the form sets Patient.objects.visible_to(user)

    def label_from_instance(self, obj: Patient) -> str:
        return f"{obj.full_name} ({obj.date_of_birth:%d %B %Y})"


class PrescriptionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Prescription) -> str:
        state = "Active" if obj.is_active else "Inactive"
        return f"{obj.medication} (Rx: {obj.rx_number}) - {obj.get_status_display()} · {state}"


class CreateRequestForm(AttachmentsMixin):
    """Create Patient Prescription Request: Patient → Prescription → Enter Message."""

    patient = PatientChoiceField(
        label="Patient", queryset=Patient.objects.none(), empty_label="Select a patient"
    )
    prescription = PrescriptionChoiceField(
        label="Prescription",
        queryset=Prescription.objects.none(),
        empty_label="Select a prescription",
    )
    body = forms.CharField(
        label="Enter Message", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    field_order = ["patient", "prescription", "body", "title", "documents", "client_id"]

    def __init__(self, *args: Any, user: User, patient_query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.patient_query = " ".join(patient_query.split())[:100]
        cast(PatientChoiceField, self.fields["patient"]).queryset = Patient.objects.visible_to(user)
        patient_id = self.data.get("patient") if self.is_bound else self.initial.get("patient")
        # Only the chosen patient's prescriptions are valid choices (and listed).
        self.prescription_choices = self.prescriptions_for(user, patient_id)
        cast(
            forms.ModelChoiceField, self.fields["prescription"]
        ).queryset = self.prescription_choices
        self.fields["prescription"].error_messages["invalid_choice"] = (
            "Choose one of this patient's prescriptions."
        )

    @cached_property
    def patient_options(self) -> PatientOptions:
        """What the Patient select lists. Everyone the user may see while that is a short list;
        beyond PATIENT_OPTIONS_LIMIT, only who matches the search (by name or date of birth),
        so that a pharmacist's 20,000 patients are never sent to the browser at once. The
        chosen patient is always listed."""
        visible = cast(PatientChoiceField, self.fields["patient"]).queryset.order_by(
            "last_name", "first_name", "pk"
        )
        query = self.patient_query
        rows = list((visible.search(query) if query else visible)[: PATIENT_OPTIONS_LIMIT + 1])
        more = len(rows) > PATIENT_OPTIONS_LIMIT
        rows = rows[:PATIENT_OPTIONS_LIMIT]
        searchable = bool(query) or more
        if more and not query:
            rows = []  # a list cut at an arbitrary name helps nobody: ask for a search
        chosen = self["patient"].value()
        chosen_id = str(getattr(chosen, "pk", chosen) or "")
        if chosen_id.isdigit() and all(str(p.pk) != chosen_id for p in rows):
            rows[:0] = list(visible.filter(pk=int(chosen_id)))
        if not chosen_id and query and len(rows) == 1:
            chosen_id = str(rows[0].pk)  # the only match: chosen, its prescriptions loaded
        return PatientOptions(
            rows, query=query, more=more, searchable=searchable, chosen_id=chosen_id
        )

    @staticmethod
    def prescriptions_for(user: User, patient_id: Any) -> QuerySet[Prescription]:
        try:
            patient_id = int(getattr(patient_id, "pk", patient_id) or 0)
        except (TypeError, ValueError):
            patient_id = 0
        if not patient_id:
            return Prescription.objects.none()
        return (
            Prescription.objects.visible_to(user)
            .filter(patient_id=patient_id)
            .select_related("prescriber")
            .order_by("medication_name", "pk")
        )

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        cleaned = cast(dict[str, Any], super().clean())
        patient, prescription = cleaned.get("patient"), cleaned.get("prescription")
        if patient and prescription and prescription.patient_id != patient.pk:
            self.add_error("prescription", "Choose one of this patient's prescriptions.")
        return cleaned
