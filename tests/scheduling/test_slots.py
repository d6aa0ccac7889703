"""The slot computation (a pure function): DST days, zones, time off, rules, overlaps."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduling.slots import Interval, WeeklyBlock, free_slots, is_free

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def every_day(start: str, end: str) -> list[WeeklyBlock]:
    return [
        WeeklyBlock(d, dt.time.fromisoformat(start), dt.time.fromisoformat(end)) for d in range(7)
    ]


def on_day(slots: list[dt.datetime], day: dt.date, zone: ZoneInfo = NY) -> list[str]:
    return [f"{s.astimezone(zone):%H:%M}" for s in slots if s.astimezone(zone).date() == day]


def test_it_offers_nine_to_five_on_the_clinic_clock_across_spring_forward():
    # 2027-03-14: clocks go from 02:00 to 03:00 in New York.
    now = dt.datetime(2027, 3, 12, 12, tzinfo=UTC)
    slots = free_slots(hours=every_day("09:00", "11:00"), zone=NY, duration=HOUR, now=now)
    for day in (dt.date(2027, 3, 13), dt.date(2027, 3, 14), dt.date(2027, 3, 15)):
        assert on_day(slots, day) == ["09:00", "09:30", "10:00"]
    before = [s for s in slots if s.astimezone(NY).date() == dt.date(2027, 3, 13)][0]
    after = [s for s in slots if s.astimezone(NY).date() == dt.date(2027, 3, 14)][0]
    assert before.hour == 14 and after.hour == 13  # EST then EDT, both 09:00 on the wall


def test_it_skips_the_missing_hour_and_repeats_none_of_the_doubled_one():
    night = every_day("01:00", "04:00")
    spring = free_slots(
        hours=night,
        zone=NY,
        duration=HOUR,
        now=dt.datetime(2027, 3, 13, 12, tzinfo=UTC),
        horizon=dt.timedelta(days=1),
    )
    # 02:00-02:59 does not exist; slots last elapsed time (01:30 EST + 1 h = 03:30 EDT).
    assert on_day(spring, dt.date(2027, 3, 14)) == ["01:00", "01:30", "03:00"]
    fall = free_slots(
        hours=night,
        zone=NY,
        duration=HOUR,
        now=dt.datetime(2027, 11, 6, 12, tzinfo=UTC),
        horizon=dt.timedelta(days=1),
    )
    starts = [s for s in fall if s.astimezone(NY).date() == dt.date(2027, 11, 7)]
    assert len(starts) == len(set(starts))
    # 01:00-04:00 on the wall is 4 real hours on fall-back day; every slot ends by 04:00.
    assert all(s + HOUR <= dt.datetime(2027, 11, 7, 9, tzinfo=UTC) for s in starts)
    assert on_day(fall, dt.date(2027, 11, 7))[0] == "01:00"


def test_fall_back_day_keeps_daytime_hours():
    now = dt.datetime(2027, 11, 5, 12, tzinfo=UTC)
    slots = free_slots(hours=every_day("09:00", "10:00"), zone=NY, duration=HOUR, now=now)
    assert on_day(slots, dt.date(2027, 11, 6)) == ["09:00"]
    assert on_day(slots, dt.date(2027, 11, 7)) == ["09:00"]
    sunday = [s for s in slots if s.astimezone(NY).date() == dt.date(2027, 11, 7)][0]
    assert sunday == dt.datetime(2027, 11, 7, 14, tzinfo=UTC)  # EST again


def test_a_patient_in_another_zone_sees_the_same_moments_three_hours_earlier():
    now = dt.datetime(2027, 6, 1, 12, tzinfo=UTC)
    slots = free_slots(hours=every_day("09:00", "10:00"), zone=NY, duration=HOUR, now=now)
    first = slots[0]
    assert f"{first.astimezone(NY):%H:%M}" == "09:00"
    assert f"{first.astimezone(LA):%H:%M}" == "06:00"


def test_time_off_removes_its_slots():
    now = dt.datetime(2027, 6, 1, 4, tzinfo=UTC)
    away = Interval(dt.datetime(2027, 6, 2, 4, tzinfo=UTC), dt.datetime(2027, 6, 3, 4, tzinfo=UTC))
    slots = free_slots(
        hours=every_day("09:00", "12:00"), zone=NY, duration=HOUR, now=now, time_off=[away]
    )
    assert on_day(slots, dt.date(2027, 6, 1))
    assert on_day(slots, dt.date(2027, 6, 2)) == []
    assert on_day(slots, dt.date(2027, 6, 3))


def test_minimum_notice_and_horizon():
    now = dt.datetime(2027, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 in New York
    slots = free_slots(
        hours=every_day("09:00", "17:00"),
        zone=NY,
        duration=HOUR,
        now=now,
        min_notice=dt.timedelta(hours=3),
        horizon=dt.timedelta(days=2),
    )
    assert on_day(slots, dt.date(2027, 6, 1))[0] == "12:00"
    assert slots[0] >= now + dt.timedelta(hours=3)
    assert max(slots) <= now + dt.timedelta(days=2)
    assert on_day(slots, dt.date(2027, 6, 4)) == []


def test_an_appointment_of_another_type_blocks_overlapping_starts():
    now = dt.datetime(2027, 6, 1, 4, tzinfo=UTC)
    # A 20-minute visit 10:10-10:30 (another type) on 2027-06-01.
    other = Interval(
        dt.datetime(2027, 6, 1, 14, 10, tzinfo=UTC), dt.datetime(2027, 6, 1, 14, 30, tzinfo=UTC)
    )
    slots = free_slots(
        hours=every_day("09:00", "12:00"),
        zone=NY,
        duration=HOUR,
        now=now,
        busy=[other],
        horizon=dt.timedelta(hours=20),
    )
    assert on_day(slots, dt.date(2027, 6, 1)) == ["09:00", "10:30", "11:00"]


def test_back_to_back_is_allowed():
    now = dt.datetime(2027, 6, 1, 4, tzinfo=UTC)
    taken = Interval(
        dt.datetime(2027, 6, 1, 13, tzinfo=UTC), dt.datetime(2027, 6, 1, 14, tzinfo=UTC)
    )
    slots = free_slots(
        hours=every_day("09:00", "11:00"),
        zone=NY,
        duration=HOUR,
        now=now,
        busy=[taken],
        horizon=dt.timedelta(hours=20),
    )
    assert on_day(slots, dt.date(2027, 6, 1)) == ["10:00"]


def test_is_free_agrees_with_the_list():
    now = dt.datetime(2027, 6, 1, 4, tzinfo=UTC)
    hours = every_day("09:00", "11:00")
    slots = free_slots(hours=hours, zone=NY, duration=HOUR, now=now)
    assert is_free(slots[3], hours=hours, zone=NY, duration=HOUR, now=now)
    assert not is_free(
        slots[3] + dt.timedelta(minutes=7), hours=hours, zone=NY, duration=HOUR, now=now
    )


def test_it_refuses_a_non_positive_duration():
    with pytest.raises(ValueError):
        free_slots(hours=[], zone=NY, duration=dt.timedelta(0), now=dt.datetime.now(UTC))
