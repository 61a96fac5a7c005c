"""Joining a room: decide whether this person may enter now, and if so mint their Jitsi token.

One function, `join_room`, used by the join page, the JSON API and anonymous meetings. It answers either a
JoinTicket (the token and where to use it) or a Refusal (what to tell the person). Cheap by design: the room
comes with the viewer annotations (one query), HS256 secrets come with the deployment, RS256 keys from the
per-process cache; the only write is `last_used_at`, at most every few minutes per room. An access code costs
one cache round trip before it is checked (the limit on attempts, meetings/ratelimit.py) and one more when it
was right.
"""

from __future__ import annotations

import enum
import logging
import math
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from meetings import access, anonymous, jitsi, ratelimit, schedule, services
from meetings.access import Verdict, decide, is_current_hash, requires_access_code, viewer_of
from meetings.models import Room
from tenants import keys
from tenants.models import JitsiDeployment, Tenant

logger = logging.getLogger(__name__)

DISPLAY_NAME_MAX = 80
LAST_USED_EVERY = timedelta(minutes=5)  # how stale Room.last_used_at may get before a join refreshes it


class Reason(enum.StrEnum):
    NOT_FOUND = "not_found"
    SIGN_IN = "sign_in"
    NOT_INVITED = "not_invited"
    NOT_OPEN = "not_open"
    NEEDS_NAME = "needs_name"
    NEEDS_CODE = "needs_code"
    WRONG_CODE = "wrong_code"
    TOO_MANY_CODES = "access_code_attempts"  # over the limit on wrong access codes: 429, retry_after


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    status: int
    title: str
    message: str
    opens_at: datetime | None = None
    retry_after: int | None = None  # seconds, for TOO_MANY_CODES


@dataclass(frozen=True)
class JoinTicket:
    room: Room
    token: jitsi.RoomToken
    participant: jitsi.Participant
    jitsi_url: str  # the meeting's URL without the token
    iframe_domain: str  # first argument of JitsiMeetExternalAPI
    iframe_room: str  # its roomName option (with the tenant path when the deployment has one)

    @property
    def jwt(self) -> str:
        return self.token.jwt

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at


def wait_in_words(seconds: int) -> str:
    """When another access code may be tried, for a person."""
    if seconds < 120:
        return ngettext(
            "Too many wrong access codes. Try again in %(count)d second.",
            "Too many wrong access codes. Try again in %(count)d seconds.",
            seconds,
        ) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many wrong access codes. Try again in %(count)d minute.",
        "Too many wrong access codes. Try again in %(count)d minutes.",
        minutes,
    ) % {"count": minutes}


def _refusal(reason: Reason, opens_at: datetime | None = None, retry_after: int | None = None) -> Refusal:
    if reason == Reason.NOT_FOUND:
        return Refusal(reason, 404, _("No such room"), _("There is no room at this address."))
    if reason == Reason.SIGN_IN:
        return Refusal(
            reason,
            403,
            _("Sign in first"),
            _("This room is for members of the institution. Sign in with your university account to enter."),
        )
    if reason == Reason.NOT_INVITED:
        return Refusal(
            reason,
            403,
            _("Not invited"),
            _("Only people the hosts invited may enter this room. Ask a host to invite you."),
        )
    if reason == Reason.NOT_OPEN:
        return Refusal(
            reason,
            409,
            _("Not open yet"),
            _("This room opens shortly before the lecture begins."),
            opens_at=opens_at,
        )
    if reason == Reason.NEEDS_NAME:
        return Refusal(
            reason,
            400,
            _("Your name, please"),
            _("Enter the name the others will see (at most %(max)d characters).") % {"max": DISPLAY_NAME_MAX},
        )
    if reason == Reason.NEEDS_CODE:
        return Refusal(reason, 403, _("Access code"), _("This room asks for an access code."))
    if reason == Reason.TOO_MANY_CODES:
        wait = retry_after or 1
        return Refusal(reason, 429, _("Too many attempts"), wait_in_words(wait), retry_after=wait)
    return Refusal(
        reason, 403, _("Wrong access code"), _("That access code is not right. Check it and try again.")
    )


def clean_display_name(value: str | None) -> str:
    """A display name as typed by a guest, or "" when unusable (empty, too long, control characters)."""
    name = " ".join((value or "").split())
    if not name or len(name) > DISPLAY_NAME_MAX:
        return ""
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return ""
    return name


def signer_for(deployment: JitsiDeployment, tenant: Tenant) -> jitsi.Signer:
    if deployment.algorithm == jitsi.RS256:
        return keys.rs256_signer(tenant)
    return jitsi.Signer(algorithm=jitsi.HS256, key=deployment.app_secret)


def features_for(room: Room, *, moderator: bool) -> dict[str, bool]:
    """Jitsi features by role and room settings; Prosody enables only what is exactly true."""
    return {
        # Only where the institution has turned recordings on (meetings/recordings); explicitly false
        # otherwise, since Prosody lets a token without the key record (CONTRACTS.md §6).
        "recording": moderator and room.allow_recording and room.tenant.recordings_enabled,
        "livestreaming": moderator and room.allow_livestreaming,
        "transcription": False,
        "outbound-call": False,
        "sip-outbound-call": False,
        "lobby": moderator and room.lobby,
        "screen-sharing": moderator or room.allow_participant_screen_sharing,
    }


def record_use(room: Room, now: datetime) -> None:
    """Record use (idle anonymous rooms expire by it) without writing on every join."""
    if room.last_used_at is not None and now - room.last_used_at < LAST_USED_EVERY:
        return
    try:
        with transaction.atomic():  # a savepoint when called inside a transaction: its failure stays here
            Room.objects.filter(pk=room.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
            ).update(last_used_at=now)
    except (OperationalError, InterfaceError) as error:
        # PostgreSQL is away: a join decided from this process's copies still gets its token; the next join
        # after the outage records the use.
        logger.warning("room use not recorded (database unavailable): %s", error)
        return
    room.last_used_at = now  # RoomQuerySet.update() told the processes' copies of the room


def not_found() -> Refusal:
    """The refusal for a room that does not exist: the same as for one the person may not know of."""
    return _refusal(Reason.NOT_FOUND)


def join_room(
    *,
    room: Room,
    user: Any,
    now: datetime,
    display_name: str | None = None,
    access_code: str | None = None,
    code_verified: bool = False,
    client: str = "",
    guest_id: str | None = None,
    moderator: bool = False,
    record: bool = True,
) -> JoinTicket | Refusal:
    """May `user` (or an anonymous guest) enter `room` now? If so, a signed token for it.

    `code_verified`: the caller already saw the right access code from this person (kept in the session).
    `client`: the person's address (ratelimit.client_address), for the limits on wrong access codes.
    `moderator`: grant host rights regardless of accounts (the creator of an anonymous meeting).
    `record`: note the room's use (record_use) and store an access code of the old format anew; off for
    a join computed ahead that may be thrown away (which then carries no access code: it would be counted)."""
    if room.is_anonymous and anonymous.is_expired(room, now):
        return _refusal(Reason.NOT_FOUND)  # on every path: the page, the API, the tenant's join link
    viewer = viewer_of(user, room)
    verdict = decide(viewer, room)
    if verdict == Verdict.NOT_FOUND:
        return _refusal(Reason.NOT_FOUND)
    if verdict == Verdict.SIGN_IN:
        return _refusal(Reason.SIGN_IN)
    if verdict == Verdict.NOT_INVITED:
        return _refusal(Reason.NOT_INVITED)
    is_moderator = moderator or viewer.is_host

    window = schedule.join_window(room, now)
    if not window.is_open and not is_moderator:
        return _refusal(Reason.NOT_OPEN, opens_at=window.opens_at)

    if viewer.is_authenticated:
        name = user.get_display_name()
    else:
        name = clean_display_name(display_name)
        if not name:
            return _refusal(Reason.NEEDS_NAME)

    if not is_moderator and requires_access_code(room) and not code_verified:
        code = (access_code or "").strip()
        if not code:
            return _refusal(Reason.NEEDS_CODE)
        # Counted before the check, so that past the limit no code is hashed at all, and a right code is
        # refused too (a guesser cannot tell a hit during the block).
        wait = ratelimit.take_code_attempt(room.pk, client)
        if wait is not None:
            return _refusal(Reason.TOO_MANY_CODES, retry_after=wait)
        if not access.check_access_code(room, code):
            return _refusal(Reason.WRONG_CODE)  # the attempt stays counted
        ratelimit.give_back_code_attempt(room.pk, client)
        if record and not is_current_hash(room.access_code_hash):
            services.upgrade_access_code_hash(room=room, code=code)

    if viewer.is_authenticated:
        participant = jitsi.Participant(
            id=str(user.public_id),
            name=name,
            moderator=is_moderator,
            email=user.email if user.share_email_in_meetings and user.email else None,
        )
    else:
        participant = jitsi.Participant(id=guest_id or str(uuid.uuid4()), name=name, moderator=is_moderator)

    tenant = room.tenant
    deployment = tenant.deployment
    expires_at = jitsi.token_expiry(
        now=now,
        closes_at=window.closes_at,
        grace=timedelta(seconds=settings.JOIN_TOKEN_GRACE_SECONDS),
        longest=timedelta(seconds=settings.JOIN_TOKEN_MAX_SECONDS),
    )
    token = jitsi.mint_room_token(
        deployment=deployment,
        signer=signer_for(deployment, tenant),
        room=room.name,
        participant=participant,
        now=now,
        expires_at=expires_at,
        features=features_for(room, moderator=is_moderator),
        room_flags={"lobby": room.lobby},
    )
    if record:
        record_use(room, now)
    return JoinTicket(
        room=room,
        token=token,
        participant=participant,
        jitsi_url=jitsi.meeting_url(deployment, token.room),
        iframe_domain=jitsi.iframe_domain(deployment),
        iframe_room=jitsi.conference_path(deployment, token.room),
    )
