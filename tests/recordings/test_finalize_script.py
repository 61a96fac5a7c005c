"""The shipped finalize script (portal/deploy/jibri/finalize.py) against a running portal (gunicorn): it
returns at once, a detached drainer uploads the MP4 and metadata.json over tus; killed halfway, the next drain
resumes at the portal's offset. And a Procrastinate worker killed mid-job finishes the job after a restart."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meetings.recordings import jobs
from meetings.recordings.models import Recording, Upload
from tests.meetings.servers import ROOT, gunicorn_server, server_env
from tests.recordings.helpers import SECRET, write_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCRIPT = ROOT / "portal" / "deploy" / "jibri" / "finalize.py"


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def portal(tmp_path, recording_dirs):
    env = {
        "RECORDINGS_UPLOAD_DIR": str(tmp_path / "spool"),
        "RECORDINGS_ROOT": str(tmp_path / "stored"),
        "RECORDINGS_JOBS": "procrastinate",
    }
    with gunicorn_server(tmp_path, **env) as servers:
        yield servers[0], env


def script_env(server, room, spool: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "AUDITORIUM_FINALIZE_CONFIG": "/nonexistent",
        "AUDITORIUM_UPLOAD_URL": f"{server.http}/jitsi/{room.tenant.deployment.slug}/recordings/",
        "AUDITORIUM_RECORDING_SECRET": SECRET,
        "AUDITORIUM_SPOOL": str(spool),
        **extra,
    }


def test_finalize_returns_at_once_and_upload_resumes_after_interruption(portal, room, tmp_path) -> None:
    server, _env = portal
    folder = write_session(
        tmp_path / "recordings" / "abc_def",
        room.name,
        f"{room.tenant.deployment.base_url}/{room.name}",
        seconds=6,
    )
    video = next(folder.glob("*.mp4"))
    spool = tmp_path / "jibri-spool"
    # Slow enough to be interrupted halfway: 16 KiB per PATCH, at most 64 KiB/s.
    env = script_env(server, room, spool, AUDITORIUM_CHUNK_BYTES="16384", AUDITORIUM_MAX_RATE="65536")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(folder)], env=env, timeout=30, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 3  # Jibri is free again at once
    assert (spool / "abc_def.job").exists()

    length = video.stat().st_size
    upload = wait_for(
        lambda: Upload.objects.filter(kind=Upload.Kind.VIDEO, offset__gt=length // 4).first(), 60, "bytes"
    )
    pid = int((spool / ".lock").read_text())
    os.kill(pid, signal.SIGKILL)  # the drainer dies halfway (a crash, the host going down)
    wait_for(
        lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
        10,
        "kill",
    )
    upload.refresh_from_db()
    assert 0 < upload.offset < length
    assert not Recording.objects.exists()

    resumed = subprocess.run(
        [sys.executable, str(SCRIPT), "--drain"],
        env={**env, "AUDITORIUM_MAX_RATE": "0"},
        timeout=120,
        capture_output=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not (spool / "abc_def.job").exists()
    recording = Recording.objects.get(room=room)
    assert recording.size_bytes == length
    assert recording.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    assert recording.participant_count == 2  # from metadata.json, uploaded by the script too
    assert Upload.objects.get(pk=upload.pk).offset == length  # the same upload, continued
    jobs.process_recording(recording.pk)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.READY and 5.5 < recording.duration_seconds < 6.5


def test_wrong_room_goes_to_failed_and_nothing_is_stored(portal, room, other_tenant, tmp_path) -> None:
    server, _env = portal
    folder = write_session(tmp_path / "s2", "x", f"{other_tenant.deployment.base_url}/x", seconds=1)
    spool = tmp_path / "jibri-spool"
    env = script_env(server, room, spool)
    subprocess.run([sys.executable, str(SCRIPT), str(folder)], env=env, timeout=30, check=True)
    wait_for(lambda: (spool / "failed" / "s2.job").exists(), 60, "the job to be given up")
    assert not Upload.objects.exists() and not Recording.objects.exists()


def test_worker_killed_mid_job_finishes_after_restart(portal, room, tmp_path) -> None:
    from procrastinate.contrib.django.models import ProcrastinateJob

    server, env = portal
    folder = write_session(
        tmp_path / "s3", room.name, f"{room.tenant.deployment.base_url}/{room.name}", seconds=2
    )
    subprocess.run(
        [sys.executable, str(SCRIPT), "--drain"],
        env=script_env(server, room, tmp_path / "jibri-spool"),
        timeout=5,
        check=True,
    )  # nothing queued yet: returns
    subprocess.run(
        [sys.executable, str(SCRIPT), str(folder)],
        env=script_env(server, room, tmp_path / "jibri-spool"),
        timeout=30,
        check=True,
    )
    recording = wait_for(lambda: Recording.objects.filter(room=room).first(), 60, "the upload")
    slow = tmp_path / "slow-ffprobe"
    slow.write_text('#!/bin/sh\nsleep 30\nexec /usr/bin/ffprobe "$@"\n')
    slow.chmod(0o755)
    worker_env = {
        **env,
        "RECORDINGS_STALLED_SECONDS": "2",
        "RECORDINGS_HEARTBEAT_SECONDS": "1",
        "RECORDINGS_STALLED_CRON": "* * * * * */1",
    }
    command = [sys.executable, "manage.py", "procrastinate", "worker"]
    log = (tmp_path / "worker.log").open("ab")
    first = subprocess.Popen(
        command,
        cwd=ROOT,
        env=server_env(**worker_env, FFPROBE_BINARY=str(slow)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: ProcrastinateJob.objects.filter(task_name="recordings.process", status="doing").exists(),
            60,
            "the job to start",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.PROCESSING
    second = subprocess.Popen(
        command, cwd=ROOT, env=server_env(**worker_env), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: Recording.objects.get(pk=recording.pk).status == Recording.Status.READY,
            90,
            "the job to finish",
        )
    finally:
        second.terminate()
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
        log.close()
    assert Recording.objects.get(pk=recording.pk).duration_seconds > 1.5
