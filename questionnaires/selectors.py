"""Reads of Documents shared by the patient pages, Home's card, the clinic pages and exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import Assignment, Submission

if TYPE_CHECKING:
    from accounts.models import User
    from patient_portal.models import Chart


def pending(user: User, chart: Chart) -> QuerySet[Assignment]:
    """The chart's open assignments the user may see (due first, undated last)."""
    return (
        Assignment.objects.visible_to(user)
        .filter(chart=chart)
        .open()
        .select_related("form", "submission")
        .order_by("due_on", "assigned_at", "pk")
    )


def completed(user: User, chart: Chart) -> QuerySet[Submission]:
    """The chart's submitted documents the user may see, newest first."""
    return (
        Submission.objects.visible_to(user)
        .filter(chart=chart)
        .submitted()
        .select_related("form", "chart__clinic")
        .order_by("-submitted_at", "-pk")
    )


@dataclass(frozen=True)
class TrendPoint:
    submission: Submission
    x: float
    y: float


@dataclass(frozen=True)
class Trend:
    """One scored form's scores over time, laid out for a small SVG (and its table)."""

    title: str
    max_score: int
    points: list[TrendPoint]
    width: int = 320
    height: int = 140
    pad: int = 28

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def gridlines(self) -> list[tuple[int, float]]:
        """(score, y) of a few horizontal guides: 0, half and the maximum."""
        values = sorted({0, self.max_score // 2, self.max_score})
        return [(v, self._y(v)) for v in values]

    def _y(self, value: int) -> float:
        usable = self.height - 2 * self.pad
        return self.height - self.pad - usable * (value / self.max_score if self.max_score else 0)


def trends(submissions: list[Submission]) -> list[Trend]:
    """A trend per scored form among a chart's submissions (oldest → newest)."""
    from . import scoring

    by_form: dict[int, list[Submission]] = {}
    for s in sorted(submissions, key=lambda s: (s.submitted_at, s.pk)):
        if s.score is not None:
            by_form.setdefault(s.form_id, []).append(s)
    found = []
    for rows in by_form.values():
        form = rows[0].form
        scale = scoring.SCALES.get(form.scoring)
        top = scale.max_score if scale else max(max(r.score or 0 for r in rows), 1)
        trend = Trend(title=form.title, max_score=top, points=[])
        usable_w = trend.width - 2 * trend.pad
        step = usable_w / (len(rows) - 1) if len(rows) > 1 else 0
        for i, row in enumerate(rows):
            x = trend.pad + (step * i if len(rows) > 1 else usable_w / 2)
            trend.points.append(TrendPoint(row, x, trend._y(row.score or 0)))
        found.append(trend)
    return found
