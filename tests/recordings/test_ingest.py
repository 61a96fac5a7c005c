"""tus ingest at /jitsi/<deployment>/recordings/ with a real tus client (tuspy) against a live server."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from meetings.recordings import jobs
from meetings.recordings.models import Recording, Upload
from tests.recordings.helpers import SECRET, jibri_metadata, make_mp4

pytestmark = pytest.mark.django_db(transaction=True)


class Sha256Uploader(Uploader):
    """tuspy's uploader with the checksum algorithm the portal speaks (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def upload_file(url: str, path, **options) -> Sha256Uploader:
    """Upload `path` with tuspy (an open stream: tuspy leaves files it opens itself to the collector)."""
    client = tus_client.TusClient(url, headers={"Authorization": f"Bearer {SECRET}"})
    with open(path, "rb") as stream:
        uploader = Sha256Uploader(client=client, file_stream=stream, **options)
        uploader.upload()
    return uploader


def endpoint(live_server, tenant) -> str:
    return f"{live_server.url}/jitsi/{tenant.deployment.slug}/recordings/"


def meeting_url(room) -> str:
    return f"{room.tenant.deployment.base_url}/{room.name}"


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {SECRET}", **extra}


def test_tuspy_uploads_a_recording_with_checksums_and_it_is_processed(live_server, room, tmp_path) -> None:
    video = make_mp4(tmp_path / "talk.mp4")
    digest = hashlib.sha256(video.read_bytes()).hexdigest()
    upload_file(
        endpoint(live_server, room.tenant),
        video,
        chunk_size=64 * 1024,
        upload_checksum=True,
        metadata={
            "filename": "talk.mp4",
            "kind": "video",
            "meeting_url": meeting_url(room),
            "sha256": digest,
        },
    )
    recording = Recording.objects.get(room=room)
    assert recording.status == Recording.Status.PROCESSING and recording.size_bytes == video.stat().st_size
    assert recording.visibility == Recording.Visibility.HOSTS
    jobs.process_recording(recording.pk)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.READY
    assert 3.5 < recording.duration_seconds < 4.5
    assert recording.web_friendly is True
    assert recording.file.endswith(".mp4") and recording.poster.endswith(".jpg")
    stored = tmp_path / "stored" / recording.file
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert not list((tmp_path / "spool").glob("*.mp4"))  # the spool copy is gone once stored
    jobs.process_recording(recording.pk)  # idempotent: a second run changes nothing
    assert Recording.objects.get(pk=recording.pk).file == recording.file


def test_metadata_json_is_attached_but_never_chooses_the_room(live_server, room, tmp_path) -> None:
    url = endpoint(live_server, room.tenant)
    body = json.dumps(jibri_metadata(meeting_url(room))).encode()
    created = requests.post(
        url,
        headers=tus_headers(
            **{
                "Upload-Length": str(len(body)),
                "Upload-Metadata": meta(kind="metadata", meeting_url=meeting_url(room)),
            }
        ),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    patched = requests.patch(
        created.headers["Location"],
        data=body,
        headers=tus_headers(**{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}),
        timeout=10,
    )
    assert patched.status_code == 204
    metadata_id = created.headers["Location"].rsplit("/", 1)[1]
    video = make_mp4(tmp_path / "v.mp4", seconds=2)
    upload_file(
        url,
        video,
        metadata={"kind": "video", "meeting_url": meeting_url(room), "metadata_upload": metadata_id},
    )
    recording = Recording.objects.get(room=room)
    assert recording.participant_count == 2
    assert not Upload.objects.filter(pk=metadata_id).exists()


def test_wrong_secret_other_deployment_and_unknown_room_are_refused(live_server, room, other_tenant) -> None:
    url = endpoint(live_server, room.tenant)
    base = {"Upload-Length": "100"}
    wrong = requests.post(
        url,
        headers={
            **tus_headers(**base),
            "Authorization": "Bearer nope",
            "Upload-Metadata": meta(meeting_url=meeting_url(room)),
        },
        timeout=10,
    )
    assert wrong.status_code == 401
    other = f"{other_tenant.deployment.base_url}/some-room"
    foreign = requests.post(
        url, headers=tus_headers(**base, **{"Upload-Metadata": meta(meeting_url=other)}), timeout=10
    )
    assert foreign.status_code == 403 and "not a meeting of this deployment" in foreign.json()["error"]
    unknown = requests.post(
        url,
        headers=tus_headers(
            **base, **{"Upload-Metadata": meta(meeting_url=f"{room.tenant.deployment.base_url}/no-such-room")}
        ),
        timeout=10,
    )
    assert unknown.status_code == 404
    old_version = requests.post(url, headers={**tus_headers(**base), "Tus-Resumable": "0.2.2"}, timeout=10)
    assert old_version.status_code == 412
    assert not Upload.objects.exists()
    options = requests.options(url, timeout=10)
    assert options.status_code == 204
    assert (
        "checksum" in options.headers["Tus-Extension"]
        and options.headers["Tus-Checksum-Algorithm"] == "sha256"
    )


def test_over_quota_is_refused_before_any_byte(live_server, room) -> None:
    room.tenant.recording_quota_gb = 1
    room.tenant.save(update_fields=["recording_quota_gb"])
    response = requests.post(
        endpoint(live_server, room.tenant),
        headers=tus_headers(
            **{"Upload-Length": str(1000**3 + 1), "Upload-Metadata": meta(meeting_url=meeting_url(room))}
        ),
        timeout=10,
    )
    assert response.status_code == 413 and "storage" in response.json()["error"]
    assert not Upload.objects.exists()


def test_checksum_mismatch_keeps_nothing_and_resume_continues(live_server, room, tmp_path) -> None:
    data = make_mp4(tmp_path / "c.mp4", seconds=2).read_bytes()
    url = endpoint(live_server, room.tenant)
    created = requests.post(
        url,
        headers=tus_headers(
            **{
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta(
                    meeting_url=meeting_url(room), sha256=hashlib.sha256(data).hexdigest()
                ),
            }
        ),
        timeout=10,
    )
    location = created.headers["Location"]
    half = len(data) // 2

    def patch(offset: int, body: bytes, checksum_of: bytes) -> requests.Response:
        checksum = "sha256 " + base64.b64encode(hashlib.sha256(checksum_of).digest()).decode()
        return requests.patch(
            location,
            data=body,
            timeout=10,
            headers=tus_headers(
                **{
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Checksum": checksum,
                }
            ),
        )

    bad = patch(0, data[:half], b"something else")
    assert bad.status_code == 460
    head = requests.head(location, headers=tus_headers(), timeout=10)
    assert head.headers["Upload-Offset"] == "0"
    assert patch(0, data[:half], data[:half]).status_code == 204
    conflict = patch(0, data[:half], data[:half])
    assert conflict.status_code == 409 and conflict.headers["Upload-Offset"] == str(half)
    # The portal restarts here: the offset is in the database and the bytes on disk, so a new client resumes.
    client = tus_client.TusClient(url, headers={"Authorization": f"Bearer {SECRET}"})
    with open(tmp_path / "c.mp4", "rb") as stream:
        uploader = Sha256Uploader(
            client=client, file_stream=stream, url=location, chunk_size=32 * 1024, upload_checksum=True
        )
        assert uploader.get_offset() == half
        uploader.upload()
    assert Recording.objects.get(room=room).size_bytes == len(data)


def test_whole_file_checksum_mismatch_discards_the_upload(live_server, room, tmp_path) -> None:
    video = make_mp4(tmp_path / "w.mp4", seconds=2)
    with pytest.raises(TusCommunicationError):
        upload_file(
            endpoint(live_server, room.tenant),
            video,
            metadata={"meeting_url": meeting_url(room), "sha256": "0" * 64},
        )
    assert not Upload.objects.exists() and not Recording.objects.exists()
    assert not list((tmp_path / "spool").iterdir())


def test_termination_removes_the_upload(live_server, room) -> None:
    url = endpoint(live_server, room.tenant)
    created = requests.post(
        url,
        headers=tus_headers(
            **{"Upload-Length": "10", "Upload-Metadata": meta(meeting_url=meeting_url(room))}
        ),
        timeout=10,
    )
    location = created.headers["Location"]
    assert requests.delete(location, headers=tus_headers(), timeout=10).status_code == 204
    assert requests.head(location, headers=tus_headers(), timeout=10).status_code == 404
    assert not Upload.objects.exists()


def test_without_a_worker_make_run_processes_right_after_the_upload(
    live_server, room, tmp_path, settings
) -> None:
    """Embedded setup (SQLite, `make run`): RECORDINGS_JOBS=inline runs the job after the upload's commit."""
    settings.RECORDINGS_JOBS = "inline"
    video = make_mp4(tmp_path / "inline.mp4", seconds=2)
    upload_file(endpoint(live_server, room.tenant), video, metadata={"meeting_url": meeting_url(room)})
    recording = Recording.objects.get(room=room)
    assert recording.status == Recording.Status.READY and recording.poster
