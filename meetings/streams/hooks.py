"""The media server's side of live streams (CONTRACTS.md section 7).

- `POST /streams/hooks/nginx-rtmp`: nginx-rtmp's `on_publish` and `on_publish_done` (form fields `call`,
  `name` = the stream path, `addr`, `clientid`, plus the publish URL's query, i.e. `key`). 2xx allows, 403
  refuses (nginx then drops the publisher). RTMP playback (`on_play`) is always refused: viewers use HLS.
- `POST /streams/hooks/mediamtx`: MediaMTX's HTTP authentication hook (JSON `{user, password, token, ip,
  action, path, protocol, id, query}`): `publish` with the secret as `key=` in the query (or as the password),
  `read`/`playback` with a viewing pass as `pass=` in the query (or as the token).
- `GET /streams/hls-auth`: nginx's `auth_request` for every HLS file: `X-Original-URI` names the file,
  `X-Stream-Pass` carries the viewing pass cookie (meetings.streams.passes). 204, or 401 without a pass, 403
  with a wrong one. Answered from a per-process copy of the stream's rules (STREAM_RULES_SECONDS) and an
  HMAC: no session, no user, usually no query.

Every refusal is a 403 (or 401) without detail: a media server only needs yes or no.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from meetings.streams import passes
from meetings.streams.models import RoomStream
from meetings.streams.services import PublishRequest, end_publishing, start_publishing
from portal.process_cache import LocalCache

_PATH = re.compile(r"^[a-z2-7]{20}$")
# One file directly in a stream's folder: no dot segments, no encodings, nothing else can pass.
_HLS_FILE = re.compile(r"^/([a-z2-7]{20})/[A-Za-z0-9_-]{1,64}\.(?:m3u8|ts|m4s|mp4|aac)$")
_MAX_FIELD = 500


def _allowed() -> HttpResponse:
    return HttpResponse(status=204)


def _refused(status: int = 403) -> HttpResponse:
    return HttpResponse(status=status)


def _field(data: dict[str, str], name: str) -> str:
    value = data.get(name) or ""
    return value[:_MAX_FIELD] if isinstance(value, str) else ""


@csrf_exempt
@require_POST
def nginx_rtmp(request: HttpRequest) -> HttpResponse:
    data = {name: request.POST.get(name, "") for name in ("call", "name", "key", "addr", "clientid")}
    path = _field(data, "name")
    if not _PATH.match(path):
        return _refused()
    publish = PublishRequest(
        path=path, secret=_field(data, "key"), addr=_field(data, "addr"), client_id=_field(data, "clientid")
    )
    call = data["call"]
    if call == "publish":
        return _allowed() if start_publishing(request=publish) is not None else _refused()
    if call == "publish_done":
        return _allowed() if end_publishing(request=publish) is not None else _refused()
    return _refused()  # play, connect, ...: viewers watch over HLS


@csrf_exempt
@require_POST
def mediamtx(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponse("expected a JSON object", status=400, content_type="text/plain")
    if not isinstance(body, dict):
        return HttpResponse("expected a JSON object", status=400, content_type="text/plain")
    query = parse_qs(_field(body, "query"))
    path = _field(body, "path").removeprefix("live/")
    if not _PATH.match(path):
        return _refused()
    action = _field(body, "action")
    if action == "publish":
        secret = (query.get("key") or [""])[0] or _field(body, "password")
        publish = PublishRequest(path=path, secret=secret, addr=_field(body, "ip"), server="mediamtx")
        return _allowed() if start_publishing(request=publish) is not None else _refused()
    if action in ("read", "playback"):
        token = (query.get("pass") or [""])[0] or _field(body, "token")
        return _check_view(path, token)
    return _refused()


# --- HLS viewing ---

# (audience, pass epoch) per stream path; a change of who may watch raises the epoch, seen within the age.
_rules: LocalCache[tuple[str, int] | None] = LocalCache(
    "stream rules",
    max_age=lambda: float(settings.STREAM_RULES_SECONDS),
    limit=10_000,
    holds="who may watch a stream and its pass epoch",
)


def _rules_of(path: str) -> tuple[str, int] | None:
    """(audience, pass epoch) of a watchable stream, None otherwise; kept for STREAM_RULES_SECONDS."""
    return _rules.get(path, (), lambda: _load_rules(path))


def _load_rules(path: str) -> tuple[str, int] | None:
    row = (
        RoomStream.objects.filter(
            path=path, room__archived=False, room__allow_livestreaming=True, room__tenant__is_active=True
        )
        .values_list("audience", "pass_epoch")
        .first()
    )
    return (str(row[0]), int(row[1])) if row is not None else None


def forget_rules() -> None:
    """Tests: read every stream's rules again."""
    _rules.clear()


def _check_view(path: str, token: str) -> HttpResponse:
    rules = _rules_of(path)
    if rules is None:
        return _refused()
    audience, epoch = rules
    if audience == RoomStream.Audience.PUBLIC:
        return _allowed()
    if not token:
        return _refused(401)
    return _allowed() if passes.check(token, path, epoch) else _refused()


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def hls_auth(request: HttpRequest) -> HttpResponse:
    uri = request.headers.get("X-Original-URI", "").split("?", 1)[0]
    base = passes.cookie_path("x").removesuffix("x/")  # the HLS prefix, e.g. /hls/
    if not uri.startswith(base):
        return _refused()
    match = _HLS_FILE.match(uri[len(base) - 1 :])
    if match is None:
        return _refused()
    token = request.headers.get("X-Stream-Pass") or request.COOKIES.get(passes.COOKIE, "")
    return _check_view(match[1], token[:_MAX_FIELD])
