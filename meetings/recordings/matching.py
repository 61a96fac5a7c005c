"""Which room a recording belongs to: only `meeting_url` decides (CONTRACTS.md §6). Jibri writes it from the
meeting it joined; every other key of metadata.json is the client's and never used for authorisation."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from meetings.models import Room
from tenants.models import JitsiDeployment

MAX_URL = 2000


class NotThisDeployment(Exception):
    """The URL names a meeting on another Jitsi (another deployment's, or none of ours)."""


class NoSuchRoom(Exception):
    pass


def room_name_from_url(deployment: JitsiDeployment, url: str) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise NotThisDeployment
    try:
        parts, base = urlsplit(url.strip()), urlsplit(deployment.base_url)
        same_host = parts.hostname == base.hostname and parts.port == base.port
    except ValueError as exc:  # a malformed port or IPv6 literal
        raise NotThisDeployment from exc
    if parts.scheme not in ("http", "https") or not same_host:
        raise NotThisDeployment
    base_path = base.path.rstrip("/")
    path = unquote(parts.path)
    if not path.startswith(base_path + "/"):
        raise NotThisDeployment
    segments = [s for s in path[len(base_path) + 1 :].split("/") if s]
    if deployment.tenant_path:
        if len(segments) != 2 or segments[0].lower() != deployment.tenant_path.lower():
            raise NotThisDeployment
        segments = segments[1:]
    if len(segments) != 1:
        raise NoSuchRoom
    return segments[0].lower()


def room_for(deployment: JitsiDeployment, url: str) -> Room:
    """The deployment's tenant's room that `url` (a meeting URL) names."""
    name = room_name_from_url(deployment, url)
    room = Room.objects.filter(tenant_id=deployment.tenant_id, name=name).select_related("tenant").first()
    if room is None:
        raise NoSuchRoom
    return room
