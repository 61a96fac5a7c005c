"""A real MP4 from ffmpeg, Jibri's metadata.json, and a tenant with recordings on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require

SECRET = "recording-secret-of-uzh-0123456789abcdef"


def make_mp4(path: Path, seconds: int = 4, size: str = "320x240") -> Path:
    require(shutil.which("ffmpeg") is not None, "Debian's ffmpeg")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=duration={seconds}:size={size}:rate=25",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            "-shortest",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def jibri_metadata(meeting_url: str) -> dict:
    """metadata.json as Jibri writes it: meeting_url, participants, and the client's extra keys on top."""
    return {
        "meeting_url": meeting_url,
        "participants": [
            {"id": "abcd1234", "name": "Lecturer", "avatarUrl": ""},
            {"id": "efgh5678", "name": "Student", "avatarUrl": ""},
        ],
        "room": "not-trusted",  # client-supplied (extraMetadata): never used to choose the room
    }


def write_session(folder: Path, room_name: str, meeting_url: str, seconds: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_mp4(folder / f"{room_name}_2026-12-04-10-15-00.mp4", seconds=seconds)
    (folder / "metadata.json").write_text(json.dumps(jibri_metadata(meeting_url)))
    return folder
