"""Sessions, occupancies and counts under real delivery: duplicates, reordering, gaps, concurrency."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from meetings import events as ev
from meetings import live
from meetings.models import MeetingSession, Occupancy
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.prosody import kind_of, raw, recording, renamed, scenario

# Every test here runs through both implementations of the count rules (tests/meetings/conftest.py).
pytestmark = pytest.mark.usefixtures("count_path")


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.fixture
def demo(db):
    return TenantFactory(slug="demo", name="Demo University")


def feed(demo, rec_or_name, body: bytes | None = None) -> live.Outcome:
    rec = recording(rec_or_name) if isinstance(rec_or_name, str) else rec_or_name
    event = ev.parse_event(kind_of(rec), raw(rec) if body is None else body)
    return live.record_event(deployment=demo.deployment, event=event)


def edited(name: str, change) -> tuple[dict, bytes]:
    rec = recording(name)
    body = rec["body"]
    change(body)
    return rec, json.dumps(body).encode()


def basic(n: int) -> str:
    return {
        1: "basic-01-muc-room-created.json",
        2: "basic-02-muc-occupant-joined.json",
        3: "basic-03-muc-occupant-joined.json",
        4: "basic-04-muc-occupant-left.json",
        5: "basic-05-muc-occupant-left.json",
        6: "basic-06-muc-room-destroyed.json",
    }[n]


def session() -> MeetingSession:
    return MeetingSession.objects.get()


def test_duplicates_change_nothing(demo):
    RoomFactory(tenant=demo, name="room1")
    for n in (1, 2, 3):
        feed(demo, basic(n))
    before = MeetingSession.objects.values().get()
    for n in (1, 2, 3):
        assert feed(demo, basic(n)).changed is False
    after = MeetingSession.objects.values().get()
    before.pop("updated_at"), after.pop("updated_at")
    assert before == after
    assert Occupancy.objects.count() == 2


def test_retry_arrival_order_from_the_recording(demo):
    """retry-5xx.json: four rounds, the joined/left order swapped in rounds 3 and 4, for room 'retryroom'."""
    recorded = recording("retry-5xx.json")
    bodies = {
        "room/created": renamed(recording(basic(1)), "retryroom"),
        "occupant/joined": renamed(recording(basic(2)), "retryroom"),
        "occupant/left": renamed(recording(basic(5)), "retryroom"),  # alice's leave: the one accepted join
        "room/destroyed": None,
    }
    destroyed = recording(basic(6))["body"]
    destroyed["all_occupants"] = [o for o in destroyed["all_occupants"] if o["id"] == "alice-0001"]
    destroyed["room_name"], destroyed["room_jid"] = "retryroom", "retryroom@conference.meet.test"
    bodies["room/destroyed"] = json.dumps(destroyed).encode()
    RoomFactory(tenant=demo, name="retryroom")
    for _delay, kind in recorded["arrivals_s_after_first"]:
        live.record_event(deployment=demo.deployment, event=ev.parse_event(kind, bodies[kind]))
    s = session()
    assert Occupancy.objects.count() == 1
    assert s.destroyed_at is not None
    assert s.current_count == 0
    assert s.peak_participants == 1
    assert s.participant_seconds == 1795467226 - 1795467222


def test_left_before_joined_is_kept_and_matched(demo):
    feed(demo, basic(1))
    feed(demo, basic(2))  # A joins, count 1
    assert feed(demo, basic(4)).count == 1  # B leaves (count 1) before B's join arrived
    outcome = feed(demo, basic(3))  # B's join, late: must not raise the count to 2
    assert outcome.changed is False
    s = session()
    assert s.current_count == 1
    bob = Occupancy.objects.get(participant_id="bob-0002")
    assert bob.joined_at == ts(1795467224)
    assert bob.left_at == ts(1795467225)
    assert Occupancy.objects.count() == 2
    feed(demo, basic(5))
    assert session().current_count == 0


def test_older_count_does_not_overwrite_newer(demo):
    feed(demo, basic(1))
    feed(demo, basic(3))  # B joined at ...224, count 2
    feed(demo, basic(2))  # A joined at ...222 with count 1, arriving later
    assert session().current_count == 2


def test_destroyed_before_last_left(demo):
    """tenant scenario: destroyed with A inside; left and destroyed arrived in either order."""
    demo.deployment.tenant_path = "acme"
    demo.deployment.save()
    room = RoomFactory(tenant=demo, name="room2")
    recs = scenario("tenant")
    for rec in (recs[0], recs[1], recs[3], recs[2]):
        feed(demo, rec)
    s = session()
    assert s.room == room
    assert s.current_count == 0
    assert s.destroyed_at == ts(1795467231)
    occupancy = Occupancy.objects.get()
    assert occupancy.left_at == ts(1795467231)
    assert s.participant_seconds == 2


def test_destroyed_closes_open_occupancies_with_its_times(demo):
    feed(demo, basic(1))
    feed(demo, basic(2))
    feed(demo, basic(3))
    # Lost leaves: the destroy event carries both intervals.
    feed(demo, basic(6))
    s = session()
    assert s.current_count == 0
    times = dict(Occupancy.objects.values_list("participant_id", "left_at"))
    assert times == {"alice-0001": ts(1795467226), "bob-0002": ts(1795467225)}
    assert s.participant_seconds == 5
    assert s.peak_participants == 2


def test_destroyed_with_empty_object_closes_at_destroyed_at(demo):
    feed(demo, "edge-01-muc-room-created.json")
    feed(demo, "edge-02-muc-occupant-joined.json")
    rec, body = edited("edge-04-muc-room-destroyed.json", lambda b: b.update(all_occupants={}))
    feed(demo, rec, body)
    occupancy = Occupancy.objects.get()
    assert occupancy.left_at == ts(1795467238)
    assert session().current_count == 0


def test_room_nobody_entered(demo):
    feed(demo, "edge-05-muc-room-created.json")
    feed(demo, "edge-06-muc-room-destroyed.json")
    s = session()
    assert s.peak_participants == 0
    assert s.destroyed_at == ts(1795467239)
    assert not Occupancy.objects.exists()


def test_destroyed_first_then_everything_else(demo):
    for n in (6, 5, 4, 3, 2, 1):
        feed(demo, basic(n))
    s = session()
    assert s.destroyed_at is not None
    assert s.created_at == ts(1795467221)
    assert s.current_count == 0
    assert s.participant_seconds == 5
    assert Occupancy.objects.count() == 2
    assert MeetingSession.objects.count() == 1


def test_created_after_joins_fills_in_the_start(demo):
    feed(demo, basic(2))
    feed(demo, basic(1))
    s = session()
    assert s.created_at == ts(1795467221)
    assert s.current_count == 1


def test_gap_missing_destroyed_is_closed_by_next_created(demo):
    feed(demo, basic(1))
    feed(demo, basic(2))
    rec, body = edited(basic(1), lambda b: b.update(created_at=1795467300))
    feed(demo, rec, body)
    sessions = list(MeetingSession.objects.order_by("id"))
    assert len(sessions) == 2
    assert sessions[0].destroyed_at == ts(1795467300)
    assert sessions[0].current_count == 0
    assert sessions[1].destroyed_at is None
    assert Occupancy.objects.get().left_at == ts(1795467300)


def test_late_leave_of_a_previous_life_goes_to_that_life(demo):
    rec, body = edited(basic(6), lambda b: b.update(all_occupants={}))
    feed(demo, basic(1))
    feed(demo, basic(2))
    feed(demo, rec, body)  # destroyed at ...227, closes A at ...227
    rec2, body2 = edited(basic(1), lambda b: b.update(created_at=1795467400))
    feed(demo, rec2, body2)  # a new life
    assert feed(demo, basic(5)).changed is False  # A's leave: already closed by the destroy
    new = MeetingSession.objects.get(destroyed_at__isnull=True)
    assert new.current_count == 0
    assert not Occupancy.objects.filter(session=new).exists()


def test_count_never_below_zero(demo):
    def no_count(b):
        del b["active_occupants_count"]

    rec, body = edited(basic(4), no_count)
    feed(demo, rec, body)  # a leave of someone we never saw join, without a count
    assert session().current_count == 0


def test_without_count_open_occupancies_are_counted(demo):
    def no_count(b):
        del b["active_occupants_count"]

    for n in (2, 3):
        rec, body = edited(basic(n), no_count)
        feed(demo, rec, body)
    assert session().current_count == 2


def test_active_occupants_count_is_authoritative(demo):
    rec, body = edited(basic(2), lambda b: b.update(active_occupants_count=7))
    feed(demo, rec, body)
    s = session()
    assert s.current_count == 7
    assert s.peak_participants == 7


def test_reconnect_is_a_new_occupant(demo):
    feed(demo, basic(2))
    rec, body = edited(basic(2), lambda b: b["occupant"].update(occupant_jid="other@meet.test/res"))
    feed(demo, rec, body)
    assert Occupancy.objects.count() == 2
    assert set(Occupancy.objects.values_list("participant_id", flat=True)) == {"alice-0001"}


def test_breakout_rooms_are_not_attached(demo):
    RoomFactory(tenant=demo, name="room1")
    rec, body = edited(basic(1), lambda b: b.update(is_breakout=True, breakout_room_id="x"))
    feed(demo, rec, body)
    assert session().room is None


def test_broadcasts_only_after_commit_and_only_on_change(demo, django_capture_on_commit_callbacks):
    RoomFactory(tenant=demo, name="room1")
    with django_capture_on_commit_callbacks() as callbacks:
        feed(demo, basic(1))  # count stays 0
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        feed(demo, basic(2))
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        feed(demo, basic(2))  # duplicate
        feed(demo, basic(1))  # duplicate
    assert callbacks == []


def test_unknown_rooms_never_broadcast(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        feed(demo, basic(2))
    assert callbacks == []
    assert session().current_count == 1


def test_shown_count(demo):
    room = RoomFactory(tenant=demo, name="room1")
    assert live.shown_count(room).count == 0
    feed(demo, basic(1))
    feed(demo, basic(2))
    shown = live.shown_count(room)
    assert shown.count == 1
    assert shown.key == (session().pk, 1)
    feed(demo, basic(6))
    closed = live.shown_count(room)
    assert closed.count == 0
    assert closed.key > shown.key


def test_same_room_name_in_two_tenants(demo, other_tenant):
    mine = RoomFactory(tenant=demo, name="room1")
    theirs = RoomFactory(tenant=other_tenant, name="room1")
    feed(demo, basic(2))
    assert live.shown_count(mine).count == 1
    assert live.shown_count(theirs).count == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_count_once():
    """Four byte-identical deliveries at once, each in its own connection: no error, no double count."""
    demo = TenantFactory(slug="demo", name="Demo University")
    for round_ in range(3):  # a few rounds: the races differ from run to run
        name = f"room{round_}"
        RoomFactory(tenant=demo, name=name)
        # Other rooms, other connections (a session JID is only ever in one room).
        bodies = [
            (
                kind_of(recording(basic(n))),
                renamed(recording(basic(n)), name).replace(b"/harness-", b"/r%d-" % round_),
            )
            for n in (1, 2, 3)
        ]
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def deliver(bodies=bodies, errors=errors, barrier=barrier):
            try:
                barrier.wait()
                with scope(tenant=demo.pk):  # a new thread has no scope: enter it as the event view does
                    for kind, body in bodies:
                        live.record_event(deployment=demo.deployment, event=ev.parse_event(kind, body))
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        s = MeetingSession.objects.get(room_name=name)
        assert s.destroyed_at is None
        assert Occupancy.objects.filter(session=s).count() == 2
        assert s.current_count == 2
        assert s.peak_participants == 2
        assert s.version == 2  # 0 -> 1 -> 2, each change once


def test_purge_occupancies_keeps_totals(demo, other_tenant):
    demo.retention_days = 30
    demo.save()
    for rec in scenario("basic"):
        feed(demo, rec)
    before = session().participant_seconds
    # The recorded events are from 2026-11-23: 40 days later they are past demo's retention.
    later = ts(1795467227) + timedelta(days=40)
    assert live.purge_occupancies(now=later) == 2
    assert not Occupancy.objects.exists()
    s = session()
    assert s.participant_seconds == before
    assert s.peak_participants == 2


def test_purge_respects_each_tenants_retention(demo):
    demo.retention_days = 365
    demo.save()
    for rec in scenario("basic"):
        feed(demo, rec)
    assert live.purge_occupancies(now=ts(1795467227) + timedelta(days=40)) == 0
    assert Occupancy.objects.count() == 2


def test_purge_keeps_open_occupancies(demo):
    demo.retention_days = 1
    demo.save()
    feed(demo, basic(2))
    assert live.purge_occupancies(now=timezone.now() + timedelta(days=400)) == 0


def test_purge_command(demo, capsys):
    demo.retention_days = 1
    demo.save()
    for rec in scenario("basic"):
        feed(demo, rec)
    call_command("purge_occupancies")
    assert "2" in capsys.readouterr().out
    assert not Occupancy.objects.exists()


def test_post_sample_events_local(demo, capsys):
    RoomFactory(tenant=demo, name="room1")
    call_command("post_sample_events", "demo", "room1", "--local", "--delay", "0", "--people", "2")
    out = capsys.readouterr().out
    assert "occupant/joined: count 2" in out
    s = session()
    assert s.peak_participants == 2
    assert s.destroyed_at is not None
    assert Occupancy.objects.count() == 2


def test_post_sample_events_keep(demo):
    room = RoomFactory(tenant=demo, name="room1")
    call_command("post_sample_events", "demo", "room1", "--local", "--delay", "0", "--keep")
    assert live.shown_count(room).count == 3


@pytest.mark.django_db(transaction=True)
def test_post_sample_events_over_http(tmp_path):
    """Against a real server process, as a developer would use it next to `make run`."""
    from tests.meetings.servers import daphne_servers

    demo = TenantFactory(slug="demo", name="Demo University")
    room = RoomFactory(tenant=demo, name="room1")
    with daphne_servers(1, tmp_path) as (server,):
        call_command("post_sample_events", "demo", "room1", "--url", server.http, "--delay", "0", "--keep")
    assert live.shown_count(room).count == 3


@pytest.mark.parametrize("count_path", ["sql"], indirect=True)  # about the SQL path itself
def test_join_and_leave_with_a_count_take_one_statement(demo, django_assert_num_queries):
    """The common events into an open session: one round trip each (meetings.live's one-statement paths)."""
    RoomFactory(tenant=demo, name="room1")
    feed(demo, basic(1))
    with django_assert_num_queries(1):
        outcome = feed(demo, basic(2))
    assert outcome.changed and outcome.count == 1
    with django_assert_num_queries(1):
        assert not feed(demo, basic(2)).changed  # the duplicate, decided in the same single statement
    feed(demo, basic(3))
    with django_assert_num_queries(1):
        outcome = feed(demo, basic(4))
    assert outcome.changed and outcome.count == 1
    with django_assert_num_queries(1):
        assert not feed(demo, basic(4)).changed
    s = session()
    assert (s.current_count, s.peak_participants, s.version) == (1, 2, 3)
    left = Occupancy.objects.get(left_at__isnull=False)
    assert s.participant_seconds == int((left.left_at - left.joined_at).total_seconds())


@pytest.mark.parametrize("count_path", ["sql"], indirect=True)  # about the SQL path itself
def test_one_statement_join_keeps_a_newer_count(demo):
    RoomFactory(tenant=demo, name="room1")
    feed(demo, basic(1))
    feed(demo, basic(3))  # the later join first: count 2 as of its time
    outcome = feed(demo, basic(2))  # the earlier join, count 1, arrives late
    assert outcome.changed and outcome.count == 2
    assert (session().current_count, session().version) == (2, 1)
    assert Occupancy.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_leaves_count_once():
    """Four byte-identical deliveries of each leave at once: seconds and count changed once per leave."""
    demo = TenantFactory(slug="demo", name="Demo University")
    RoomFactory(tenant=demo, name="room1")
    for n in (1, 2, 3):
        feed(demo, basic(n))
    bodies = [(kind_of(recording(basic(n))), raw(recording(basic(n)))) for n in (4, 5)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def deliver():
        try:
            barrier.wait()
            with scope(
                tenant=demo
            ):  # as the event view does (a thread starts without the test's scope state)
                for kind, body in bodies:
                    live.record_event(deployment=demo.deployment, event=ev.parse_event(kind, body))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = session()
    expected = sum(
        int((o.left_at - o.joined_at).total_seconds()) for o in Occupancy.objects.filter(session=s)
    )
    assert Occupancy.objects.filter(session=s, left_at__isnull=True).count() == 0
    assert (s.current_count, s.version, s.participant_seconds) == (0, 4, expected)
