"""The recordings API: list a room's recordings, read one (with a playback link), change, delete; tenants."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from meetings.recordings.models import Recording
from tenants.models import AuditEntry
from tests.api_support import bearer_client, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(room, recording_dirs):
    from django.core.files.base import ContentFile

    from meetings.recordings import storage

    name = storage.recording_storage().save(f"uzh/{room.name}/a.mp4", ContentFile(b"\x00" * 1000))
    return Recording.objects.create(
        tenant=room.tenant,
        room=room,
        title="Week 2",
        file=name,
        sha256="0" * 64,
        size_bytes=1000,
        ended_at=timezone.now(),
        status=Recording.Status.READY,
    )


def test_host_lists_reads_changes_and_deletes(recording, host) -> None:
    api = bearer_client(token_for(host, recording.tenant))
    listed = api.get(f"/api/v1/rooms/{recording.room.name}/recordings/")
    assert listed.status_code == 200 and [r["code"] for r in listed.json()["results"]] == [recording.code]
    one = api.get(f"/api/v1/recordings/{recording.code}/").json()
    assert one["visibility"] == "hosts" and one["download_url"]
    played = Client().get(one["playback_url"].replace("http://testserver", ""))
    assert played.status_code == 200 and b"".join(played.streaming_content) == b"\x00" * 1000
    changed = api.patch(f"/api/v1/recordings/{recording.code}/", {"visibility": "members"}, format="json")
    assert changed.status_code == 200 and changed.json()["visibility"] == "members"
    too_far = api.patch(f"/api/v1/recordings/{recording.code}/", {"keep_until": "2099-01-01"}, format="json")
    assert too_far.status_code == 400
    assert api.delete(f"/api/v1/recordings/{recording.code}/").status_code == 204
    assert not Recording.objects.filter(pk=recording.pk).exists()
    assert AuditEntry.objects.filter(action="recording.deleted", target=recording.code).exists()


def test_members_see_published_only_and_cannot_change(recording, member) -> None:
    api = bearer_client(token_for(member, recording.tenant))
    assert api.get(f"/api/v1/recordings/{recording.code}/").status_code == 404
    assert api.get(f"/api/v1/rooms/{recording.room.name}/recordings/").json()["results"] == []
    Recording.objects.filter(pk=recording.pk).update(visibility="members")
    one = api.get(f"/api/v1/recordings/{recording.code}/").json()
    assert one["playback_url"] and one["download_url"] is None
    assert (
        api.patch(f"/api/v1/recordings/{recording.code}/", {"visibility": "link"}, format="json").status_code
        == 403
    )
    assert api.delete(f"/api/v1/recordings/{recording.code}/").status_code == 403


def test_another_tenant_sees_nothing(recording, outsider, other_tenant) -> None:
    Recording.objects.filter(pk=recording.pk).update(visibility="link")
    api = bearer_client(token_for(outsider, other_tenant))
    assert api.get(f"/api/v1/recordings/{recording.code}/").status_code == 404
    assert api.get(f"/api/v1/rooms/{recording.room.name}/recordings/").status_code == 404


def test_the_schema_documents_the_endpoints(host, tenant) -> None:
    api = bearer_client(token_for(host, tenant))
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/recordings/{recording}/" in schema["paths"]
    assert "/api/v1/rooms/{room}/recordings/" in schema["paths"]
