"""Lectures from weekly rules in Europe/Zurich: wall-clock times kept across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings import recurrence, services
from meetings.schedule import join_window
from tests.factories import RoomFactory
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def all_lectures(series, **kwargs):
    return recurrence.occurrences(series, start=utc(2020, 1, 1), end=utc(2030, 1, 1), **kwargs)


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant)


def test_weekly_monday_stays_at_1015_local_across_march_change(room):
    series = make_series(room, first_date=date(2026, 3, 16), count=4)
    lectures = all_lectures(series)
    assert [o.local_start().strftime("%a %Y-%m-%d %H:%M") for o in lectures] == [
        "Mon 2026-03-16 10:15",
        "Mon 2026-03-23 10:15",
        "Mon 2026-03-30 10:15",  # clocks went forward on Sunday 29 March
        "Mon 2026-04-06 10:15",
    ]
    # The UTC offset changes, the wall-clock time does not.
    assert [o.start for o in lectures] == [
        utc(2026, 3, 16, 9, 15),
        utc(2026, 3, 23, 9, 15),
        utc(2026, 3, 30, 8, 15),
        utc(2026, 4, 6, 8, 15),
    ]
    assert all(o.end - o.start == timedelta(minutes=90) for o in lectures)


def test_weekly_stays_local_across_october_change(room):
    series = make_series(room, first_date=date(2026, 10, 19), count=3)
    lectures = all_lectures(series)
    assert [o.start for o in lectures] == [
        utc(2026, 10, 19, 8, 15),
        utc(2026, 10, 26, 9, 15),  # clocks went back on Sunday 25 October
        utc(2026, 11, 2, 9, 15),
    ]
    assert {o.local_start().time() for o in lectures} == {time(10, 15)}


def test_every_two_weeks_on_given_weekdays_until_a_date(room):
    series = make_series(
        room,
        first_date=date(2026, 4, 13),  # Monday
        weekdays=[0, 3],  # Monday and Thursday
        interval_weeks=2,
        count=None,
        until=date(2026, 5, 11),  # a Monday: inclusive
    )
    days = [o.local_start().date() for o in all_lectures(series)]
    assert days == [
        date(2026, 4, 13),
        date(2026, 4, 16),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 11),
    ]


def test_count_limits_lectures_and_empty_weekdays_use_first_date(room):
    series = make_series(room, first_date=date(2026, 5, 6), weekdays=[], count=3)  # a Wednesday
    days = [o.local_start().date() for o in all_lectures(series)]
    assert days == [date(2026, 5, 6), date(2026, 5, 13), date(2026, 5, 20)]


def test_first_date_off_the_weekdays_starts_with_the_next_matching_day(room):
    series = make_series(room, first_date=date(2026, 5, 6), weekdays=[4], count=2)  # Wed; lectures on Fri
    assert [o.local_start().date() for o in all_lectures(series)] == [date(2026, 5, 8), date(2026, 5, 15)]


def test_cancelled_lecture_is_marked_or_left_out(room, host):
    series = make_series(room, count=3)
    second = all_lectures(series)[1]
    services.cancel_occurrence(actor=host, series=series, original_start=second.original_start, note="Ill")
    with_cancelled = all_lectures(series)
    assert [o.cancelled for o in with_cancelled] == [False, True, False]
    assert with_cancelled[1].note == "Ill"
    assert len(all_lectures(series, include_cancelled=False)) == 2


def test_moved_lecture_appears_at_new_time_even_outside_the_original_window(room, host):
    series = make_series(room, count=3)
    first = all_lectures(series)[0]
    services.move_occurrence(
        actor=host,
        series=series,
        original_start=first.original_start,
        new_date=date(2026, 4, 1),
        new_time=time(14, 0),
        new_duration_minutes=60,
    )
    lectures = all_lectures(series)
    moved = [o for o in lectures if o.moved]
    assert len(lectures) == 3 and len(moved) == 1
    assert moved[0].original_start == first.original_start
    assert moved[0].start == utc(2026, 4, 1, 12, 0)  # 14:00 summer time
    assert moved[0].end == utc(2026, 4, 1, 13, 0)
    # A window with only the new date shows the moved lecture; one with only the old date does not.
    assert [o.moved for o in recurrence.occurrences(series, start=utc(2026, 4, 1), end=utc(2026, 4, 2))] == [
        True
    ]
    assert recurrence.occurrences(series, start=utc(2026, 3, 2), end=utc(2026, 3, 3)) == []


def test_changing_the_rule_drops_changes_of_lectures_that_no_longer_exist(room, host):
    series = make_series(room, count=3)
    first = all_lectures(series)[0]
    services.cancel_occurrence(actor=host, series=series, original_start=first.original_start)
    services.change_series(actor=host, series=series, start_time=time(12, 15))
    assert series.changes.count() == 0
    assert series.revision == 2


def test_a_lecture_that_is_not_in_the_rule_cannot_be_cancelled(room, host):
    from django.core.exceptions import ValidationError

    series = make_series(room, count=3)
    with pytest.raises(ValidationError):
        services.cancel_occurrence(actor=host, series=series, original_start=utc(2026, 3, 3, 9, 15))
    assert series.changes.count() == 0


def test_spring_gap_time_does_not_exist():
    assert not recurrence.exists_locally(date(2026, 3, 29), time(2, 30), ZURICH)
    assert recurrence.exists_locally(date(2026, 3, 29), time(3, 30), ZURICH)
    # The repeated autumn hour exists (twice); the first, summer-time instant is taken.
    assert recurrence.localize(date(2026, 10, 25), time(2, 30), ZURICH) == utc(2026, 10, 25, 0, 30)


def test_open_ended_rule_is_capped():
    from meetings.models import MAX_OCCURRENCES, LectureSeries

    series = LectureSeries(
        first_date=date(2026, 1, 5), start_time=time(8, 0), duration_minutes=45, time_zone="Europe/Zurich"
    )
    assert len(list(recurrence.rule_starts(series))) == MAX_OCCURRENCES


# Join window -----------------------------------------------------------------------------------


def test_room_without_series_is_always_open(tenant, host):
    room = RoomFactory(tenant=tenant, owner=host)
    assert join_window(room, utc(2026, 3, 2, 3, 0)).is_open


@pytest.mark.parametrize(
    ("now", "is_open", "opens_at", "closes_at"),
    [
        # Lecture Mon 2 March 10:15-11:45 local = 09:15-10:45 UTC; opens 15 min before, grace 15 min after.
        (utc(2026, 3, 2, 8, 59), False, utc(2026, 3, 2, 9, 0), None),
        (utc(2026, 3, 2, 9, 0), True, None, utc(2026, 3, 2, 11, 0)),
        (utc(2026, 3, 2, 10, 0), True, None, utc(2026, 3, 2, 11, 0)),
        (utc(2026, 3, 2, 10, 59), True, None, utc(2026, 3, 2, 11, 0)),
        (utc(2026, 3, 2, 11, 0), False, utc(2026, 3, 9, 9, 0), None),
        # After the March change the opening is an hour earlier in UTC.
        (utc(2026, 3, 28, 12, 0), False, utc(2026, 3, 30, 8, 0), None),
        (utc(2025, 12, 1, 0, 0), False, utc(2026, 3, 2, 9, 0), None),
    ],
)
def test_join_window_before_inside_after(room, now, is_open, opens_at, closes_at):
    make_series(room)
    window = join_window(room, now)
    assert (window.is_open, window.opens_at, window.closes_at) == (is_open, opens_at, closes_at)


def test_cancelled_lecture_keeps_the_room_closed_and_moved_one_opens_it(room, host):
    series = make_series(room, count=3)
    first, second, _third = all_lectures(series)
    services.cancel_occurrence(actor=host, series=series, original_start=first.original_start)
    window = join_window(room, first.start)
    assert not window.is_open and window.opens_at == second.opens_at
    services.move_occurrence(
        actor=host,
        series=series,
        original_start=second.original_start,
        new_date=date(2026, 3, 10),
        new_time=time(16, 0),
    )
    assert not join_window(room, second.start).is_open
    assert join_window(room, utc(2026, 3, 10, 15, 30)).is_open  # 16:30 local, during the moved lecture


def test_room_whose_series_ended_stays_closed(room):
    make_series(room, count=1)
    window = join_window(room, utc(2026, 6, 1))
    assert not window.is_open and window.opens_at is None


def test_join_window_of_two_series_takes_the_earliest_opening(room):
    make_series(room, count=2)  # Mondays 10:15
    make_series(room, first_date=date(2026, 3, 4), weekdays=[2], start_time=time(8, 0), count=2)  # Wed 08:00
    window = join_window(room, utc(2026, 3, 2, 12, 0))
    assert window.opens_at == utc(2026, 3, 4, 6, 45)


# Property: whatever the rule, every lecture starts at the chosen wall-clock time on a chosen weekday ------


@settings(max_examples=150, deadline=None)
@given(
    first_date=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)),
    # Lectures between 06:00 and 22:59: never in the 02:00-03:00 hour the clocks skip or repeat.
    start_time=st.builds(time, st.integers(6, 22), st.sampled_from([0, 15, 30, 45])),
    weekdays=st.sets(st.integers(0, 6), max_size=7),
    interval=st.integers(1, 4),
    count=st.integers(1, 80),
    time_zone=st.sampled_from(["Europe/Zurich", "America/New_York", "Australia/Sydney", "UTC"]),
)
def test_wall_clock_time_and_weekdays_hold_for_any_rule(
    first_date, start_time, weekdays, interval, count, time_zone
):
    from meetings.models import LectureSeries

    series = LectureSeries(
        first_date=first_date,
        start_time=start_time,
        duration_minutes=90,
        interval_weeks=interval,
        weekdays=sorted(weekdays),
        count=count,
        time_zone=time_zone,
    )
    tz = ZoneInfo(time_zone)
    starts = list(recurrence.rule_starts(series))
    assert len(starts) == count
    assert starts == sorted(set(starts))
    allowed = weekdays or {first_date.weekday()}
    first_monday = first_date - timedelta(days=first_date.weekday())
    for start in starts:
        local = start.astimezone(tz)
        assert local.time() == start_time
        assert local.weekday() in allowed
        assert local.date() >= first_date
        weeks = (local.date() - first_monday).days // 7
        assert weeks % interval == 0


@pytest.mark.parametrize("weekdays", [[7], [-1], ["0"], [1.5], "0"])
def test_service_refuses_bad_weekdays(room, weekdays):
    from django.core.exceptions import ValidationError

    from meetings.models import LectureSeries

    with pytest.raises(ValidationError):
        make_series(room, weekdays=weekdays)
    assert not LectureSeries.objects.exists()
