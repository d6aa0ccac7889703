"""The one money convention: integer cents, one currency (settings.BILLING_CURRENCY).

Amounts typed by people ("12.5", "$1,234.00") are parsed with Decimal, never float, and
refused when they have more than two decimals, are negative, or are absurdly large.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# $10,000,000.00: more than any invoice line a clinic writes; bounds hostile input.
MAX_CENTS = 1_000_000_000
_AMOUNT = re.compile(r"\d{1,8}(\.\d{1,2})?")


class AmountError(ValueError):
    """An amount that cannot be money: the message is for the person who typed it."""


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """ "12.34" (or "$1,234.5") -> cents. Raises AmountError with plain words."""
    cleaned = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not _AMOUNT.fullmatch(cleaned):
        raise AmountError("Enter an amount in dollars and cents, like 25.00.")
    try:
        cents = int(Decimal(cleaned) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already refused it
        raise AmountError("Enter an amount in dollars and cents, like 25.00.") from exc
    if cents == 0 and not allow_zero:
        raise AmountError("Enter an amount above zero.")
    if cents > MAX_CENTS:
        raise AmountError("That amount is too large.")
    return cents


def format_cents(cents: int | None, *, signed: bool = False) -> str:
    """1234 -> "$12.34"; -500 -> "-$5.00" (or "+$5.00" with signed=True for credits)."""
    value = int(cents or 0)
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    whole, part = divmod(abs(value), 100)
    return f"{sign}${whole:,}.{part:02d}"


def plain_cents(cents: int) -> str:
    """1234 -> "12.34" (CSV cells, form values)."""
    value = int(cents)
    whole, part = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{part:02d}"
