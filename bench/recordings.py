"""Benchmark: tus upload throughput of a large recording against raw disk writes, and the server's memory.

Usage (from the repository root, PostgreSQL on 127.0.0.1):

    .venv/bin/python bench/recordings.py                 # 1 GiB, after a 256 MiB upload for the memory check
    .venv/bin/python bench/recordings.py --size-mb 2048 --chunk-mb 32

It migrates BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/auditorium_bench_recordings), makes
the institution "loadtest" with recordings on and a room, starts gunicorn (one gthread worker, as production
serves /jitsi/) on a free port of 127.0.0.1 with the spool folder under --dir, and then, in the same run:

- raw disk: writes the same number of bytes to a file in --dir in 1 MiB pieces, fsync after every chunk
  (what the server does per PATCH), and reads the rate;
- upload: a tus upload (creation, PATCH per chunk with a sha256 Upload-Checksum, whole-file sha256 checked
  at the end) over one keep-alive connection, from a 64 MiB block of random bytes repeated (no source file to
  read), timed from the POST to the last 204; the client's checksums are computed before the clock starts
  (in production the client is the Jibri host);
- memory: the gunicorn worker's resident set size, sampled every 100 ms during a small and the large upload.

The goal (issue 16): upload ≥ 70 % of the raw disk rate; memory flat, independent of the file's size.
Everything it writes is removed at the end. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # this checkout's packages, not an installed copy

from join import HOST, ROOT, bench_env, bench_tenant, ensure_database, free_port

MiB = 1024 * 1024
SECRET = "bench-recording-secret-0123456789abcdef"  # noqa: S105 - a local benchmark's made-up secret
ROOM = "bench-recordings"


def seed() -> str:
    import django

    django.setup()
    from meetings.models import Room
    from meetings.services import create_room
    from tenants.models import JitsiDeployment, Membership, User
    from tenants.services import change_tenant, grant_role

    tenant = bench_tenant()
    change_tenant(actor=None, tenant=tenant, recordings_enabled=True, recording_quota_gb=10_000)
    JitsiDeployment.objects.filter(tenant=tenant).update(recording_secret=SECRET)
    room = Room.objects.filter(tenant=tenant, name=ROOM).first()
    if room is None:
        owner, _created = User.objects.get_or_create(username="bench-recorder")
        grant_role(actor=None, tenant=tenant, user=owner, role=Membership.Role.HOST)
        room = create_room(actor=owner, tenant=tenant, title="Bench recordings", public_name=ROOM)
    return f"{tenant.deployment.base_url}/{room.name}"


def clean_up() -> None:
    from meetings.recordings.models import Recording, Upload

    Recording.objects.filter(room__name=ROOM).delete()
    Upload.objects.filter(room__name=ROOM).delete()


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(rss_kib(self.pid))
            self.stop.wait(0.1)


def raw_disk(folder: Path, size: int, chunk: int, block: bytes) -> float:
    path = folder / "raw-disk.bin"
    started = time.perf_counter()
    with path.open("wb") as f:
        written = 0
        while written < size:
            n = min(chunk, size - written)
            view = memoryview(piece(block, written, n))  # the same bytes the upload sends, without copies
            for offset in range(0, n, MiB):
                f.write(view[offset : offset + MiB])
            written += n
            f.flush()
            os.fsync(f.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return size / elapsed / MiB


def piece(block: bytes, offset: int, n: int) -> bytes:
    start = offset % len(block)
    if start + n <= len(block):
        return block[start : start + n]
    out = bytearray()
    while len(out) < n:
        take = min(n - len(out), len(block) - start)
        out += block[start : start + take]
        start = 0
    return bytes(out)


def upload(port: int, deployment: str, meeting_url: str, size: int, chunk: int, block: bytes) -> float:
    whole = hashlib.sha256()
    for offset in range(0, size, chunk):
        whole.update(piece(block, offset, min(chunk, size - offset)))
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"meeting_url": meeting_url, "sha256": whole.hexdigest(), "filename": "bench.mp4"}.items()
    )
    auth = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {SECRET}"}
    # The client's own hashing is done before the clock starts: in production it runs on the Jibri host,
    # not on the portal's cores (the data repeats, so each distinct chunk is hashed once).
    checksums: dict[tuple[int, int], str] = {}
    for offset in range(0, size, chunk):
        key = (offset % len(block), min(chunk, size - offset))
        if key not in checksums:
            checksums[key] = base64.b64encode(hashlib.sha256(piece(block, offset, key[1])).digest()).decode()
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    started = time.perf_counter()
    conn.request(
        "POST",
        f"/jitsi/{deployment}/recordings/",
        headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 201:
        raise SystemExit(f"creation answered {response.status}")
    location = response.getheader("Location", "").split(f"{HOST}:{port}", 1)[-1]
    for offset in range(0, size, chunk):
        body = piece(block, offset, min(chunk, size - offset))
        checksum = checksums[(offset % len(block), len(body))]
        conn.request(
            "PATCH",
            location,
            body=body,
            headers={
                **auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {checksum}",
            },
        )
        response = conn.getresponse()
        response.read()
        if response.status != 204:
            raise SystemExit(f"PATCH at {offset} answered {response.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    return size / elapsed / MiB


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small-mb", type=int, default=256)
    parser.add_argument("--chunk-mb", type=int, default=64)
    parser.add_argument("--dir", default=str(ROOT / "var" / "bench-recordings"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auditorium_bench_recordings"
        ),
    )
    args = parser.parse_args()
    size, small, chunk = args.size_mb * MiB, args.small_mb * MiB, args.chunk_mb * MiB
    if not (0 < size <= 8192 * MiB and 0 < chunk <= 256 * MiB):
        raise SystemExit("--size-mb up to 8192, --chunk-mb up to 256")
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    env = bench_env(args.database_url)
    env.update(RECORDINGS_UPLOAD_DIR=str(folder / "spool"), RECORDINGS_ROOT=str(folder / "stored"))
    os.environ.update(env)
    ensure_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    meeting_url = seed()
    from tenants.models import Tenant

    deployment = Tenant.objects.get(slug="loadtest").deployment.slug
    block = os.urandom(64 * MiB)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "portal.wsgi:application",
            f"--bind={HOST}:{port}",
            "--workers=1",
            "--worker-class=gthread",
            "--threads=2",
            "--keep-alive=30",
            "--timeout=600",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        worker_pid = 0
        while time.monotonic() < deadline and not worker_pid:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
            text = children.read_text().split() if children.exists() else []
            worker_pid = int(text[0]) if text else 0
            time.sleep(0.2)
        time.sleep(2)  # the worker imports the application
        idle = rss_kib(worker_pid)
        disk = raw_disk(folder, size, chunk, block)
        results = []
        for label, n in (("small", small), ("large", size)):
            sampler = Sampler(worker_pid)
            sampler.start()
            rate = upload(port, deployment, meeting_url, n, chunk, block)
            sampler.stop.set()
            sampler.join()
            results.append((label, n, rate, max(sampler.samples)))
            clean_up()
            shutil.rmtree(folder / "spool", ignore_errors=True)
        print(f"raw disk write (fsync per {args.chunk_mb} MiB): {disk:8.1f} MiB/s")
        for label, n, rate, peak in results:
            print(
                f"tus upload {n // MiB:5d} MiB ({label}): {rate:8.1f} MiB/s = "
                f"{rate / disk * 100:5.1f} % of raw disk; "
                f"worker RSS idle {idle / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        clean_up()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
