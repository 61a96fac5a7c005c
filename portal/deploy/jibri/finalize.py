#!/usr/bin/env python3
"""Jibri's finalize script for auditorium: hands a finished recording to the portal. Standard library only.

Jibri runs `finalize.py <session folder>` when a recording ends and stays busy until the script exits
(CONTRACTS.md §6), so this returns at once: it writes a job into a spool folder and starts a detached
drainer, which uploads the folder's .mp4 and metadata.json over tus 1.0 (creation, sha256 checksums on
every chunk and of the whole file), retrying with backoff until the portal has everything. The job file
keeps the upload URLs, so an interrupted upload (a dropped connection, a portal restart, this host
rebooting and `--drain` run again by the timer) resumes at the offset the portal confirms.

Configuration (environment, or KEY=value lines in /etc/auditorium/jibri-finalize.conf, or the file named by
AUDITORIUM_FINALIZE_CONFIG):
  AUDITORIUM_UPLOAD_URL     https://portal.example.org/jitsi/<deployment>/recordings/
  AUDITORIUM_RECORDING_SECRET or AUDITORIUM_RECORDING_SECRET_FILE   the deployment's recording secret
  AUDITORIUM_SPOOL          spool folder (default /var/spool/auditorium-jibri)
  AUDITORIUM_CHUNK_BYTES    bytes per PATCH (default 8 MiB)
  AUDITORIUM_MAX_RATE       bytes per second at most (default 0: unlimited), to spare the recording host
  AUDITORIUM_DELETE_AFTER   1: delete the session folder once uploaded (default 0)

Usage: finalize.py <session folder>   |   finalize.py --drain   (run by the detached process or a timer)
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

DEFAULT_CONFIG = "/etc/auditorium/jibri-finalize.conf"
TUS = "1.0.0"
MAX_BACKOFF = 600.0
TIMEOUT = 60


class Permanent(Exception):
    """The portal refused for good (another deployment's room, no such room, over quota, bad metadata)."""


class Retry(Exception):
    """Try again later (network, 5xx, wrong secret that an operator may still fix)."""


def log(message: str) -> None:
    sys.stderr.write(f"auditorium-finalize: {message}\n")
    sys.stderr.flush()


def config() -> dict[str, str]:
    values: dict[str, str] = {}
    path = Path(os.environ.get("AUDITORIUM_FINALIZE_CONFIG", DEFAULT_CONFIG))
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    values.update({k: v for k, v in os.environ.items() if k.startswith("AUDITORIUM_")})
    if not values.get("AUDITORIUM_RECORDING_SECRET") and values.get("AUDITORIUM_RECORDING_SECRET_FILE"):
        values["AUDITORIUM_RECORDING_SECRET"] = (
            Path(values["AUDITORIUM_RECORDING_SECRET_FILE"]).read_text().strip()
        )
    values.setdefault("AUDITORIUM_SPOOL", "/var/spool/auditorium-jibri")
    return values


def spool(cfg: dict[str, str]) -> Path:
    path = Path(cfg["AUDITORIUM_SPOOL"])
    (path / "failed").mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def enqueue(folder: Path, cfg: dict[str, str]) -> Path:
    folder = folder.resolve()
    job = spool(cfg) / f"{folder.name}.job"
    if not job.exists():
        write_json(job, {"folder": str(folder), "queued_at": time.time()})
    return job


def start_drainer() -> None:
    """A process of its own (new session, no inherited descriptors): Jibri may go on at once."""
    subprocess.Popen(  # noqa: S603 - this very script
        [sys.executable, os.path.abspath(__file__), "--drain"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


# --- tus over http.client --------------------------------------------------------------------------------


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def request(cfg: dict[str, str], method: str, url: str, headers: dict[str, str], body: bytes = b""):
    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.netloc, timeout=TIMEOUT)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    all_headers = {
        "Tus-Resumable": TUS,
        "Authorization": f"Bearer {cfg.get('AUDITORIUM_RECORDING_SECRET', '')}",
        "Content-Length": str(len(body)),
        **headers,
    }
    try:
        conn.request(method, path, body=body or None, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    except (OSError, http.client.HTTPException) as exc:
        raise Retry(f"{method} {url}: {exc}") from exc
    finally:
        conn.close()


def refused(status: int, data: bytes, what: str) -> Exception:
    message = data.decode("utf-8", "replace")[:300]
    if status == 401 or status >= 500 or status in (408, 423, 429):
        return Retry(f"{what}: {status} {message}")
    return Permanent(f"{what}: {status} {message}")


def create(cfg: dict[str, str], length: int, metadata: dict[str, str]) -> str:
    url = cfg["AUDITORIUM_UPLOAD_URL"]
    encoded = ",".join(f"{k} {b64(v)}" for k, v in metadata.items() if v)
    status, headers, data = request(
        cfg, "POST", url, {"Upload-Length": str(length), "Upload-Metadata": encoded}
    )
    if status != 201 or "location" not in headers:
        raise refused(status, data, "creating the upload")
    return urllib.parse.urljoin(url, headers["location"])


def offset_of(cfg: dict[str, str], url: str) -> int | None:
    status, headers, data = request(cfg, "HEAD", url, {})
    if status == 404:
        return None  # gone (discarded): start anew
    if status != 200:
        raise refused(status, data, "asking for the offset")
    return int(headers["upload-offset"])


def send(cfg: dict[str, str], url: str, path: Path, offset: int, length: int) -> None:
    chunk = int(cfg.get("AUDITORIUM_CHUNK_BYTES") or 8 * 1024 * 1024)
    rate = float(cfg.get("AUDITORIUM_MAX_RATE") or 0)
    with path.open("rb") as f:
        while offset < length:
            f.seek(offset)
            body = f.read(min(chunk, length - offset))
            started = time.monotonic()
            checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
            status, headers, data = request(
                cfg,
                "PATCH",
                url,
                {
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Checksum": f"sha256 {checksum}",
                },
                body,
            )
            if status == 409 and "upload-offset" in headers:
                offset = int(headers["upload-offset"])  # the portal knows better: continue there
                continue
            if status == 460:
                raise Retry(f"chunk at {offset} arrived damaged")
            if status != 204:
                raise refused(status, data, f"sending bytes from {offset}")
            offset = int(headers["upload-offset"])
            if rate:
                time.sleep(max(0.0, len(body) / rate - (time.monotonic() - started)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def upload_file(
    cfg: dict[str, str], state: dict, key: str, path: Path, metadata: dict[str, str], save
) -> str:
    """Upload one file, resuming the upload recorded in state[key]; answers its URL."""
    length = path.stat().st_size
    url: str = state.get(key) or ""
    offset = offset_of(cfg, url) if url else None
    if offset is None:
        url = create(cfg, length, metadata)
        state[key] = url
        save()
        offset = 0
    if offset < length:
        send(cfg, url, path, offset, length)
    return url


def process(job: Path, cfg: dict[str, str]) -> None:
    state = json.loads(job.read_text())
    folder = Path(state["folder"])

    def save() -> None:
        write_json(job, state)

    videos = sorted(folder.glob("*.mp4"))
    meta_path = folder / "metadata.json"
    if not videos or not meta_path.is_file():
        raise Permanent(f"{folder}: no .mp4 or metadata.json")
    meeting_url = json.loads(meta_path.read_text()).get("meeting_url", "")
    if not state.get("metadata_done"):
        url = upload_file(
            cfg,
            state,
            "metadata_url",
            meta_path,
            {"kind": "metadata", "meeting_url": meeting_url, "filename": "metadata.json"},
            save,
        )
        state["metadata_done"] = url.rstrip("/").rsplit("/", 1)[1]
        save()
    video = videos[0]
    if "sha256" not in state:
        state["sha256"] = sha256_of(video)
        save()
    upload_file(
        cfg,
        state,
        "video_url",
        video,
        {
            "kind": "video",
            "filename": video.name,
            "meeting_url": meeting_url,
            "sha256": state["sha256"],
            "ended_at": str(int(video.stat().st_mtime)),
            "metadata_upload": state["metadata_done"],
        },
        save,
    )
    job.unlink()
    log(f"uploaded {video.name}")
    if cfg.get("AUDITORIUM_DELETE_AFTER") == "1":
        shutil.rmtree(folder, ignore_errors=True)


def drain(cfg: dict[str, str]) -> int:
    """Upload every queued job; one drainer at a time (a lock file). Retries with backoff until done."""
    base = spool(cfg)
    with (base / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another drainer is at work and will see the new job
        lock.write(str(os.getpid()))  # who drains (for an operator's `kill`)
        lock.flush()
        backoff = 2.0
        while jobs := sorted(base.glob("*.job")):
            failed = False
            for job in jobs:
                try:
                    process(job, cfg)
                except Permanent as exc:
                    log(f"giving up on {job.name}: {exc}")
                    os.replace(job, base / "failed" / job.name)
                except (Retry, OSError, ValueError, KeyError) as exc:
                    log(f"will retry {job.name}: {exc}")
                    failed = True
            if failed:
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            else:
                backoff = 2.0
    return 0


def main(argv: list[str]) -> int:
    cfg = config()
    if argv[1:] == ["--drain"]:
        return drain(cfg)
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        log("usage: finalize.py <session folder> | --drain")
        return 2
    job = enqueue(Path(argv[1]), cfg)
    log(f"queued {job.name}")
    start_drainer()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
