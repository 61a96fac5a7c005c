"""When a room may be entered: the join window of its lecture series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meetings import recurrence
from meetings.models import LectureSeries, Room


@dataclass(frozen=True)
class JoinWindow:
    is_open: bool
    opens_at: datetime | None = None  # the next opening, when closed
    closes_at: datetime | None = None  # end of the current lecture plus grace, when known


MEMO_LONGEST = timedelta(seconds=60)


def join_window(room: Room, now: datetime) -> JoinWindow:
    """Open from N minutes before a lecture until its end plus grace; rooms without a series are always open.

    When a room has series but none of them has a lecture left, it stays closed (opens_at None): the host
    ends the series (deletes it) to make the room an always-open room again.

    Rooms from joincache.room_named() bring their series and a memo shared by the process's copies of the
    room (meetings/joincache.py): the answer holds until the next opening or closing of a lecture it looked
    at (at most a minute), so a burst of joins computes the recurrence once."""
    memo = getattr(room, "hot_window_memo", None)
    if memo is not None and memo:
        valid_from, valid_until, window = memo[0]
        if valid_from <= now < valid_until:
            return window
    window, boundary = _join_window(room, now)
    if memo is not None:
        memo[:] = [(now, min(boundary or now + MEMO_LONGEST, now + MEMO_LONGEST), window)]
    return window


def _join_window(room: Room, now: datetime) -> tuple[JoinWindow, datetime | None]:
    """The window, and the first moment after `now` when an opening or closing it looked at passes."""
    preloaded = getattr(room, "hot_series", None)  # rooms from joincache.room_named() bring their series
    if preloaded is not None:
        series_list = list(preloaded)
    else:
        series_list = list(LectureSeries.objects.filter(room=room).prefetch_related("changes"))
    if not series_list:
        return JoinWindow(is_open=True), None
    # Look back far enough to catch a long lecture (or a moved one) still running plus its grace.
    lookback = timedelta(minutes=600 + 240)
    current: list[recurrence.Occurrence] = []
    upcoming: list[recurrence.Occurrence] = []
    boundary: datetime | None = None
    for series in series_list:
        # Within the look-back at most a few lectures end; a handful reaches the next opening.
        for occ in recurrence.next_occurrences(
            series, after=now - lookback, limit=5, include_cancelled=False
        ):
            for moment in (occ.opens_at, occ.closes_at):
                if moment > now and (boundary is None or moment < boundary):
                    boundary = moment
            if occ.opens_at <= now < occ.closes_at:
                current.append(occ)
            elif occ.opens_at > now:
                upcoming.append(occ)
    if current:
        return JoinWindow(is_open=True, closes_at=max(o.closes_at for o in current)), boundary
    if upcoming:
        return JoinWindow(is_open=False, opens_at=min(o.opens_at for o in upcoming)), boundary
    return JoinWindow(is_open=False), boundary
