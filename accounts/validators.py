from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from .models import User

PASSWORD_REQUIREMENT = (
    "Password requirement: at least 10 characters - 1 each of lower case, upper case, "
    "number, symbol"
)


class CharacterClassValidator:
    """At least one lower-case letter, upper-case letter, digit and symbol."""

    checks = [
        (r"[a-z]", "a lower-case letter"),
        (r"[A-Z]", "an upper-case letter"),
        (r"[0-9]", "a number"),
        (r"[^A-Za-z0-9]", "a symbol"),
    ]

    def validate(self, password: str, user: User | None = None) -> None:
        missing = [label for pattern, label in self.checks if not re.search(pattern, password)]
        if missing:
            raise ValidationError(
                "The password must contain %(missing)s.",
                code="password_character_classes",
                params={"missing": ", ".join(missing)},
            )

    def get_help_text(self) -> str:
        return PASSWORD_REQUIREMENT
