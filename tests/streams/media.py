"""Debian's nginx with the RTMP module, configured from portal/deploy/nginx (rtmp.conf and
auditorium-hls.conf), and ffmpeg publishing a test pattern: on free loopback ports, for tests and bench."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.meetings.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "portal" / "deploy" / "nginx"
RTMP_MODULES = (
    Path("/usr/lib/nginx/modules/ngx_rtmp_module.so"),
    Path("/usr/share/nginx/modules/ngx_rtmp_module.so"),
)


def rtmp_module() -> Path | None:
    return next((path for path in RTMP_MODULES if path.exists()), None)


def have_media_tools() -> bool:
    return bool(shutil.which("nginx") and shutil.which("ffmpeg") and rtmp_module())


@dataclass
class MediaServer:
    http_port: int
    rtmp_port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def http(self) -> str:
        return f"http://localhost:{self.http_port}"

    @property
    def rtmp(self) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live"

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def nginx_config(
    folder: Path, *, portal_port: int, http_port: int, rtmp_port: int, fragment: str = "1s"
) -> str:
    """The shipped RTMP and HLS files with this run's ports and folders, in a one-process nginx."""
    hls = folder / "hls"
    hls.mkdir(exist_ok=True)
    rtmp = (DEPLOY / "rtmp.conf").read_text()
    rtmp = rtmp.replace("listen 1935;", f"listen 127.0.0.1:{rtmp_port};")
    rtmp = rtmp.replace("http://127.0.0.1:8001/", f"http://127.0.0.1:{portal_port}/")
    rtmp = rtmp.replace("/var/lib/auditorium/hls", str(hls))
    rtmp = rtmp.replace("hls_fragment 2s;", f"hls_fragment {fragment};")
    site = (DEPLOY / "auditorium-hls.conf").read_text().replace("/var/lib/auditorium/hls/", f"{hls}/")
    assert str(hls) in rtmp and str(hls) in site and str(portal_port) in rtmp, "the shipped files changed"
    temp = "".join(
        f"    {kind}_temp_path {folder}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""load_module {rtmp_module()};
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{}}
{rtmp}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
{temp}
    upstream auditorium_http {{ server 127.0.0.1:{portal_port}; keepalive 16; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    server {{
        listen 127.0.0.1:{http_port};
        server_name localhost;
{site}
        location /ws/ {{
            proxy_pass http://auditorium_http;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_read_timeout 1h;
        }}
        location / {{
            proxy_pass http://auditorium_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


@contextmanager
def media_server(folder: Path, *, portal_port: int) -> Iterator[MediaServer]:
    folder.mkdir(parents=True, exist_ok=True)
    http_port, rtmp_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_config(folder, portal_port=portal_port, http_port=http_port, rtmp_port=rtmp_port))
    process = subprocess.Popen(
        ["nginx", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    server = MediaServer(http_port, rtmp_port, folder, process)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited: {server.log()}")
            try:
                # Listening is enough: the portal behind it may start later.
                socket.create_connection(("127.0.0.1", http_port), timeout=2).close()
                socket.create_connection(("127.0.0.1", rtmp_port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not answer: {server.log()}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def publish(url: str, *, seconds: float | None = None, log: Path | None = None) -> subprocess.Popen[bytes]:
    """ffmpeg sending a test pattern with a tone to `url` as Jibri would (H.264, AAC, FLV), in real time."""
    duration = ["-t", str(seconds)] if seconds else []
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [
                *("ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-re"),
                *("-f", "lavfi", "-i", "testsrc=size=320x180:rate=25"),
                *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"),
                *duration,
                *("-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"),
                *("-g", "25", "-keyint_min", "25", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url),
            ],
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]  # the child holds its own descriptor


def refused(url: str, timeout: float = 15) -> tuple[bool, str]:
    """Publish for a moment: (True, log) when the server dropped the publisher (ffmpeg fails)."""
    found = subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"),
            *("-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-t", "4"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", "flv", url),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return found.returncode != 0, found.stderr
