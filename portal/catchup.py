"""Catch-up by what a page lacks, shared by the requests chat and Messages.

A page knows "every message up to N" (complete through) and the ids it shows above N (its own
replies, pushed rows). It asks for what it lacks — never "after the highest id shown", which a
page's own reply can push past a message it missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet


def rows_lacking(
    messages: QuerySet[Any], *, after: int, have: Iterable[int], limit: int
) -> tuple[list[Any], int | None]:
    """Of one conversation's `messages`, those above `after` not in `have`.

    Returns the newest `limit` of them (oldest first) and the id the page then holds
    everything up to ("complete through"), or None when it lacks more than `limit` (it asks
    again and gets the next older ones). The messages of one conversation must commit in id
    order (the writer locks the conversation's row before a message takes its id), so every
    message up to the newest id is visible now.
    """
    latest = messages.order_by("-pk").values_list("pk", flat=True).first() or 0
    lacking = list(
        messages.filter(pk__gt=after, pk__lte=latest)
        .exclude(pk__in=list(have))
        .order_by("-pk")[: limit + 1]
    )
    complete = len(lacking) <= limit
    return lacking[:limit][::-1], (latest if complete else None)
