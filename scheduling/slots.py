"""Free slots: the ONE place that decides when a provider can be booked.

A pure function of plain values (no database, no clock): the provider's weekly hours on the
clinic's wall clock, time off and existing appointments as UTC intervals, the visit's
duration, the booking rules, and "now". `selectors.free_slots_for` loads those values in three
queries and calls it; the booking service calls the same to re-check a chosen time.

Wall-clock hours are turned into moments day by day with zoneinfo, so a provider who works
09:00–17:00 works 09:00–17:00 on both daylight-saving days. A start that does not exist on
the clock (the skipped hour of spring-forward) is left out; one that happens twice (the
repeated hour of fall-back) is offered once, at its first occurrence; a slot ends by elapsed
time and must end inside the block.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
# Slots start on this grid from the start of each block of hours.
DEFAULT_STEP = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class WeeklyBlock:
    """Working hours on one weekday (0 = Monday), on the clinic's wall clock."""

    weekday: int
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Interval:
    """[start, end) in UTC (aware datetimes)."""

    start: dt.datetime
    end: dt.datetime


def wall_to_utc(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime | None:
    """The moment the clinic's clock shows `at` on `day`; None when that time is skipped
    (spring-forward). A repeated time (fall-back) gives its first occurrence."""
    local = dt.datetime.combine(day, at, tzinfo=zone).replace(fold=0)
    moment = local.astimezone(UTC)
    # A skipped wall time does not survive the round trip.
    back = moment.astimezone(zone)
    if (back.date(), back.time()) != (day, at):
        return None
    return moment


class Busy:
    """Sorted, merged busy intervals with an O(log n) overlap test."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        merged: list[list[dt.datetime]] = []
        for item in sorted(intervals, key=lambda i: i.start):
            if merged and item.start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], item.end)
            else:
                merged.append([item.start, item.end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        # The last busy interval starting before `end` is the only one that can overlap.
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


def free_slots(
    *,
    hours: Sequence[WeeklyBlock],
    zone: ZoneInfo,
    duration: dt.timedelta,
    now: dt.datetime,
    min_notice: dt.timedelta = dt.timedelta(0),
    horizon: dt.timedelta = dt.timedelta(days=28),
    busy: Iterable[Interval] = (),
    time_off: Iterable[Interval] = (),
    window: Interval | None = None,
    step: dt.timedelta = DEFAULT_STEP,
) -> list[dt.datetime]:
    """Every free start (UTC, ascending) for a visit of `duration`.

    A start is offered when it lies on the step grid of a block of hours, the visit fits in
    the block, it is at least `min_notice` after `now` and at most `horizon` after it, and
    the visit overlaps no busy interval (appointments of any type) and no time off.
    `window` narrows the result further (one week of a calendar, say).
    """
    if duration <= dt.timedelta(0) or step <= dt.timedelta(0):
        raise ValueError("duration and step must be positive")
    earliest = now + min_notice
    latest = now + horizon
    if window is not None:
        earliest = max(earliest, window.start)
        latest = min(latest, window.end)
    if latest < earliest:
        return []
    blocked = Busy([*busy, *time_off])
    by_weekday: dict[int, list[WeeklyBlock]] = {}
    for block in hours:
        if block.end > block.start:
            by_weekday.setdefault(block.weekday, []).append(block)

    slots: list[dt.datetime] = []
    # Wall-clock days that can hold a start between earliest and latest (±1 for offsets).
    day = earliest.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = latest.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last_day:
        for block in sorted(by_weekday.get(day.weekday(), ()), key=lambda b: b.start):
            block_end = _block_end(day, block.end, zone)
            wall = dt.datetime.combine(day, block.start)
            wall_end = dt.datetime.combine(day, block.end)
            while wall < wall_end:
                start = wall_to_utc(day, wall.time(), zone)
                wall += step
                if start is None or start < earliest or start > latest:
                    continue
                end = start + duration
                if end > block_end:
                    break
                if not blocked.overlaps(start, end):
                    slots.append(start)
        day += dt.timedelta(days=1)
    # Two blocks of one day may overlap (data entry): offer each start once.
    return sorted(set(slots))


def _block_end(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The moment a block ends; a skipped wall time ends it when the clock jumps past it."""
    moment = wall_to_utc(day, at, zone)
    if moment is not None:
        return moment
    # Inside the skipped hour: the block ends at the same offset as before the jump.
    before = dt.datetime.combine(day, at, tzinfo=zone).replace(fold=0)
    return before.astimezone(UTC)


def is_free(
    start: dt.datetime,
    *,
    hours: Sequence[WeeklyBlock],
    zone: ZoneInfo,
    duration: dt.timedelta,
    now: dt.datetime,
    min_notice: dt.timedelta = dt.timedelta(0),
    horizon: dt.timedelta = dt.timedelta(days=28),
    busy: Iterable[Interval] = (),
    time_off: Iterable[Interval] = (),
    step: dt.timedelta = DEFAULT_STEP,
) -> bool:
    """Whether `start` is one of `free_slots` (the booking service's re-check)."""
    day = Interval(start - dt.timedelta(days=1), start + dt.timedelta(days=1))
    return start in free_slots(
        hours=hours,
        zone=zone,
        duration=duration,
        now=now,
        min_notice=min_notice,
        horizon=horizon,
        busy=busy,
        time_off=time_off,
        window=day,
        step=step,
    )
