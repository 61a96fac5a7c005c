"""Development aid: play a meeting as Prosody would report it, to watch live counts move.

`manage.py post_sample_events demo room1` posts fixture-shaped events (room created, people join one by one,
leave, room destroyed) to the local endpoint with the deployment's event secret; `--local` calls the services
directly instead (no server needed); `--keep` stops after the joins so the count stays up.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from meetings import events as ev
from meetings import live
from tenants.models import JitsiDeployment


def sample_events(deployment: JitsiDeployment, room: str, people: int, keep: bool) -> list[tuple[str, dict]]:
    """The events of one meeting, shaped like the recordings in shared/fixtures/prosody-events."""
    room_name = live.internal_room_name(deployment, room)
    room_jid = f"{room_name}@conference.{deployment.xmpp_domain}"
    base = {"room_jid": room_jid, "is_breakout": False, "room_name": room_name}
    created_at = int(time.time())
    occupants = [
        {
            "occupant_jid": f"{uuid.uuid4()}@{deployment.xmpp_domain}/sample-{i}",
            "joined_at": created_at + i,
            "name": f"Sample Person {i}",
            "id": f"sample-{i}",
        }
        for i in range(1, people + 1)
    ]
    steps: list[tuple[str, dict]] = [
        ("room/created", {**base, "event_name": "muc-room-created", "created_at": created_at})
    ]
    for n, occupant in enumerate(occupants, 1):
        steps.append(
            (
                "occupant/joined",
                {
                    **base,
                    "event_name": "muc-occupant-joined",
                    "active_occupants_count": n,
                    "occupant": occupant,
                },
            )
        )
    if keep:
        return steps
    left_at = created_at + people + 1
    for n, occupant in enumerate(reversed(occupants), 1):
        occupant["left_at"] = left_at + n
        steps.append(
            (
                "occupant/left",
                {
                    **base,
                    "event_name": "muc-occupant-left",
                    "active_occupants_count": people - n,
                    "occupant": dict(occupant),
                },
            )
        )
    steps.append(
        (
            "room/destroyed",
            {
                **base,
                "event_name": "muc-room-destroyed",
                "created_at": created_at,
                "destroyed_at": left_at + people + 1,
                "all_occupants": [dict(o) for o in occupants] or {},
            },
        )
    )
    return steps


class Command(BaseCommand):
    help = "Post sample Prosody events for a room (development), to the local endpoint or with --local."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="tenant slug, e.g. demo")
        parser.add_argument("room", help="the room's Jitsi name")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running portal")
        parser.add_argument("--local", action="store_true", help="call the services directly, no HTTP")
        parser.add_argument("--people", type=int, default=3)
        parser.add_argument("--delay", type=float, default=1.0, help="seconds between events")
        parser.add_argument("--keep", action="store_true", help="stop after the joins")

    def handle(self, *args: Any, **opts: Any) -> None:
        deployment = JitsiDeployment.objects.filter(tenant__slug=opts["tenant"]).first()
        if deployment is None:
            raise CommandError(f"no tenant {opts['tenant']!r} with a Jitsi deployment")
        for i, (kind, body) in enumerate(
            sample_events(deployment, opts["room"], opts["people"], opts["keep"])
        ):
            if i and opts["delay"] > 0:
                time.sleep(opts["delay"])
            data = json.dumps(body, separators=(",", ":")).encode()
            if opts["local"]:
                with scope(tenant=deployment.tenant_id):  # as the event view: the deployment's tenant
                    outcome = live.record_event(deployment=deployment, event=ev.parse_event(kind, data))
                self.stdout.write(f"{kind}: count {outcome.count}")
                continue
            url = f"{opts['url'].rstrip('/')}/jitsi/{deployment.slug}/events/{kind}"
            request = urllib.request.Request(  # noqa: S310 - the operator's own portal
                url,
                data=data,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "Prosody (0.12.3; posix)",
                    "Authorization": f"Bearer {deployment.event_secret}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    self.stdout.write(f"{kind}: {response.status} {response.read().decode()}")
            except urllib.error.HTTPError as exc:
                raise CommandError(f"{url}: HTTP {exc.code} {exc.read()[:200]!r}") from None
            except OSError as exc:
                raise CommandError(f"{url}: {exc}") from None
