"""A bounded load of joins, pages and Prosody events against a live portal, recording every answer with
its timing (the fault tests and bench/faults.py)."""

from __future__ import annotations

import copy
import http.client
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.meetings.prosody import recording


@dataclass(frozen=True)
class Answer:
    kind: str
    started: float  # time.monotonic()
    elapsed: float
    status: int  # 0: no answer (connection failed or timed out)
    retry_after: str | None
    body: bytes


@dataclass
class Load:
    port: int
    world: dict[str, Any]
    timeout: float = 5.0
    pause: float = 0.02  # seconds each worker waits between its requests (bounds the load)
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _jids: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, kind: str, person: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        world = self.world
        session, csrf = world["sessions"][person % len(world["sessions"])]
        if kind == "join":
            headers = {
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Content-Type": "application/json",
            }
            return "POST", f"/api/v1/rooms/{world['room']}/join/", b"{}", headers
        if kind == "page":
            return "GET", f"/{world['tenant']}/", None, {"Cookie": f"sessionid={session}"}
        if kind == "event":
            body = copy.deepcopy(recording("basic-02-muc-occupant-joined.json")["body"])
            n = next(self._jids)
            body["room_name"] = world["room"]
            body["room_jid"] = f"{world['room']}@conference.meet.faults.example.org"
            body["occupant"]["occupant_jid"] = f"fault-{n}@meet.faults.example.org/load"
            body["active_occupants_count"] = n % 50 + 1
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {world['event_secret']}"}
            path = f"/jitsi/{world['deployment']}/events/occupant/joined"
            return "POST", path, json.dumps(body).encode(), headers
        if kind == "healthz":
            return "GET", "/healthz", None, {}
        raise ValueError(kind)

    def one(self, kind: str, person: int, conn: http.client.HTTPConnection | None = None) -> Answer:
        method, path, body, headers = self.request(kind, person)
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
            response = conn.getresponse()
            content = response.read()
            answer = Answer(
                kind,
                started,
                time.monotonic() - started,
                response.status,
                response.getheader("Retry-After"),
                content,
            )
        except (OSError, http.client.HTTPException):
            conn.close()
            answer = Answer(kind, started, time.monotonic() - started, 0, None, b"")
        finally:
            if own:
                conn.close()
        with self._lock:
            self.answers.append(answer)
        return answer

    def _work(self, kind: str, person: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            while not self._stop.is_set():
                answer = self.one(kind, person, conn)
                if answer.status == 0:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self._stop.wait(self.pause)
        finally:
            conn.close()

    def start(self, **workers: int) -> None:
        """`join=3, page=2, event=2`: that many workers of each kind, each on its own connection."""
        for kind, count in workers.items():
            for i in range(count):
                thread = threading.Thread(target=self._work, args=(kind, i), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self._threads.clear()
        self._stop.clear()

    def between(self, start: float, end: float, kind: str | None = None) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started < end and (kind is None or a.kind == kind)]
