"""Usage statistics from a fixture history: midnight, clock changes, purged occupancies, attendance, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from meetings.models import MeetingSession, Occupancy
from meetings.statistics import tenant_usage
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")


def local(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=ZURICH)


def session(tenant, room, start, end, *, peak=0, seconds=0, name=None):
    return MeetingSession.objects.create(
        tenant=tenant,
        deployment=tenant.deployment,
        room=room,
        room_name=name or (room.name if room else "adhoc"),
        created_at=start,
        destroyed_at=end,
        peak_participants=peak,
        participant_seconds=seconds,
    )


def presence(s, jid, joined, left, pid=""):
    return Occupancy.objects.create(
        tenant=s.tenant,
        deployment=s.deployment,
        session=s,
        occupant_jid=jid,
        joined_at=joined,
        left_at=left,
        participant_id=pid,
    )


@pytest.fixture
def history(tenant, host):
    law = make_room(host, tenant, title="Law hall")
    # Crosses midnight on the night of the October clock change (25 hours that Sunday).
    night = session(
        tenant, law, local(2026, 10, 24, 23, 0), local(2026, 10, 25, 1, 0), peak=2, seconds=2 * 3600
    )
    presence(night, "a@x/1", local(2026, 10, 24, 23, 0), local(2026, 10, 25, 1, 0), "p1")
    presence(night, "b@x/1", local(2026, 10, 24, 23, 30), local(2026, 10, 24, 23, 45), "p2")
    # An ad-hoc room auditorium does not know.
    adhoc = session(tenant, None, local(2026, 10, 25, 10, 0), local(2026, 10, 25, 11, 0), name="coffee")
    presence(adhoc, "c@x/1", local(2026, 10, 25, 10, 0), local(2026, 10, 25, 11, 0))
    # Older than the retention period: occupancies purged, only the aggregates remain.
    session(tenant, law, local(2026, 10, 26, 9, 0), local(2026, 10, 26, 10, 0), peak=40, seconds=30 * 3600)
    return law


def test_usage_from_a_fixture_history(tenant, history):
    usage = tenant_usage(
        tenant, first=date(2026, 10, 24), last=date(2026, 10, 26), now=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert [(d.day.day, d.meetings, d.participant_minutes, d.peak_concurrent) for d in usage.days] == [
        (24, 1, 75.0, 2),
        (25, 1, 60.0 + 60.0, 1),
        (26, 1, 1800.0, 40),
    ]
    assert usage.busiest == [("Law hall", 1935.0), ("coffee", 60.0)]
    assert (usage.meetings, usage.peak_concurrent) == (3, 40)


def test_another_tenants_meetings_never_count(tenant, other_tenant, history, outsider):
    foreign = make_room(outsider, other_tenant, title="ETH hall")
    session(
        other_tenant, foreign, local(2026, 10, 25, 9, 0), local(2026, 10, 25, 12, 0), peak=500, seconds=9**6
    )
    usage = tenant_usage(tenant, first=date(2026, 10, 24), last=date(2026, 10, 26))
    assert usage.peak_concurrent == 40 and "ETH hall" not in dict(usage.busiest)


def test_lecture_attendance_per_series(tenant, host):
    room = make_room(host, tenant, title="Algebra hall")
    series = make_series(
        room, title="Algebra", first_date=date(2026, 3, 23), start_time=time(10, 15), count=2
    )
    lecture = session(tenant, room, local(2026, 3, 23, 10, 0), local(2026, 3, 23, 12, 0))
    presence(lecture, "a@x/1", local(2026, 3, 23, 10, 5), local(2026, 3, 23, 11, 0), "p1")
    presence(
        lecture, "a@x/2", local(2026, 3, 23, 11, 1), local(2026, 3, 23, 11, 45), "p1"
    )  # reconnect: same person
    presence(lecture, "b@x/1", local(2026, 3, 23, 10, 20), local(2026, 3, 23, 11, 30), "p2")
    presence(
        lecture, "c@x/1", local(2026, 3, 23, 9, 0), local(2026, 3, 23, 9, 30), "p3"
    )  # before the room opened
    usage = tenant_usage(
        tenant, first=date(2026, 3, 23), last=date(2026, 4, 5), now=datetime(2026, 4, 6, tzinfo=UTC)
    )
    rows = [
        (a.series, a.start.astimezone(ZURICH).strftime("%m-%d %H:%M"), a.attendees) for a in usage.attendance
    ]
    # The second lecture falls after the March clock change and still starts at 10:15 local time.
    assert rows == [("Algebra", "03-23 10:15", 2), ("Algebra", "03-30 10:15", 0)]
    assert series.title == "Algebra"


def test_statistics_page_and_csv(client, admin_user, tenant, history):
    client.force_login(admin_user)
    page = client.get("/uzh/manage/statistics/", {"first": "2026-10-24", "last": "2026-10-26"})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="total-meetings">3<' in body and 'data-testid="peak">40<' in body
    # Three Chart.js canvases fed by one JSON data block; no script of the page runs inline.
    assert body.count("<canvas data-chart=") == 3
    assert [s for s in re.findall(r"<script[^>]*>", body.split("<main")[1]) if "src=" not in s] == [
        '<script id="usage-data" type="application/json">'
    ]
    response = client.get(
        "/uzh/manage/statistics/", {"first": "2026-10-24", "last": "2026-10-26", "format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["day", "meetings", "participant_minutes", "peak_concurrent"],
        ["2026-10-24", "1", "75.0", "2"],
        ["2026-10-25", "1", "120.0", "1"],
        ["2026-10-26", "1", "1800.0", "40"],
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"first": "2026-10-26", "last": "2026-10-24"}, "The period ends before it starts."),
        ({"first": "2024-01-01", "last": "2026-01-01"}, "Choose a period of at most a year."),
        ({"first": "yesterday", "last": "2026-01-01"}, "Enter a valid date."),
        ({"first": "0001-01-01", "last": "0001-02-01"}, "between the years 2000 and 2999"),
    ],
)
def test_bad_periods_are_refused(client, admin_user, tenant, query, message):
    client.force_login(admin_user)
    response = client.get("/uzh/manage/statistics/", query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_room_titles_in_charts_are_escaped(client, admin_user, tenant, host):
    room = make_room(host, tenant, title='<script>alert("x")</script>')
    s = session(tenant, room, local(2026, 10, 24, 9, 0), local(2026, 10, 24, 10, 0))
    presence(s, "a@x/1", local(2026, 10, 24, 9, 0), local(2026, 10, 24, 10, 0))
    client.force_login(admin_user)
    body = client.get(
        "/uzh/manage/statistics/", {"first": "2026-10-24", "last": "2026-10-24"}
    ).content.decode()
    assert '<script>alert("x")' not in body and "&lt;script&gt;" in body
