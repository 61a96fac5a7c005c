"""Who sees a recording's page, its playback link and its download (access matrix), Range answers, changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from meetings import services as room_services
from meetings.recordings import playback, services
from meetings.recordings.models import Recording
from tenants.models import AuditEntry, Membership
from tests.factories import MembershipFactory, UserFactory
from tests.recordings.helpers import make_mp4

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(room, tmp_path, recording_dirs):
    from meetings.recordings import storage

    video = make_mp4(tmp_path / "r.mp4", seconds=2)
    target = storage.recording_storage()
    with video.open("rb") as f:
        name = target.save(f"uzh/{room.name}/r.mp4", f)
    target.save(f"uzh/{room.name}/r.jpg", ContentFile(b"\xff\xd8\xff\xe0 not really a jpeg"))
    return Recording.objects.create(
        tenant=room.tenant,
        room=room,
        title="Week 1",
        file=name,
        poster=f"uzh/{room.name}/r.jpg",
        size_bytes=video.stat().st_size,
        sha256="0" * 64,
        ended_at=timezone.now(),
        status=Recording.Status.READY,
        duration_seconds=2.0,
    )


@pytest.fixture
def actors(room, host, member, outsider, recording_tenant):
    cohost = MembershipFactory(
        tenant=recording_tenant, role=Membership.Role.MEMBER, user=UserFactory(username="cohost")
    ).user
    room_services.add_co_host(actor=host, room=room, user=cohost)
    return {"host": host, "cohost": cohost, "member": member, "outsider": outsider, "anonymous": None}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# visibility -> actors who may watch
MATRIX = {
    "hosts": {"host", "cohost"},
    "members": {"host", "cohost", "member"},
    "link": {"host", "cohost", "member", "outsider", "anonymous"},
}


@pytest.mark.parametrize("visibility", list(MATRIX))
def test_access_matrix_for_page_playback_and_download(recording, actors, visibility) -> None:
    Recording.objects.filter(pk=recording.pk).update(visibility=visibility)
    recording.refresh_from_db()
    page = f"/uzh/recordings/{recording.code}/"
    for actor, user in actors.items():
        client = client_for(user)
        response = client.get(page)
        allowed = actor in MATRIX[visibility]
        if allowed:
            assert response.status_code == 200, (actor, visibility)
            assert 'data-testid="recording-video"' in response.content.decode()
            has_download = 'data-testid="download"' in response.content.decode()
            assert has_download == (actor in {"host", "cohost"}), (actor, visibility)
        elif actor == "anonymous" and visibility == "members":
            assert response.status_code == 302 and "/saml2/login/" in response["Location"]
        else:
            assert response.status_code == 404, (actor, visibility)
        rooms = client.get(f"/uzh/rooms/{recording.room.name}/recordings/")
        if actor in {"host", "cohost", "member"}:
            assert rooms.status_code == 200
            assert (recording.code in rooms.content.decode()) == allowed, (actor, visibility)
        else:
            assert rooms.status_code in (302, 404)


def test_playback_link_is_signed_expires_and_serves_ranges(recording) -> None:
    client = Client()
    url = playback.url(recording, "video")
    whole = client.get(url)
    assert whole.status_code == 200 and int(whole["Content-Length"]) == recording.size_bytes
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/mp4"
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{recording.size_bytes}"
    body = b"".join(part.streaming_content)
    stored = b"".join(whole.streaming_content)
    assert body == stored[100:200]
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == stored[-10:]
    assert client.get(url, HTTP_RANGE=f"bytes={recording.size_bytes + 5}-").status_code == 416
    tampered = url.replace("d=0", "d=1")
    assert client.get(tampered).status_code == 403
    old = playback.url(recording, "video", now=timezone.now().timestamp() - 7 * 24 * 3600)
    assert client.get(old).status_code == 403
    download = client.get(playback.url(recording, "video", download=True))
    assert download["Content-Disposition"].startswith("attachment;")


def test_host_publishes_renames_keeps_and_deletes_with_audit(recording, host, member, recording_dirs) -> None:
    client = client_for(host)
    change = f"/uzh/recordings/{recording.code}/change/"
    assert client.post(change, {"visibility": "members", "title": "Week 1: torts"}).status_code == 302
    recording.refresh_from_db()
    assert recording.visibility == "members" and recording.title == "Week 1: torts"
    too_late = (timezone.localdate() + timedelta(days=5000)).isoformat()
    client.post(change, {"keep_until": too_late})
    assert Recording.objects.get(pk=recording.pk).keep_until is None
    # A member can neither change nor delete (404, as for a recording that is not there).
    assert client_for(member).post(change, {"visibility": "link"}).status_code == 404
    assert client_for(member).post(f"/uzh/recordings/{recording.code}/delete/").status_code == 404
    # Deleting needs a POST with CSRF.
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(host)
    assert csrf_client.post(f"/uzh/recordings/{recording.code}/delete/").status_code == 403
    stored = recording_dirs / "stored" / recording.file
    assert stored.exists()
    with pytest.MonkeyPatch.context():
        response = client.post(f"/uzh/recordings/{recording.code}/delete/")
    assert response.status_code == 302
    assert not Recording.objects.filter(pk=recording.pk).exists()
    actions = set(AuditEntry.objects.filter(target=recording.code).values_list("action", flat=True))
    assert {"recording.visibility_changed", "recording.renamed", "recording.deleted"} <= actions


@pytest.mark.django_db(transaction=True)
def test_retention_purge_removes_the_file_and_keeps_an_audit_row(recording, recording_dirs, settings) -> None:
    from django.core.management import call_command

    stored = recording_dirs / "stored" / recording.file
    assert stored.exists()
    Recording.objects.filter(pk=recording.pk).update(created_at=timezone.now() - timedelta(days=400))
    kept = Recording.objects.get(pk=recording.pk)
    services.set_keep_until(actor=None, recording=kept, keep_until=timezone.localdate() + timedelta(days=10))
    call_command("purge_recordings")
    assert Recording.objects.filter(pk=recording.pk).exists()  # kept until a date in the future
    Recording.objects.filter(pk=recording.pk).update(keep_until=None)
    call_command("purge_recordings")
    assert not Recording.objects.filter(pk=recording.pk).exists()
    assert not stored.exists()
    assert AuditEntry.objects.filter(action="recording.purged", target=recording.code).exists()


def test_room_page_and_lectures_page_show_recordings(recording, host, member) -> None:
    room_page = client_for(host).get(f"/uzh/rooms/{recording.room.name}/")
    assert recording.code in room_page.content.decode()
    lectures = client_for(member).get("/uzh/lectures/")
    assert recording.code not in lectures.content.decode()  # hosts only until published
    Recording.objects.filter(pk=recording.pk).update(visibility="members")
    lectures = client_for(member).get("/uzh/lectures/")
    assert recording.code in lectures.content.decode()


def test_join_page_says_the_room_may_be_recorded_and_asks_when_required(
    room, member, recording_tenant
) -> None:
    recording_tenant.recording_consent_required = True
    recording_tenant.save(update_fields=["recording_consent_required"])
    client = client_for(member)
    page = client.get(room.join_path)
    assert 'data-testid="recording-notice"' in page.content.decode()
    assert 'data-testid="recording-consent"' in page.content.decode()
    confirmed = client.post(room.join_path, {"recording_consent": "1"})
    assert confirmed.status_code in (200, 302)
    assert 'data-testid="recording-consent"' not in client.get(room.join_path).content.decode()


def test_player_lists_the_other_lectures_of_the_series(recording, host) -> None:
    from datetime import time as clock

    from meetings import services as room_services

    first = timezone.localdate() - timedelta(days=14)
    series = room_services.schedule_series(
        actor=host,
        room=recording.room,
        title="Law I",
        first_date=first,
        start_time=clock(10, 15),
        duration_minutes=90,
        interval_weeks=1,
        weekdays=[first.weekday()],
        until=None,
        count=10,
        time_zone="Europe/Zurich",
        join_opens_minutes=15,
        grace_minutes=15,
    )
    from meetings.recurrence import rule_starts

    starts = list(rule_starts(series))[:2]
    Recording.objects.filter(pk=recording.pk).update(series=series, lecture_start=starts[0])
    second = Recording.objects.create(
        tenant=recording.tenant,
        room=recording.room,
        title="Week 2",
        sha256="1" * 64,
        ended_at=timezone.now(),
        status=Recording.Status.READY,
        series=series,
        lecture_start=starts[1],
    )
    page = client_for(host).get(f"/uzh/recordings/{recording.code}/").content.decode()
    assert 'data-testid="series-recordings"' in page and second.code in page and "Lecture 2" in page


def test_admins_change_the_recording_settings_others_cannot(
    recording_tenant, admin_user, host, settings
) -> None:
    page = "/uzh/manage/recordings/"
    assert client_for(host).get(page).status_code == 403
    admin = client_for(admin_user)
    assert admin.get(page).status_code == 200
    too_long = settings.RECORDINGS_MAX_RETENTION_DAYS + 1
    refused = admin.post(page, {"recordings_enabled": "on", "recording_retention_days": str(too_long)})
    assert refused.status_code == 200
    saved = admin.post(
        page,
        {"recordings_enabled": "on", "recording_retention_days": "30", "recording_consent_required": "on"},
    )
    assert saved.status_code == 302
    recording_tenant.refresh_from_db()
    assert recording_tenant.recording_retention_days == 30 and recording_tenant.recording_consent_required
    assert AuditEntry.objects.filter(action="tenant.changed", tenant=recording_tenant).exists()
