"""The clinic's forms: a new form, a question of the builder, an assignment to a chart."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from .models import Form, Question

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_CHOICES = 20


def _no_controls(value: str) -> str:
    if _CONTROL.search(value or ""):
        raise forms.ValidationError("Remove the control characters.")
    return value


class FormForm(forms.ModelForm):
    """A clinic form's title, kind, introduction and (e-consent) consent text."""

    class Meta:
        model = Form
        fields = ["title", "kind", "description", "consent_text"]
        labels = {"description": "Introduction", "consent_text": "Consent text (e-consent only)"}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "consent_text": forms.Textarea(attrs={"rows": 6}),
        }

    def clean_title(self) -> str:
        return _no_controls(self.cleaned_data["title"]).strip()

    def clean_description(self) -> str:
        return _no_controls(self.cleaned_data["description"])

    def clean_consent_text(self) -> str:
        return _no_controls(self.cleaned_data["consent_text"]).strip()

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())
        if data.get("kind") == Form.Kind.CONSENT and not data.get("consent_text"):
            self.add_error("consent_text", "An e-consent needs the text the patient agrees to.")
        return data


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label="Question type", choices=Question.Kind.choices)
    text = forms.CharField(label="Question", max_length=500)
    section = forms.CharField(
        label="Section",
        max_length=120,
        required=False,
        help_text="Starts a new section when it changes.",
    )
    help_text = forms.CharField(label="Hint", max_length=300, required=False)
    required = forms.BooleanField(label="Required", required=False, initial=True)
    choices_text = forms.CharField(
        label="Options (choice questions)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line. For a scored option, start with its points: “2 = Often”.",
    )
    scale_min = forms.IntegerField(label="Scale from", required=False, min_value=-10, max_value=100)
    scale_max = forms.IntegerField(label="Scale to", required=False, min_value=-10, max_value=100)
    min_label = forms.CharField(label="Label of the lowest value", max_length=60, required=False)
    max_label = forms.CharField(label="Label of the highest value", max_length=60, required=False)
    scored = forms.BooleanField(label="Counts towards the score", required=False)

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())
        for name in ("text", "section", "help_text", "choices_text", "min_label", "max_label"):
            if _CONTROL.search(data.get(name) or ""):
                self.add_error(name, "Remove the control characters.")
        kind = data.get("kind")
        choices: list[dict[str, str]] = []
        if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            lines = [line.strip() for line in (data.get("choices_text") or "").splitlines()]
            lines = [line for line in lines if line]
            if len(lines) < 2:
                self.add_error("choices_text", "Give at least two options, one per line.")
            if len(lines) > MAX_CHOICES:
                self.add_error("choices_text", f"Give at most {MAX_CHOICES} options.")
            for n, line in enumerate(lines, start=1):
                points, sep, label = line.partition("=")
                if sep and re.fullmatch(r"\s*-?\d{1,3}\s*", points):
                    choices.append({"value": points.strip(), "label": label.strip()[:120]})
                else:
                    choices.append({"value": f"o{n}", "label": line[:120]})
            values = [c["value"] for c in choices]
            if len(set(values)) != len(values):
                self.add_error(
                    "choices_text", "Two options have the same points: give each its own."
                )
            if data.get("scored") and any(not re.fullmatch(r"-?\d+", v) for v in values):
                self.add_error(
                    "choices_text", "A scored question gives every option its points: “0 = Never”."
                )
            if data.get("scored") and kind == Question.Kind.MULTIPLE:
                self.add_error("scored", "Only single-choice and scale questions can be scored.")
        elif data.get("scored") and kind != Question.Kind.SCALE:
            self.add_error("scored", "Only single-choice and scale questions can be scored.")
        if kind == Question.Kind.SCALE:
            low, high = data.get("scale_min"), data.get("scale_max")
            if low is None or high is None:
                self.add_error("scale_max", "Give the scale's lowest and highest values.")
            elif not low < high or high - low > 20:
                self.add_error(
                    "scale_max", "The highest value must be above the lowest, at most 20 steps."
                )
        data["choices"] = choices
        return data

    def question_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        return {
            "kind": kind,
            "text": data["text"].strip(),
            "section": data.get("section", "").strip(),
            "help_text": data.get("help_text", "").strip(),
            "required": bool(data.get("required")),
            "choices": data["choices"],
            "scale_min": data.get("scale_min") if kind == Question.Kind.SCALE else None,
            "scale_max": data.get("scale_max") if kind == Question.Kind.SCALE else None,
            "min_label": data.get("min_label", "") if kind == Question.Kind.SCALE else "",
            "max_label": data.get("max_label", "") if kind == Question.Kind.SCALE else "",
            "scored": bool(data.get("scored")),
        }


class AssignForm(forms.Form):
    form = forms.ModelChoiceField(
        label="Form", queryset=Form.objects.none(), empty_label="Choose a form"
    )
    due_on = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, forms_queryset: QuerySet[Form], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["form"]).queryset = forms_queryset

    def clean_due_on(self) -> Any:
        due = self.cleaned_data.get("due_on")
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError("The due date is in the past.")
        return due
