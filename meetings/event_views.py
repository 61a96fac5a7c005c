"""The endpoint Prosody's `event_sync` component posts to: `POST /jitsi/<deployment>/events/<kind>`.

Thin: authenticate the deployment by its bearer secret (constant-time), parse (meetings.events), hand the
event to its service (meetings.live), answer at once. Malformed bodies get 400 with the reason so Prosody
does not retry them forever; only a failure on our side is a 5xx (which Prosody retries, and the services
are idempotent).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_scopes import scope

from meetings import events, live
from portal.process_cache import LocalCache
from tenants.models import JitsiDeployment

log = logging.getLogger(__name__)

# Real bodies are well under 4 KiB; `all_occupants` of a big lecture stays far below this.
MAX_BODY_BYTES = 256 * 1024

_DEPLOYMENT_TTL = 30.0
# A secret that does not match the cached one is checked against the database again, at most this often per
# deployment: a rotated secret (tenants.services.rotate_event_secret, in any process) is accepted at once
# instead of being refused with a 401 that Prosody would not retry, and wrong secrets cannot make every
# request a database read.
_RECHECK_AFTER = 1.0


@dataclass(frozen=True)
class _Cached:
    read_at: float
    deployment: JitsiDeployment | None
    sealed_secret: str | None  # the event secret as stored, which live.record_event checks is still there


_deployments: LocalCache[_Cached] = LocalCache(
    "event deployments",
    max_age=_DEPLOYMENT_TTL,
    limit=1000,
    holds="a deployment with its unsealed event secret",
)


def _deployment(slug: str, *, recheck: bool = False, reload: bool = False) -> _Cached | None:
    """The deployment with its unsealed event secret, cached per process (else every event decrypts it and
    costs a query). `recheck`: read it again unless it was read within the last second (answers None then);
    `reload`: read it again now.

    The cache cannot let an old secret in: the event is recorded only if the stored secret is still the
    one cached here (checked in the same statement, see meetings.live), so a rotation in any process counts
    from the next event on, everywhere."""
    now = time.monotonic()
    found_entry = _deployments.peek(slug, _RECHECK_AFTER if recheck else None)
    if found_entry is not None and not reload:
        return None if recheck else found_entry.value
    found = (
        JitsiDeployment.objects.filter(slug=slug, tenant__is_active=True)
        .select_related("tenant")
        .annotate(sealed_event_secret=Cast("event_secret", output_field=TextField()))
        .first()
    )
    entry = _Cached(now, found, getattr(found, "sealed_event_secret", None))
    _deployments.put(slug, (), entry, now)
    return entry


def forget_deployments() -> None:
    """Drop this process's copies (tests)."""
    _deployments.clear()


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _authorized(request: HttpRequest, cached: _Cached | None) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    # Compare even when there is no deployment or secret, so timing tells nothing about which slugs exist.
    deployment = cached.deployment if cached is not None else None
    secret = deployment.event_secret if deployment is not None and deployment.event_secret else ""
    matches = hmac.compare_digest(token.strip().encode(), (secret or "\x00no-secret").encode())
    return bool(secret) and scheme.lower() == "bearer" and matches


def _unauthorized() -> JsonResponse:
    response = _error(401, _("Missing or wrong event secret for this deployment."))
    response["WWW-Authenticate"] = 'Bearer realm="jitsi-events"'
    return response


@csrf_exempt
@require_POST
def receive_event(request: HttpRequest, deployment: str, kind: str) -> HttpResponse:
    found = _deployment(deployment)
    if not _authorized(request, found):
        # Perhaps the secret was rotated since it was cached here: look again (rate-limited) before refusing.
        found = _deployment(deployment, recheck=True)
    if not _authorized(request, found):
        return _unauthorized()
    length = request.headers.get("Content-Length")
    try:
        too_big = length is not None and int(length) > MAX_BODY_BYTES
    except ValueError:
        return _error(400, _("Content-Length is not a number."))
    if too_big:
        return _error(413, _("The body is larger than %(limit)s bytes.") % {"limit": MAX_BODY_BYTES})
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(413, _("The body is larger than %(limit)s bytes.") % {"limit": MAX_BODY_BYTES})
    try:
        event = events.parse_event(kind, body)
    except events.EventError as exc:
        log.info("refused a Prosody event for %s/%s: %s", deployment, kind, exc)
        return _error(400, str(exc))
    assert found is not None and found.deployment is not None  # _authorized
    try:
        # The deployment was resolved across tenants by its slug (it names its tenant); the event is its own.
        with scope(tenant=found.deployment.tenant_id):
            outcome = live.record_event(
                deployment=found.deployment, event=event, sealed_secret=found.sealed_secret
            )
    except live.DeploymentChanged:
        # Changed since it was cached here (a rotation in another process): decide on what is stored now.
        found = _deployment(deployment, reload=True)
        if not _authorized(request, found):
            return _unauthorized()
        assert found is not None and found.deployment is not None
        with scope(tenant=found.deployment.tenant_id):
            outcome = live.record_event(
                deployment=found.deployment, event=event, sealed_secret=found.sealed_secret
            )
    data: dict[str, Any] = {"ok": True, "changed": outcome.changed, "count": outcome.count}
    return HttpResponse(json.dumps(data), content_type="application/json")
