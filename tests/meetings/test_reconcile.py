"""reconcile_counts against a real HTTP server on 127.0.0.1 replaying the recorded room-size answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from meetings import events as ev
from meetings import live
from meetings.models import MeetingSession, Room
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.prosody import recording, room_size_answers
from tests.meetings.servers import free_port

# Every test here runs through both implementations of the count rules (tests/meetings/conftest.py).
pytestmark = pytest.mark.usefixtures("count_path")


class RoomSizeServer:
    """Answers exactly the recorded request targets; anything else as mod_muc_size does for a missing room."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []

    def replay(self, label: str) -> None:
        rec = recording(f"room-size-{label}.json")
        target = urlsplit(rec["request"].split(" ", 1)[1])
        self.answers[f"{target.path}?{target.query}"] = (rec["status"], rec["raw_body"].encode())


@contextmanager
def room_size_server() -> Iterator[tuple[RoomSizeServer, str]]:
    state = RoomSizeServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            status, body = state.answers.get(self.path, (404, b""))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def demo(db):
    tenant = TenantFactory(slug="demo", name="Demo University")
    tenant.deployment.xmpp_domain = "meet.test"
    tenant.deployment.save()
    return tenant


def open_room(demo, room_name: str, count: int) -> MeetingSession:
    body = recording("basic-02-muc-occupant-joined.json")["body"]
    body.update(room_name=room_name, active_occupants_count=count)
    live.record_event(deployment=demo.deployment, event=ev.parse_payload("occupant/joined", body))
    return MeetingSession.objects.get(room_name=room_name, destroyed_at__isnull=True)


def use_api(demo, url: str) -> None:
    demo.deployment.room_api_url = url
    demo.deployment.save()


def reconcile(capsys) -> str:
    call_command("reconcile_counts")
    return capsys.readouterr().out


def test_all_recorded_answers_are_loaded():
    assert len(room_size_answers()) == 12


@pytest.mark.parametrize(
    ("label", "events", "expected"),
    [
        ("basic-1-focus-only", 0, 0),  # 1 = "0 or 1": the event count stands
        ("basic-2-focus-A", 1, 1),
        ("basic-5-after-A-left-focus-only", 1, 1),
        ("basic-2-focus-A", 4, 1),  # events say 4, Prosody at most 1
        ("basic-3-focus-A-B", 2, 2),
        ("basic-3-focus-A-B", 0, 2),  # lost joins: Prosody's 2 wins
    ],
)
def test_counts_follow_room_size(demo, capsys, label, events, expected):
    room = RoomFactory(tenant=demo, name="room1")
    session = open_room(demo, "room1", events)
    with room_size_server() as (server, url):
        server.replay(label)
        use_api(demo, url)
        out = reconcile(capsys)
    assert server.requests == ["/room-size?room=room1&domain=meet.test"]
    session.refresh_from_db()
    assert session.current_count == expected
    assert session.room == room
    assert "room1" in out


def test_room_gone_closes_the_session(demo, capsys):
    session = open_room(demo, "room1", 2)
    with room_size_server() as (server, url):
        server.replay("basic-6-after-destroy-404")
        use_api(demo, url)
        out = reconcile(capsys)
    session.refresh_from_db()
    assert session.destroyed_at is not None
    assert session.current_count == 0
    assert session.occupancies.filter(left_at__isnull=True).count() == 0
    assert "gone" in out


def test_tenant_rooms_are_asked_with_subdomain(demo, capsys):
    demo.deployment.tenant_path = "acme"
    demo.deployment.save()
    session = open_room(demo, "[acme]room2", 3)
    with room_size_server() as (server, url):
        server.replay("tenant-subdomain-acme")
        server.replay("tenant-without-subdomain-404")
        use_api(demo, url)
        reconcile(capsys)
    assert server.requests == ["/room-size?room=room2&domain=meet.test&subdomain=acme"]
    session.refresh_from_db()
    assert session.destroyed_at is None  # asked without subdomain it would have looked gone
    assert session.current_count == 1


def test_encoded_room_names_are_encoded_again(demo, capsys):
    session = open_room(demo, "m%c3%bcller", 3)
    with room_size_server() as (server, url):
        server.replay("unicode-room-param-encoded-twice")
        server.replay("unicode-room-param-encoded-once-404")
        use_api(demo, url)
        reconcile(capsys)
    assert server.requests == ["/room-size?room=m%25c3%25bcller&domain=meet.test"]
    session.refresh_from_db()
    assert session.destroyed_at is None
    assert session.current_count == 1


def test_missing_room_api_leaves_counts_and_says_so(demo, capsys):
    session = open_room(demo, "room1", 2)
    with pytest.raises(CommandError):
        call_command("reconcile_counts")
    assert "no room API URL" in capsys.readouterr().err
    session.refresh_from_db()
    assert session.current_count == 2


def test_unreachable_room_api_leaves_counts_and_says_so(demo, capsys):
    session = open_room(demo, "room1", 2)
    use_api(demo, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(CommandError):
        call_command("reconcile_counts", "--timeout", "2")
    err = capsys.readouterr().err
    assert "failed" in err
    assert "left at 2" in err
    session.refresh_from_db()
    assert session.current_count == 2
    assert session.destroyed_at is None


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [(500, b"oops", "HTTP 500"), (200, b"<html>", "unexpected answer"), (200, b'{"participants": -1}', "-1")],
)
def test_failing_room_api_leaves_counts(demo, capsys, status, body, message):
    session = open_room(demo, "room1", 2)
    with room_size_server() as (server, url):
        server.answers["/room-size?room=room1&domain=meet.test"] = (status, body)
        use_api(demo, url)
        with pytest.raises(CommandError):
            call_command("reconcile_counts")
    assert message in capsys.readouterr().err
    session.refresh_from_db()
    assert session.current_count == 2


def test_only_live_rooms_are_asked(demo, capsys):
    for name in ("basic-01-muc-room-created.json", "basic-06-muc-room-destroyed.json"):
        rec = recording(name)
        kind = rec["request"]["path"].split("/events/", 1)[1]
        live.record_event(deployment=demo.deployment, event=ev.parse_payload(kind, rec["body"]))
    with room_size_server() as (server, url):
        use_api(demo, url)
        reconcile(capsys)
    assert server.requests == []


def answer(server: RoomSizeServer, room: str, participants: int, status: int = 200) -> None:
    server.answers[f"/room-size?room={room}&domain=meet.test"] = (
        status,
        f'{{"participants": {participants}}}'.encode(),
    )


def test_a_room_filled_while_the_portal_was_down_is_found_and_corrected(demo, capsys):
    """Its room/created and joins were lost (the portal was down through Prosody's retries): no session,
    count 0. A join token was handed out shortly before, so the room counts as recently used."""
    from django.utils import timezone

    room = RoomFactory(tenant=demo, name="lost-room")
    Room.objects.filter(pk=room.pk).update(last_used_at=timezone.now() - timedelta(minutes=20))
    stale = RoomFactory(tenant=demo, name="stale-room")  # last used long ago: not asked
    Room.objects.filter(pk=stale.pk).update(last_used_at=timezone.now() - timedelta(days=3))
    with room_size_server() as (server, url):
        answer(server, "lost-room", 3)
        use_api(demo, url)
        out = reconcile(capsys)
    assert server.requests == ["/room-size?room=lost-room&domain=meet.test"]
    session = MeetingSession.objects.get(room_name="lost-room", destroyed_at__isnull=True)
    assert session.current_count == 3 and session.room_id == room.pk
    assert "lost-room: events 0, Prosody 3 -> 3 (corrected; recently used)" in out
    assert "corrected 1, failed 0" in out


def test_a_lecture_inside_its_join_window_is_asked(demo, capsys):
    from django.utils import timezone

    from meetings.services import schedule_series

    room = RoomFactory(tenant=demo, name="lecture-hall")
    start = timezone.localtime() - timedelta(minutes=30)
    schedule_series(
        actor=room.owner,
        room=room,
        first_date=start.date() - timedelta(days=7),
        start_time=start.time().replace(second=0, microsecond=0),
        duration_minutes=120,
        weekdays=list(range(7)),
    )
    closed = RoomFactory(tenant=demo, name="closed-hall")  # its lecture is tomorrow at this hour minus 5 h
    later = timezone.localtime() + timedelta(hours=5)
    schedule_series(
        actor=closed.owner,
        room=closed,
        first_date=later.date() + timedelta(days=1),
        start_time=later.time().replace(second=0, microsecond=0),
        duration_minutes=60,
        weekdays=list(range(7)),
    )
    with room_size_server() as (server, url):
        answer(server, "lecture-hall", 40)
        use_api(demo, url)
        out = reconcile(capsys)
    assert server.requests == ["/room-size?room=lecture-hall&domain=meet.test"]
    assert "lecture-hall: events 0, Prosody 40 -> 40 (corrected; lecture)" in out


def test_a_partial_failure_corrects_the_rest_and_exits_non_zero(demo, capsys):
    from django.utils import timezone

    for name in ("room-a", "room-b"):
        room = RoomFactory(tenant=demo, name=name)
        Room.objects.filter(pk=room.pk).update(last_used_at=timezone.now())
    with room_size_server() as (server, url):
        answer(server, "room-a", 5)
        answer(server, "room-b", 0, status=500)
        use_api(demo, url)
        with pytest.raises(CommandError):
            call_command("reconcile_counts")
    captured = capsys.readouterr()
    assert "room-a: events 0, Prosody 5 -> 5 (corrected" in captured.out
    assert "room-b" in captured.err and "HTTP 500" in captured.err
    assert MeetingSession.objects.get(room_name="room-a").current_count == 5


@pytest.mark.django_db(transaction=True)  # between rounds the command hands its connection back
def test_every_keeps_reconciling_through_failures(demo, capsys, monkeypatch):
    """`--every` (make run): each round reconciles; a failing round is reported and the next one comes."""
    from meetings.management.commands import reconcile_counts

    open_room(demo, "room1", 2)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt  # ends the loop as Ctrl-C does

    monkeypatch.setattr(reconcile_counts.time, "sleep", nap)
    with room_size_server() as (server, url):
        server.answers["/room-size?room=room1&domain=meet.test"] = (500, b"down for a moment")
        use_api(demo, url)
        with pytest.raises(KeyboardInterrupt):
            call_command("reconcile_counts", "--every", "30")
    captured = capsys.readouterr()
    assert naps == [30.0, 30.0]
    assert captured.err.count("HTTP 500") == 2  # both rounds ran and said so
    assert captured.out.count("asked about 1 room(s)") == 2
