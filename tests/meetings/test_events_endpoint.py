"""POST /jitsi/<deployment>/events/...: the recorded Prosody requests, authentication and bad bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from meetings import event_views
from meetings.models import MeetingSession, Occupancy
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.prosody import raw, recording, scenario

# Every test here runs through both implementations of the count rules (tests/meetings/conftest.py).
pytestmark = pytest.mark.usefixtures("count_path")

SECRET = "event-secret-of-demo-0123456789"


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    event_views.forget_deployments()
    yield
    event_views.forget_deployments()


@pytest.fixture
def demo(db):
    """The tenant whose deployment slug (`demo`) the recordings were posted to."""
    return TenantFactory(slug="demo", name="Demo University")


def post(
    client: Client, rec: dict, *, secret: str = SECRET, body: bytes | None = None, path: str | None = None
):
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return client.post(
        path or rec["request"]["path"],
        data=raw(rec) if body is None else body,
        content_type="application/json",
        headers={"User-Agent": "Prosody (0.12.3; posix)", **headers},
    )


def test_basic_scenario_as_recorded(demo, client):
    room = RoomFactory(tenant=demo, name="room1")
    counts = []
    for rec in scenario("basic"):
        response = post(client, rec)
        assert response.status_code == 200, response.content
        counts.append(response.json()["count"])
    assert counts == [0, 1, 2, 1, 0, 0]
    session = MeetingSession.objects.get()
    assert session.room == room
    assert session.tenant == demo
    assert session.created_at == ts(1795467221)
    assert session.destroyed_at == ts(1795467227)
    assert session.peak_participants == 2
    assert session.participant_seconds == (1795467225 - 1795467224) + (1795467226 - 1795467222)
    assert session.current_count == 0
    occupancies = Occupancy.objects.order_by("joined_at")
    assert [o.participant_id for o in occupancies] == ["alice-0001", "bob-0002"]
    assert all(o.left_at is not None for o in occupancies)


def test_no_personal_data_beyond_the_id_is_kept(demo, client):
    for rec in scenario("userinfo-basic"):
        assert post(client, rec).status_code == 200
    stored = json.dumps(list(Occupancy.objects.values()), default=str)
    assert "alice@example.org" not in stored
    assert "Alice Example" not in stored


def test_answers_are_json(demo, client):
    response = post(client, recording("basic-01-muc-room-created.json"))
    assert response["Content-Type"] == "application/json"
    assert response.json()["ok"] is True


def test_unknown_room_is_counted_but_not_attached(demo, client):
    post(client, recording("edge-01-muc-room-created.json"))
    response = post(client, recording("edge-02-muc-occupant-joined.json"))
    assert response.status_code == 200
    session = MeetingSession.objects.get(room_name="room3")
    assert session.room is None
    assert session.deployment == demo.deployment
    assert session.current_count == 1


def test_tenant_path_room_is_attached_to_the_tenants_room(demo, client):
    demo.deployment.tenant_path = "acme"
    demo.deployment.save()
    room = RoomFactory(tenant=demo, name="room2")
    for rec in scenario("tenant"):
        assert post(client, rec).status_code == 200
    session = MeetingSession.objects.get()
    assert session.room_name == "[acme]room2"
    assert session.room == room
    assert session.destroyed_at is not None


def test_tenant_path_of_another_segment_is_not_attached(demo, client):
    RoomFactory(tenant=demo, name="room2")  # the deployment has no tenant path: [acme]room2 is not ours
    post(client, recording("tenant-01-muc-room-created.json"))
    assert MeetingSession.objects.get().room is None


def test_unicode_room_stays_encoded(demo, client):
    for rec in scenario("unicode"):
        assert post(client, rec).status_code == 200
    assert MeetingSession.objects.get().room_name == "m%c3%bcller"


def test_wrong_secret(demo, client):
    response = post(client, recording("basic-01-muc-room-created.json"), secret="not-the-secret")
    assert response.status_code == 401
    assert "secret" in response.json()["error"]
    assert not MeetingSession.objects.exists()


def test_missing_authorization(demo, client):
    response = post(client, recording("basic-01-muc-room-created.json"), secret=None)
    assert response.status_code == 401


def test_not_a_bearer_token(demo, client):
    response = client.post(
        "/jitsi/demo/events/room/created",
        data=raw(recording("basic-01-muc-room-created.json")),
        content_type="application/json",
        headers={"Authorization": f"Basic {SECRET}"},
    )
    assert response.status_code == 401


def test_another_deployments_secret(demo, other_tenant, client):
    other_secret = other_tenant.deployment.event_secret
    response = post(client, recording("basic-01-muc-room-created.json"), secret=other_secret)
    assert response.status_code == 401
    # ... and the other deployment's own path works with it, so the secret itself was valid.
    response = post(
        client,
        recording("basic-01-muc-room-created.json"),
        secret=other_secret,
        path=f"/jitsi/{other_tenant.deployment.slug}/events/room/created",
    )
    assert response.status_code == 200
    session = MeetingSession.objects.get()
    assert session.tenant == other_tenant


def test_unknown_deployment(db, client):
    response = post(
        client, recording("basic-01-muc-room-created.json"), path="/jitsi/nope/events/room/created"
    )
    assert response.status_code == 401


def test_deployment_without_secret_accepts_nothing(demo, client):
    demo.deployment.event_secret = ""
    demo.deployment.save()
    assert post(client, recording("basic-01-muc-room-created.json"), secret="").status_code == 401


def test_inactive_tenant(demo, client):
    demo.is_active = False
    demo.save()
    assert post(client, recording("basic-01-muc-room-created.json")).status_code == 401


def test_malformed_json(demo, client):
    response = post(client, recording("basic-01-muc-room-created.json"), body=b'{"room_name": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_missing_field(demo, client):
    rec = recording("basic-02-muc-occupant-joined.json")
    del rec["body"]["occupant"]["joined_at"]
    response = post(client, rec, body=json.dumps(rec["body"]).encode())
    assert response.status_code == 400
    assert "occupant.joined_at" in response.json()["error"]
    assert not Occupancy.objects.exists()


def test_wrong_type(demo, client):
    rec = recording("basic-02-muc-occupant-joined.json")
    rec["body"]["active_occupants_count"] = "many"
    response = post(client, rec, body=json.dumps(rec["body"]).encode())
    assert response.status_code == 400
    assert "active_occupants_count" in response.json()["error"]
    assert not MeetingSession.objects.exists()


def test_wrong_event_for_path(demo, client):
    rec = recording("basic-01-muc-room-created.json")
    response = post(client, rec, path="/jitsi/demo/events/occupant/left")
    assert response.status_code == 400


def test_huge_body(demo, client):
    body = b'{"pad": "' + b"x" * (event_views.MAX_BODY_BYTES + 10) + b'"}'
    response = post(client, recording("basic-01-muc-room-created.json"), body=body)
    assert response.status_code == 413
    assert not MeetingSession.objects.exists()


def test_unknown_event_path(demo, client):
    response = post(
        client, recording("basic-01-muc-room-created.json"), path="/jitsi/demo/events/room/exploded"
    )
    assert response.status_code == 404


def test_get_is_refused(demo, client):
    assert client.get("/jitsi/demo/events/room/created").status_code == 405


def test_no_csrf_token_needed(demo):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, recording("basic-01-muc-room-created.json")).status_code == 200


def test_retries_are_harmless(demo, client):
    """What a 5xx answer makes Prosody do: every event four times, byte-identical (retry-5xx.json)."""
    RoomFactory(tenant=demo, name="room1")
    recs = scenario("basic")
    for _attempt in range(4):
        for rec in recs:
            assert post(client, rec).status_code == 200
    session = MeetingSession.objects.get()
    assert Occupancy.objects.count() == 2
    assert session.peak_participants == 2
    assert session.participant_seconds == 5
    assert session.current_count == 0


def test_rotated_secret_is_accepted_at_once_despite_the_cache(demo, client):
    """Each process caches the deployment; a secret rotated elsewhere must not be refused (Prosody does not
    retry a 401), while wrong secrets re-read the database at most once a second."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.services import rotate_event_secret

    RoomFactory(tenant=demo, name="room1")
    first, second = scenario("basic")[:2]
    assert post(client, first).status_code == 200  # the deployment (old secret) is now cached
    new_secret = rotate_event_secret(actor=None, tenant=demo)  # as if in another process: cache untouched
    cached = event_views._deployments.peek("demo")
    assert cached is not None
    event_views._deployments.put("demo", (), cached.value, cached.loaded_at - 2.0)  # read two seconds ago
    response = post(client, second, secret=new_secret)
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is True
    with CaptureQueriesContext(connection) as queries:
        assert post(client, second, secret=SECRET).status_code == 401  # the old secret is gone
        assert post(client, second, secret="wrong-secret").status_code == 401
    assert not [q for q in queries.captured_queries if "jitsideployment" in q["sql"]]  # re-read <= 1/s


def test_old_secret_is_refused_at_once_despite_the_cache(demo, client):
    """Another process rotates the secret while this one has the deployment cached: the old secret must be
    refused from the next event on (a leaked secret is why one rotates), both on the one-statement path (a
    join into an open session) and by the general services (a room's first event), with nothing recorded."""
    from tenants.services import rotate_event_secret

    RoomFactory(tenant=demo, name="room1")
    created, joined = scenario("basic")[:2]
    assert post(client, created).status_code == 200  # the deployment (old secret) is now cached
    stale = event_views._deployments.value("demo")
    rotate_event_secret(actor=None, tenant=demo)  # as if in another process: this one's cache untouched

    response = post(client, joined)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="jitsi-events"'
    assert not Occupancy.objects.exists()
    assert MeetingSession.objects.get().current_count == 0

    event_views._deployments.put("demo", (), stale)  # the copy was re-read; another stale process, then
    response = post(client, recording("edge-01-muc-room-created.json"))  # room3, new: the general service
    assert response.status_code == 401, response.content
    assert not MeetingSession.objects.filter(room_name="room3").exists()


def test_a_switched_off_tenant_is_refused_at_once_despite_the_cache(demo, client):
    RoomFactory(tenant=demo, name="room1")
    created, joined = scenario("basic")[:2]
    assert post(client, created).status_code == 200
    type(demo).objects.filter(pk=demo.pk).update(is_active=False)  # as if in another process
    assert post(client, joined).status_code == 401
    assert not Occupancy.objects.exists()
