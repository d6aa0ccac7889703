"""Checking what a patient POSTs against the form's questions (drafts and submissions alike).

An answer is kept only when it is one the question allows: a choice among its choices, a scale
value inside its range, a real date, text within its length and free of control characters.
Anything else is refused with a message naming the question — never truncated or coerced.
Required answers are enforced on submission only; a draft may be partial.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .models import Question

TEXT_MAX = 300
LONG_TEXT_MAX = 4000
SIGNATURE_MAX = 200
# C0 and C1 controls, DEL, bidi overrides. Long text may keep tab, CR and LF.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LONG = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

Answer = str | list[str]


class PostData(Protocol):
    def get(self, key: str, default: Any = ...) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...


@dataclass
class Checked:
    """The answers that passed, and an error per question id (in the form's order)."""

    answers: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(value: str, *, limit: int, long: bool) -> tuple[str, str]:
    value = value.replace("\r\n", "\n").strip() if long else value.strip()
    if (_CONTROL_LONG if long else _CONTROL).search(value):
        return "", "Remove the control characters from this answer."
    if len(value) > limit:
        return "", f"Keep this answer to {limit} characters (it has {len(value)})."
    return value, ""


def check_one(question: Question, data: PostData) -> tuple[Answer | None, str]:
    """(answer or None when blank, error message or "") for one question."""
    name = question.field_name
    kind = question.kind
    if kind == Question.Kind.MULTIPLE:
        picked = [str(v) for v in data.getlist(name)]
        allowed = {str(c.get("value")) for c in question.choices or []}
        if any(v not in allowed for v in picked):
            return None, "Choose only among the options shown."
        if len(set(picked)) != len(picked):
            return None, "Choose each option once."
        # Keep the form's order, whatever order the browser sent.
        order = [str(c.get("value")) for c in question.choices or []]
        kept = [v for v in order if v in picked]
        return (kept or None), ""
    raw = data.get(name, "")
    if not isinstance(raw, str):
        return None, "This answer could not be read."
    if kind in (Question.Kind.TEXT, Question.Kind.LONG_TEXT):
        long = kind == Question.Kind.LONG_TEXT
        value, error = _text(raw, limit=LONG_TEXT_MAX if long else TEXT_MAX, long=long)
        return (value or None), error
    raw = raw.strip()
    if not raw:
        return None, ""
    if kind == Question.Kind.SINGLE:
        allowed = {str(c.get("value")) for c in question.choices or []}
        if raw not in allowed:
            return None, "Choose one of the options shown."
        return raw, ""
    if kind == Question.Kind.YES_NO:
        if raw not in ("yes", "no"):
            return None, "Choose Yes or No."
        return raw, ""
    if kind == Question.Kind.SCALE:
        low, high = question.scale_min or 0, question.scale_max or 10
        if not re.fullmatch(r"-?\d{1,3}", raw) or not low <= int(raw) <= high:
            return None, f"Choose a number from {low} to {high}."
        return str(int(raw)), ""
    if kind == Question.Kind.DATE:
        try:
            day = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
        except ValueError:
            day = None
        if day is None or not 1900 <= day.year <= 2100:
            return None, "Enter a real date (year, month, day)."
        return day.isoformat(), ""
    return None, "This question cannot be answered."


def check_answers(questions: Iterable[Question], data: PostData, *, require: bool) -> Checked:
    """Every question's answer from `data`; `require` enforces the required ones (submit)."""
    checked = Checked()
    for question in questions:
        value, error = check_one(question, data)
        key = str(question.pk)
        if error:
            checked.errors[key] = error
        elif value is None:
            if require and question.required:
                checked.errors[key] = "Answer this question."
        else:
            checked.answers[key] = value
    return checked


def answer_label(question: Question, value: Answer | None) -> str:
    """How an answer reads on pages and in the PDF ("Several days", "Yes", "2024-05-01")."""
    if value is None or value == "" or value == []:
        return "Not answered"
    if isinstance(value, list):
        return ", ".join(question.choice_label(v) for v in value)
    if question.kind == Question.Kind.YES_NO:
        return {"yes": "Yes", "no": "No"}.get(value, value)
    if question.kind == Question.Kind.SINGLE:
        return question.choice_label(value)
    if question.kind == Question.Kind.SCALE:
        ends = []
        if question.min_label:
            ends.append(f"{question.scale_min} = {question.min_label}")
        if question.max_label:
            ends.append(f"{question.scale_max} = {question.max_label}")
        return f"{value}" + (f" ({'; '.join(ends)})" if ends else "")
    return value


def points(question: Question, value: Answer | None) -> int:
    """The points a scored answer counts for (0 when unanswered or not numeric)."""
    if not question.scored or value is None or isinstance(value, list):
        return 0
    try:
        return int(value)
    except ValueError:
        return 0


# E-consent signature ------------------------------------------------------------------------


def normalise_name(value: str) -> list[str]:
    """Name tokens compared loosely: accents, case, punctuation and extra spaces ignored."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^\w]+|_", " ", plain).split()


def signature_matches(typed: str, first_name: str, last_name: str) -> bool:
    """The typed signature names the expected person: the same first name first and the last
    name (or the last part of a compound one) last; middle names and initials may come between.

    "maría  garcía-lópez", "Maria G. Lopez" and "MARIA LOPEZ" all sign for María García-López;
    "Maria", "Lopez Maria" or another person's name do not.
    """
    tokens = normalise_name(typed)
    first = normalise_name(first_name)
    last = normalise_name(last_name)
    if len(tokens) < 2 or not first or not last:
        return False
    return tokens[0] == first[0] and tokens[-1] in last


def check_signature(typed: str, *, first_name: str, last_name: str) -> tuple[str, str]:
    """(cleaned signature, error or "")."""
    value, error = _text(typed, limit=SIGNATURE_MAX, long=False)
    if error:
        return "", error
    if not value:
        return "", "Type your full name to sign."
    if not signature_matches(value, first_name, last_name):
        return "", f"Type your full name as {first_name} {last_name} to sign."
    return value, ""


def answers_by_code(questions: Iterable[Question], answers: Mapping[str, Answer]) -> dict[str, int]:
    """Points of the coded (built-in) items: {"phq9_9": 2, …}."""
    return {q.code: points(q, answers.get(str(q.pk))) for q in questions if q.code and q.scored}
