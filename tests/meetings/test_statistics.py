"""Usage statistics over a fixture history: midnight crossings, clock changes, concurrency."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from meetings.statistics import Interval, busiest_rooms, daily_figures, peak_concurrent, split_by_day

ZURICH = ZoneInfo("Europe/Zurich")
UTC = ZoneInfo("UTC")


def at(y, mo, d, h, mi=0, tz=ZURICH):
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def test_meeting_crossing_midnight_counts_on_both_days():
    pieces = list(split_by_day(at(2026, 11, 2, 23, 30), at(2026, 11, 3, 0, 45), ZURICH))
    assert pieces == [(date(2026, 11, 2), 30.0), (date(2026, 11, 3), 45.0)]


def test_days_around_clock_changes_have_23_and_25_hours():
    spring = list(split_by_day(at(2026, 3, 29, 0), at(2026, 3, 30, 0), ZURICH))
    autumn = list(split_by_day(at(2026, 10, 25, 0), at(2026, 10, 26, 0), ZURICH))
    assert spring == [(date(2026, 3, 29), 23 * 60.0)]
    assert autumn == [(date(2026, 10, 25), 25 * 60.0)]


def test_local_day_not_utc_day():
    # 23:30 UTC on 1 June is 01:30 on 2 June in Zurich (summer time, UTC+2).
    pieces = list(
        split_by_day(
            datetime(2026, 6, 1, 23, 30, tzinfo=UTC), datetime(2026, 6, 1, 23, 50, tzinfo=UTC), ZURICH
        )
    )
    assert pieces == [(date(2026, 6, 2), 20.0)]


def test_peak_concurrent_treats_leave_and_join_in_one_second_as_no_overlap():
    t = at(2026, 11, 2, 10)
    one = Interval("a", t, at(2026, 11, 2, 11))
    two = Interval("a", at(2026, 11, 2, 11), at(2026, 11, 2, 12))
    three = Interval("b", at(2026, 11, 2, 10, 30), at(2026, 11, 2, 11, 30))
    assert peak_concurrent([one, two]) == 1
    assert peak_concurrent([one, two, three]) == 2
    assert peak_concurrent([]) == 0


def test_daily_figures_from_a_fixture_history():
    meetings = [
        Interval("lecture", at(2026, 10, 24, 23, 0), at(2026, 10, 25, 1, 0)),
        Interval("seminar", at(2026, 10, 25, 10, 0), at(2026, 10, 25, 11, 0)),
    ]
    presences = [
        Interval("lecture", at(2026, 10, 24, 23, 0), at(2026, 10, 25, 1, 0)),  # crosses midnight
        Interval("lecture", at(2026, 10, 24, 23, 30), at(2026, 10, 24, 23, 45)),
        Interval("seminar", at(2026, 10, 25, 10, 0), at(2026, 10, 25, 11, 0)),
        Interval("seminar", at(2026, 10, 25, 10, 15), at(2026, 10, 25, 10, 45)),
    ]
    figures = daily_figures(
        meetings=meetings, presences=presences, tz=ZURICH, first=date(2026, 10, 24), last=date(2026, 10, 26)
    )
    assert [(f.day.day, f.meetings, f.participant_minutes, f.peak_concurrent) for f in figures] == [
        (24, 1, 75.0, 2),
        (25, 1, 60.0 + 60.0 + 30.0, 2),
        (26, 0, 0.0, 0),
    ]
    assert busiest_rooms(presences) == [("lecture", 135.0), ("seminar", 90.0)]
