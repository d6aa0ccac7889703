"""The built-in rating scales, with their published item wording: PHQ-9 and GAD-7.

PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke
and colleagues, with an educational grant from Pfizer Inc.; no permission is required to
reproduce, translate, display or distribute them. Installed once, shared by every clinic
(`Form.clinic` is None), by migration 0002 and `install()` (also used by tests and seeds).
"""

from __future__ import annotations

from typing import Any

from .scoring import DIFFICULTY_OPTIONS, FREQUENCY_OPTIONS

PHQ9_STEM = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)
GAD7_STEM = "Over the last 2 weeks, how often have you been bothered by the following problems?"
DIFFICULTY = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)

PHQ9_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
]

GAD7_ITEMS = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
]

BUILTINS: list[dict[str, Any]] = [
    {
        "slug": "phq-9",
        "title": "PHQ-9 (Patient Health Questionnaire)",
        "description": PHQ9_STEM,
        "scoring": "phq9",
        "prefix": "phq9",
        "items": PHQ9_ITEMS,
    },
    {
        "slug": "gad-7",
        "title": "GAD-7 (General Anxiety Disorder)",
        "description": GAD7_STEM,
        "scoring": "gad7",
        "prefix": "gad7",
        "items": GAD7_ITEMS,
    },
]


def install(form_model: Any, question_model: Any) -> None:
    """Create the built-in forms that do not exist yet (idempotent; takes historical models)."""
    for spec in BUILTINS:
        if form_model.objects.filter(slug=spec["slug"], is_builtin=True).exists():
            continue
        form = form_model.objects.create(
            clinic=None,
            kind="scale",
            title=spec["title"],
            description=spec["description"],
            slug=spec["slug"],
            scoring=spec["scoring"],
            is_builtin=True,
        )
        for n, text in enumerate(spec["items"], start=1):
            question_model.objects.create(
                form=form,
                position=n,
                kind="single",
                text=text,
                required=True,
                choices=FREQUENCY_OPTIONS,
                scored=True,
                code=f"{spec['prefix']}_{n}",
            )
        # The difficulty question: asked, never scored, not required.
        question_model.objects.create(
            form=form,
            position=len(spec["items"]) + 1,
            section="",
            kind="single",
            text=DIFFICULTY,
            required=False,
            choices=DIFFICULTY_OPTIONS,
            scored=False,
            code=f"{spec['prefix']}_difficulty",
        )
