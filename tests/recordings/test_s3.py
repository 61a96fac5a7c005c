"""Recordings in S3 (django-storages) against a real S3 API on loopback: moto's server mode."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from django.utils import timezone

from meetings.recordings import jobs, playback, services, storage
from meetings.recordings.models import Recording
from tests.meetings.servers import free_port
from tests.recordings.helpers import make_mp4

pytestmark = pytest.mark.django_db

BUCKET = "auditorium-recordings"


@pytest.fixture
def s3(settings, tmp_path):
    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        credentials = {
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
            "region_name": "us-east-1",
        }
        client = boto3.client("s3", endpoint_url=endpoint, **credentials)
        client.create_bucket(Bucket=BUCKET)
        settings.RECORDINGS_STORAGE = "s3"
        settings.STORAGES = {
            **settings.STORAGES,
            "recordings": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "region_name": "us-east-1",
                    "access_key": "test",
                    "secret_key": "test",
                    "default_acl": None,
                    "querystring_auth": True,
                    "file_overwrite": False,
                },
            },
        }
        yield client
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_processed_recording_lands_in_s3_plays_with_ranges_and_is_purged(
    s3, room, tmp_path, django_capture_on_commit_callbacks
) -> None:
    assert shutil.which("ffmpeg")
    video = make_mp4(tmp_path / "s3.mp4", seconds=2)
    data = video.read_bytes()
    spool = storage.spool_path("s3test.mp4")
    spool.write_bytes(data)
    recording = Recording.objects.create(
        tenant=room.tenant,
        room=room,
        title="S3",
        spool_name="s3test.mp4",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        ended_at=timezone.now(),
    )
    jobs.process_recording(recording.pk)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.READY
    stored = s3.get_object(Bucket=BUCKET, Key=recording.file)["Body"].read()
    assert stored == data
    assert s3.head_object(Bucket=BUCKET, Key=recording.poster)["ContentLength"] > 0
    url = playback.url(recording, "video")
    assert "Signature=" in url or "X-Amz-Signature=" in url  # presigned, not public
    part = requests.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and part.content == data[:100]
    unsigned = url.split("?", 1)[0]
    assert requests.get(unsigned, timeout=10).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_recording(actor=None, recording=recording, action="recording.purged")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == []
