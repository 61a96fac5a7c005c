"""What Debian's ffprobe and ffmpeg say about a recording, and its poster frame. No database."""

from __future__ import annotations

import json
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

TIMEOUT = 600  # seconds: ffprobe reads headers only, the poster is one frame


class MediaError(Exception):
    pass


@dataclass(frozen=True)
class Probe:
    duration: float | None
    video_codec: str
    audio_codec: str
    format_names: tuple[str, ...]


def probe(path: Path) -> Probe:
    try:
        done = subprocess.run(  # noqa: S603 - fixed binary, our own file path
            [
                settings.FFPROBE_BINARY,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"ffprobe failed: {exc}") from exc
    if done.returncode != 0:
        raise MediaError("not a readable video")
    data = json.loads(done.stdout or b"{}")
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise MediaError("no video stream")
    audio: dict[str, object] = next((s for s in streams if s.get("codec_type") == "audio"), {})
    fmt = data.get("format") or {}
    try:
        duration: float | None = float(fmt.get("duration", ""))
    except (TypeError, ValueError):
        duration = None
    return Probe(
        duration=duration,
        video_codec=str(video.get("codec_name", "")),
        audio_codec=str(audio.get("codec_name", "")),
        format_names=tuple(str(fmt.get("format_name", "")).split(",")),
    )


def moov_before_mdat(path: Path) -> bool:
    """Whether the MP4's index comes before its media data ("fast start"): a browser can then start playing
    and seek before it has the whole file."""
    with path.open("rb") as f:
        while True:
            header = f.read(8)
            if len(header) < 8:
                return False
            size, kind = struct.unpack(">I4s", header)
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                f.seek(size - 16, 1)
            elif size < 8:
                return False
            else:
                f.seek(size - 8, 1)


def web_friendly(path: Path, found: Probe) -> bool:
    """Plays in every current browser without conversion: H.264 (+ AAC or no audio) in MP4, fast start."""
    return (
        "mp4" in found.format_names
        and found.video_codec == "h264"
        and found.audio_codec in ("aac", "")
        and moov_before_mdat(path)
    )


def poster_frame(path: Path, out: Path, duration: float | None) -> None:
    at = min(2.0, (duration or 0) / 2)
    try:
        done = subprocess.run(  # noqa: S603 - fixed binary, our own paths
            [
                settings.FFMPEG_BINARY,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-ss",
                f"{at:.2f}",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-vf",
                "scale=640:-2",
                "-f",
                "image2",
                "-c:v",
                "mjpeg",
                str(out),
            ],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"ffmpeg failed: {exc}") from exc
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise MediaError("no poster frame")
