"""The join API's hot path: a signed-in browser joining a room it may enter, in one Redis round trip.

At 10:15 on a Monday thousands of students press "join" within a minute. The ordinary path through DRF
costs three Redis round trips (session, user token, rate limit) and DRF's request wrapping, about 0.8 ms of
CPU per join; this path answers the common case with the same checks and the same bytes in one round trip:

- only POST with a session cookie, no Authorization header, a JSON object body;
- CSRF checked exactly as DRF's SessionAuthentication does (DRF's own CSRFCheck);
- the per-address rate limit counted in the same round trip that reads the session, the user's generation
  token (tenants/session_ahead.py) and the room's tokens (meetings/joincache.py);
- the tenant resolved as the DRF view resolves it (meetings/api/join_tenant.py): the tenant's own host, else
  the person's only membership (a request naming a tenant goes to DRF), then the room found by (tenant, name);
- access decided by the same functions (joincache.room_named, join_room);
- the round trip overlaps the work: the command goes out first, then the body, CSRF and the join are
  decided from this process's copies of the user and the room (as the session's user was last seen here),
  and only then is the answer read; the early decision is kept only if the tokens read confirm every copy
  it used, else it is decided again from the confirmed ones. A thread that waits on the socket instead
  costs a busy server about 0.1 ms more CPU per join than the wait itself (bench/join.py).

Anything else (token clients, joins that carry an access code, refusals, errors, a session new to this
process, over the rate limit) goes on to the DRF view with what was already read (`Prefetched`), so the
limit is counted once and every answer other than a token keeps coming from one place. Access codes in
particular are checked only there: each attempt is counted against the limits on wrong codes
(meetings/ratelimit.py) exactly once, and never for a decision computed ahead and thrown away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authentication import CSRFCheck
from rest_framework.renderers import JSONRenderer

from meetings import joincache
from meetings.api.join_tenant import hinted_tenant_id, member_tenants, only_membership
from meetings.joining import JoinTicket, Refusal, join_room, record_use
from meetings.models import Room
from portal.adapters.django_scopes import enter_scope
from tenants import hotcache, session_ahead
from tenants.api.permissions import TENANT_HEADER, TENANT_QUERY

_renderer = JSONRenderer()


@dataclass(frozen=True)
class Prefetched:
    """The rate-limit hit counted here and the cache values read with it, for the DRF path to reuse."""

    count: int
    retry_after: int
    found: dict[str, Any]


def _eligible(request: HttpRequest) -> bool:
    return (
        settings.JOIN_QUICK_PATH
        and request.method == "POST"
        and "HTTP_AUTHORIZATION" not in request.META
        and TENANT_HEADER not in request.META  # a named tenant: DRF resolves (and checks) it
        and TENANT_QUERY not in request.GET
        and request.content_type == "application/json"
        and settings.SESSION_COOKIE_NAME in request.COOKIES
        and hasattr(cache, "hit_later")  # Redis (portal.redis_cache): the one-round-trip counter
    )


# Stateless: one instance serves every request (DRF builds one per request, which costs more than the check).
_csrf = CSRFCheck(lambda request: HttpResponse())


def _csrf_ok(request: HttpRequest) -> bool:
    """CSRF as DRF's SessionAuthentication checks it, with its own CSRFCheck."""
    if "CSRF_COOKIE" not in request.META:  # CsrfViewMiddleware did not run: read the cookie first
        _csrf.process_request(request)
    return _csrf.process_view(request, None, (), {}) is None  # type: ignore[arg-type]


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity: DRF's JSONParser refuses them too


def access_code(data: Any) -> str | None:
    """The optional access code of a join body (JoinRequestSerializer's shape). ValueError naming the field
    ("non_field_errors" or "access_code") when the body does not have that shape."""
    if not isinstance(data, dict):
        raise ValueError("non_field_errors")
    code = data.get("access_code")
    if code is None or code == "":
        return None
    if not isinstance(code, str) or len(code) > 128:
        raise ValueError("access_code")
    return code.strip() or None


def _access_code(request: HttpRequest) -> tuple[bool, str | None]:
    """(usable, code) of the request body; unusable bodies go to DRF, which says what is wrong."""
    try:
        return True, access_code(json.loads(request.body or b"{}", parse_constant=_no_constants))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply (DRF's parser says so)
        return False, None


@dataclass(frozen=True)
class _Guess:
    """A join decided while Redis was still answering, from this process's copies as they were."""

    tenant_id: int
    user_entry: Any
    room_entry: Any
    result: JoinTicket | Refusal
    body: bytes  # the response body for a JoinTicket, rendered ahead too

    def holds(self, user: Any, tenant_id: int, room_name: str, found: dict[str, Any]) -> bool:
        """True if the answer read confirms every copy it used: the session's user is the remembered one
        with the very same entry (its token matched), in the same tenant, and the room entry carries the
        tokens read."""
        return (
            tenant_id == self.tenant_id
            and getattr(user, "_hot_entry", None) is self.user_entry
            and joincache.current(tenant_id, room_name, found) is self.room_entry
        )


def _body(ticket: JoinTicket) -> bytes:
    data = {
        "jwt": ticket.jwt,
        "jitsi_url": ticket.jitsi_url,
        "room": ticket.token.room,
        "expires_at": ticket.expires_at.isoformat(),
    }
    return _renderer.render(data)  # type: ignore[no-any-return]


def _join(room: Room | None, user: Any) -> JoinTicket | Refusal | None:
    """join_room() without an access code (None: no such room, the DRF view says so)."""
    if room is None:
        return None
    return join_room(room=room, user=user, now=timezone.now(), record=False)


def _tenant_ahead(request: HttpRequest, remembered: Any) -> int | None:
    """The join's tenant as far as it is known before Redis answers: the host's, or the only membership of
    the user this session had in this process."""
    found = hinted_tenant_id(request)
    if found is None and remembered is not None:
        found = only_membership(member_tenants(remembered))
    return found


def _guess(tenant_id: int | None, remembered: Any, room_name: str) -> _Guess | None:
    """The join as it will most likely be decided: the user this session had, the room entry in memory."""
    if tenant_id is None or remembered is None:
        return None
    entry = joincache.peek(tenant_id, room_name)
    if entry is None:
        return None
    enter_scope(tenant=tenant_id)
    result = _join(joincache.room_for_viewer(entry, remembered), remembered)
    if result is None:
        return None
    body = _body(result) if isinstance(result, JoinTicket) else b""
    return _Guess(tenant_id, remembered._hot_entry, entry, result, body)


def answer(request: HttpRequest, room_name: str, throttle: Any) -> HttpResponse | None:
    """The join's response, or None to go on to the DRF view (with request.join_prefetched set when the
    rate limit was counted here). `throttle`: the view's per-address throttle (its key and rate)."""
    if not _eligible(request):
        return None
    key = throttle.get_cache_key(request, None)
    limit, duration = throttle.parse_rate(throttle.rate) if throttle.rate else (None, None)
    if key is None or limit is None or duration is None:
        return None
    user_id = session_ahead.remembered_user(request)
    remembered = hotcache.peek_user(user_id) if user_id is not None else None
    tenant_ahead = _tenant_ahead(request, remembered)
    room_keys = joincache.token_keys(tenant_ahead, room_name) if tenant_ahead is not None else ()
    pending = cache.hit_later(  # type: ignore[attr-defined]
        key, duration, (*session_ahead.keys(request), *room_keys)
    )
    # While Redis counts and reads: the body, CSRF, and the join decided from this process's copies (a
    # blocking wait for the answer costs a busy server more CPU than this work).
    guess = None
    try:
        usable, code = _access_code(request)
        checked = usable and code is None and _csrf_ok(request)  # a code: the DRF view counts and checks it
        if checked:
            guess = _guess(tenant_ahead, remembered, room_name)
    finally:
        count, retry_after, found = pending()  # always read: the connection must not keep the answer
    request.join_prefetched = Prefetched(count, retry_after, found)  # type: ignore[attr-defined]
    if not checked or count > limit:
        return None
    user = session_ahead.user(request, found)
    if user is None:
        return None
    request.user = user
    tenant_id = hinted_tenant_id(request)
    if tenant_id is None:
        tenant_id = only_membership(member_tenants(user))
        if tenant_id is None:
            return None  # several memberships or none: the DRF view asks for the tenant
    enter_scope(tenant=tenant_id)
    result: JoinTicket | Refusal | None
    if guess is not None and guess.holds(user, tenant_id, room_name, found):
        result, body = guess.result, guess.body
    else:
        result = _join(joincache.room_named(tenant_id, room_name, user, found), user)
        body = _body(result) if isinstance(result, JoinTicket) else b""
    if not isinstance(result, JoinTicket):
        return None  # refused (or not found): the DRF view answers with the reason
    record_use(result.room, timezone.now())
    response = HttpResponse(body, content_type="application/json")
    response["Allow"] = "POST, OPTIONS"  # as DRF's finalize_response sets it for this view
    return response
