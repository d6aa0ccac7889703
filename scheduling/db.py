"""PostgreSQL-only database pieces of the schedule: the no-double-booking constraint.

SQLite has no exclusion constraints; the migration applies it only on PostgreSQL, and
`services.book` keeps the laptop path correct with a check under SQLite's write lock.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import migrations
from django.db.models import Func, Q

EXCLUSION_NAME = "appt_no_double_booking"


class TsTzRange(Func):
    """tstzrange(starts_at, ends_at): half-open, so back-to-back appointments don't overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def no_double_booking() -> ExclusionConstraint:
    """Two live appointments of one provider may not overlap in time."""
    return ExclusionConstraint(
        name=EXCLUSION_NAME,
        expressions=[
            ("provider", RangeOperators.EQUAL),
            (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
        ],
        condition=~Q(status="cancelled"),
    )


class AddConstraintOnPostgres(migrations.operations.base.Operation):
    """Add an exclusion constraint on PostgreSQL only; a no-op elsewhere (and in the model
    state, which keeps `makemigrations` quiet on every database)."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        schema_editor.add_constraint(model, no_double_booking())

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        schema_editor.remove_constraint(model, no_double_booking())

    def describe(self) -> str:
        return f"Add the no-double-booking exclusion constraint to {self.model_name} (PostgreSQL)"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [], {"model_name": self.model_name})
