"""Published scoring of the built-in rating scales (PHQ-9, GAD-7), and plain sums for others.

PHQ-9 (Kroenke, Spitzer & Williams, 2001) and GAD-7 (Spitzer et al., 2006): each item is
answered "Not at all" 0, "Several days" 1, "More than half the days" 2, "Nearly every day" 3;
the score is the sum of the items (the difficulty question is not scored), and the severity
bands are the published cut-offs below. Pure functions: tested against every band boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The four published response options of both scales (value = points).
FREQUENCY_OPTIONS: list[dict[str, str]] = [
    {"value": "0", "label": "Not at all"},
    {"value": "1", "label": "Several days"},
    {"value": "2", "label": "More than half the days"},
    {"value": "3", "label": "Nearly every day"},
]

DIFFICULTY_OPTIONS: list[dict[str, str]] = [
    {"value": "not_difficult", "label": "Not difficult at all"},
    {"value": "somewhat", "label": "Somewhat difficult"},
    {"value": "very", "label": "Very difficult"},
    {"value": "extremely", "label": "Extremely difficult"},
]


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Scale:
    """A scoring rule: the maximum score and the severity bands (inclusive ranges)."""

    code: str
    name: str
    max_score: int
    bands: tuple[Band, ...]

    def band(self, score: int) -> str:
        for band in self.bands:
            if band.low <= score <= band.high:
                return band.label
        raise ValueError(f"{self.name} score {score} is outside 0–{self.max_score}")


PHQ9 = Scale(
    code="phq9",
    name="PHQ-9",
    max_score=27,
    bands=(
        Band(0, 4, "Minimal"),
        Band(5, 9, "Mild"),
        Band(10, 14, "Moderate"),
        Band(15, 19, "Moderately severe"),
        Band(20, 27, "Severe"),
    ),
)

GAD7 = Scale(
    code="gad7",
    name="GAD-7",
    max_score=21,
    bands=(
        Band(0, 4, "Minimal"),
        Band(5, 9, "Mild"),
        Band(10, 14, "Moderate"),
        Band(15, 21, "Severe"),
    ),
)

SCALES: dict[str, Scale] = {PHQ9.code: PHQ9, GAD7.code: GAD7}

# PHQ-9 item 9 ("thoughts that you would be better off dead or of hurting yourself"): any
# answer above 0 is flagged to the clinic at once.
PHQ9_ITEM9_CODE = "phq9_9"


def total(points: Iterable[int]) -> int:
    return sum(points)


def score(scoring: str, points: Iterable[int]) -> tuple[int | None, str]:
    """(score, band) of a submission's scored answers under `scoring`.

    "" (not scored) gives (None, ""); "sum" a plain sum without bands; a published scale its
    sum and band.
    """
    if not scoring:
        return None, ""
    value = total(points)
    scale = SCALES.get(scoring)
    if scale is None:
        return value, ""
    return value, scale.band(value)


def item9_alert(scoring: str, answers_by_code: dict[str, int]) -> bool:
    """Whether a PHQ-9 submission must be flagged: item 9 answered above 0."""
    return scoring == PHQ9.code and answers_by_code.get(PHQ9_ITEM9_CODE, 0) > 0
