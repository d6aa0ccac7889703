"""`{{ cents|money }}`: integer cents as dollars ("$12.34")."""

from __future__ import annotations

from django import template

from billing.money import format_cents

register = template.Library()


@register.filter
def money(cents: int | None) -> str:
    return format_cents(cents)


@register.filter
def money_signed(cents: int | None) -> str:
    return format_cents(cents, signed=True)
