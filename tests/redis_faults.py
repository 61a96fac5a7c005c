"""A private redis-server for fault tests, and a bounded load of joins, pages and Prosody events against live
server processes (tests/test_redis_outage.py)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.meetings.prosody import recording
from tests.meetings.servers import free_port


class PrivateRedis:
    """Debian's redis-server on a free port (never the shared 6379), to be stopped, frozen and restarted."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        log = (self.directory / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                [
                    *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)  # as a hung host: connections open, nothing answers
        self.frozen = True

    def thaw(self) -> None:
        if self.process is not None and self.frozen:
            os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False


@dataclass(frozen=True)
class Answer:
    kind: str  # join, page, event
    status: int  # 0: no HTTP answer at all
    seconds: float
    at: float  # time.monotonic() when it was sent
    detail: str = ""  # the event's occupant


@dataclass
class Load:
    """A bounded load while `running`: one thread each for joins, signed-in pages and Prosody events."""

    base_port: int
    session: str
    csrf: str
    tenant: str
    room: str
    event_secret: str
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _occupant: int = 0

    def _request(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> int:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    def _loop(self, kind: str, make: Any) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.base_port, timeout=20)
        while not self._stop.is_set():
            method, path, body, headers, detail = make()
            started = time.monotonic()
            try:
                status = self._request(conn, method, path, body, headers)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.base_port, timeout=20)
            self.answers.append(Answer(kind, status, time.monotonic() - started, started, detail))
            self._stop.wait(0.01)  # bounded: about 50 requests a second per kind at most
        conn.close()

    def _join(self) -> tuple[str, str, bytes, dict[str, str], str]:
        headers = {
            "Content-Type": "application/json",
            "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
            "X-CSRFToken": self.csrf,
            "Host": "127.0.0.1",
        }
        return "POST", f"/api/v1/rooms/{self.room}/join/", b"{}", headers, ""

    def _page(self) -> tuple[str, str, None, dict[str, str], str]:
        headers = {"Cookie": f"sessionid={self.session}", "Host": "127.0.0.1"}
        return "GET", f"/{self.tenant}/r/{self.room}/", None, headers, ""

    def _event(self) -> tuple[str, str, bytes, dict[str, str], str]:
        self._occupant += 1
        rec, body = occupant_joined(self.room, self._occupant)
        return "POST", rec["request"]["path"], body, event_headers(self.event_secret), str(self._occupant)

    def start(self) -> None:
        for kind, make in (("join", self._join), ("page", self._page), ("event", self._event)):
            thread = threading.Thread(target=self._loop, args=(kind, make), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in list(self.answers) if start <= a.at < end]


def event_headers(secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Prosody (0.12.3; posix)",
        "Authorization": f"Bearer {secret}",
        "Host": "127.0.0.1",
    }


def occupant_jid(n: int) -> str:
    return f"fault-{n:05d}@meet.test/load"


def occupant_joined(room: str, n: int) -> tuple[dict[str, Any], bytes]:
    """The recorded occupant-joined event for the n-th distinct occupant of `room` (count n)."""
    rec = recording("basic-02-muc-occupant-joined.json")
    body = rec["body"]
    body["room_name"] = room
    body["room_jid"] = f"{room}@conference.meet.test"
    body["active_occupants_count"] = n
    body["occupant"]["occupant_jid"] = occupant_jid(n)
    body["occupant"]["id"] = f"fault-{n}"
    body["occupant"]["joined_at"] = int(time.time())
    return rec, json.dumps(body, separators=(",", ":")).encode()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Viewer:
    """One websocket viewer of a room in a thread of its own: every message with the time it arrived."""

    def __init__(self, ws_base: str, origin: str, path: str, session: str) -> None:
        self.url = ws_base + path
        self.origin = origin
        self.session = session
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.handshake: int | None = None  # 101, or the refusal's status
        self._loop = asyncio.new_event_loop()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._watch())
        finally:
            self._loop.close()

    async def _watch(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        try:
            async with connect(
                self.url,
                origin=self.origin,  # type: ignore[arg-type]  # a plain string is what websockets sends
                additional_headers={"Cookie": f"sessionid={self.session}"},
                open_timeout=10,
            ) as socket:
                self.handshake = 101
                while not self._done.is_set():
                    try:
                        text = await asyncio.wait_for(socket.recv(), 0.1)
                    except TimeoutError:
                        continue
                    except ConnectionClosed:
                        return
                    self.messages.append((time.monotonic(), json.loads(text)))
        except InvalidStatus as refused:
            self.handshake = refused.response.status_code
        except OSError:
            self.handshake = 0

    def wait_for(
        self, predicate: Any, timeout: float, after: float = 0.0
    ) -> tuple[float, dict[str, Any]] | None:
        """The first message at or after `after` for which `predicate(message)` holds, waiting at most
        `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            for at, message in list(self.messages):
                if at >= after and predicate(message):
                    return at, message
            if time.monotonic() > deadline or (self.handshake not in (None, 101)):
                return None
            time.sleep(0.02)

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def running(load: Load) -> Iterator[Load]:
    load.start()
    try:
        yield load
    finally:
        load.stop()
