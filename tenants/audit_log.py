"""The audit log read by people: each action code as a translatable sentence, with rooms, people and lecture
series named by what admins know them as (titles and names, never slugs, usernames, codes or key ids).

Sentences take the actor first as a %(actor)s placeholder so that translators can move it. A code this
module does not know yet still reads as a sentence ("... made a change"), never as the raw code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from portal import formats
from tenants.models import AuditEntry, Membership, Tenant, User

# What the action filter offers, in the order shown; the labels name the kind of change.
ACTIONS: dict[str, Any] = {
    "room.created": gettext_lazy("Room created"),
    "room.anonymous_created": gettext_lazy("Open meeting started without an account"),
    "room.changed": gettext_lazy("Room changed"),
    "room.archived": gettext_lazy("Room archived"),
    "room.transferred": gettext_lazy("Room handed over"),
    "room.co_host_added": gettext_lazy("Co-host added"),
    "room.co_host_removed": gettext_lazy("Co-host removed"),
    "room.invitee_added": gettext_lazy("Person invited"),
    "room.invitee_removed": gettext_lazy("Invitation withdrawn"),
    "series.scheduled": gettext_lazy("Lecture series scheduled"),
    "series.changed": gettext_lazy("Lecture series changed"),
    "series.deleted": gettext_lazy("Lecture series deleted"),
    "series.lecture_cancelled": gettext_lazy("Lecture cancelled"),
    "series.lecture_restored": gettext_lazy("Lecture restored"),
    "series.lecture_moved": gettext_lazy("Lecture moved"),
    "series.feed_rotated": gettext_lazy("Calendar link of a series renewed"),
    "feed.personal_rotated": gettext_lazy("Personal calendar link renewed"),
    "membership.role_changed": gettext_lazy("Role changed"),
    "membership.blocked": gettext_lazy("Member blocked"),
    "membership.unblocked": gettext_lazy("Member unblocked"),
    "branding.changed": gettext_lazy("Branding changed"),
    "api_token.created": gettext_lazy("API token created"),
    "api_token.revoked": gettext_lazy("API token revoked"),
    "deployment.changed": gettext_lazy("Jitsi deployment changed"),
    "deployment.event_secret_rotated": gettext_lazy("Event secret renewed"),
    "signing_key.created": gettext_lazy("Signing key created"),
    "signing_key.rotated": gettext_lazy("Signing key renewed"),
    "tenant.created": gettext_lazy("Institution created"),
    "tenant.changed": gettext_lazy("Institution settings changed"),
    "series.followed": gettext_lazy("Lecture series followed"),
    "series.unfollowed": gettext_lazy("Lecture series no longer followed"),
    "calendar.period_added": gettext_lazy("Academic calendar: period added"),
    "calendar.period_removed": gettext_lazy("Academic calendar: period removed"),
    "deployment.recording_secret_rotated": gettext_lazy("Recording secret renewed"),
    "recording.received": gettext_lazy("Recording received"),
    "recording.failed": gettext_lazy("Recording could not be processed"),
    "recording.renamed": gettext_lazy("Recording renamed"),
    "recording.visibility_changed": gettext_lazy("Who may watch a recording changed"),
    "recording.keep_until_changed": gettext_lazy("Recording kept longer or shorter"),
    "recording.deleted": gettext_lazy("Recording deleted"),
    "recording.purged": gettext_lazy("Recording deleted after its retention period"),
    "stream.enabled": gettext_lazy("Live stream set up"),
    "stream.key_rotated": gettext_lazy("Stream key renewed"),
    "stream.settings_changed": gettext_lazy("Live stream settings changed"),
}

BRANDING_FIELD_NAMES = {
    "logo": pgettext_lazy("branding field", "logo"),
    "background_image": pgettext_lazy("branding field", "background image"),
    "primary_colour": pgettext_lazy("branding field", "primary colour"),
    "background_colour": pgettext_lazy("branding field", "background colour"),
    "welcome_text": pgettext_lazy("branding field", "welcome text"),
    "support_url": pgettext_lazy("branding field", "support page"),
    "default_language": pgettext_lazy("branding field", "default language"),
}

# Actions whose actor-less rows come from an anonymous visitor rather than from auditorium itself.
BY_VISITOR = {"room.anonymous_created"}


@dataclass(frozen=True)
class Names:
    """What the entries of one page refer to, looked up in three queries for the whole page."""

    rooms: dict[str, str]
    people: dict[str, str]
    series: dict[str, str]
    zone: str

    def room(self, name: str) -> str:
        return self.rooms.get(name) or _("a room that no longer exists")

    def person(self, username: str | None) -> str:
        if not username:
            return _("nobody")
        return self.people.get(username) or _("a former member")

    def lecture_series(self, code: str | None) -> str:
        return (code and self.series.get(code)) or _("a lecture series")

    def when(self, iso: str | None) -> str:
        try:
            return formats.moment(datetime.fromisoformat(iso or ""), self.zone)
        except ValueError:
            return _("a lecture")


def _fields(names: Iterable[str]) -> str:
    return ", ".join(str(BRANDING_FIELD_NAMES.get(n, n.replace("_", " "))) for n in names)


def _role_sentence(code: str | None) -> str:
    # One sentence per role: articles and capitals of the role's name differ between the languages.
    if code == Membership.Role.ADMIN:
        return _("%(actor)s made %(person)s an administrator.")
    if code == Membership.Role.HOST:
        return _("%(actor)s made %(person)s a host.")
    if code == Membership.Role.MEMBER:
        return _("%(actor)s made %(person)s a member.")
    return _("%(actor)s changed the role of %(person)s.")


# Each sentence: (entry, names) -> the words after the actor is known; the actor is always %(actor)s.
Sentence = Callable[[AuditEntry, Names], str]

SENTENCES: dict[str, Sentence] = {
    "room.created": lambda e, n: (
        _("%(actor)s created the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "room.anonymous_created": lambda e, n: _("%(actor)s started an open meeting.") % _a(e),
    "room.changed": lambda e, n: (
        _("%(actor)s changed the settings of the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "room.archived": lambda e, n: (
        _("%(actor)s archived the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "room.transferred": lambda e, n: (
        _("%(actor)s handed the room %(room)s over to %(person)s.")
        % {"room": n.room(e.target), "person": n.person(e.data.get("new_owner")), **_a(e)}
    ),
    "room.co_host_added": lambda e, n: (
        _("%(actor)s made %(person)s a co-host of the room %(room)s.")
        % {"room": n.room(e.target), "person": n.person(e.data.get("user")), **_a(e)}
    ),
    "room.co_host_removed": lambda e, n: (
        _("%(actor)s removed %(person)s as co-host of the room %(room)s.")
        % {"room": n.room(e.target), "person": n.person(e.data.get("user")), **_a(e)}
    ),
    "room.invitee_added": lambda e, n: (
        _("%(actor)s invited %(person)s to the room %(room)s.")
        % {"room": n.room(e.target), "person": n.person(e.data.get("user")), **_a(e)}
    ),
    "room.invitee_removed": lambda e, n: (
        _("%(actor)s withdrew the invitation of %(person)s to the room %(room)s.")
        % {"room": n.room(e.target), "person": n.person(e.data.get("user")), **_a(e)}
    ),
    "series.scheduled": lambda e, n: (
        _("%(actor)s scheduled the lecture series %(series)s in the room %(room)s.")
        % {"series": n.lecture_series(e.data.get("series")), "room": n.room(e.target), **_a(e)}
    ),
    "series.changed": lambda e, n: (
        _("%(actor)s changed the lecture series %(series)s.")
        % {"series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "series.deleted": lambda e, n: (
        _("%(actor)s deleted a lecture series of the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "series.lecture_cancelled": lambda e, n: (
        _("%(actor)s cancelled the lecture of %(when)s in %(series)s.")
        % {"when": n.when(e.data.get("lecture")), "series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "series.lecture_restored": lambda e, n: (
        _("%(actor)s restored the lecture of %(when)s in %(series)s.")
        % {"when": n.when(e.data.get("lecture")), "series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "series.lecture_moved": lambda e, n: (
        _("%(actor)s moved the lecture of %(when)s in %(series)s to %(new)s.")
        % {
            "when": n.when(e.data.get("lecture")),
            "new": n.when(e.data.get("new_start")),
            "series": n.lecture_series(e.data.get("series")),
            **_a(e),
        }
    ),
    "series.feed_rotated": lambda e, n: (
        _("%(actor)s renewed the calendar link of %(series)s.")
        % {"series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "feed.personal_rotated": lambda e, n: _("%(actor)s renewed their personal calendar link.") % _a(e),
    "membership.role_changed": lambda e, n: (
        _role_sentence(e.data.get("new") or e.data.get("role")) % {"person": n.person(e.target), **_a(e)}
    ),
    "membership.blocked": lambda e, n: (
        _("%(actor)s blocked %(person)s.") % {"person": n.person(e.target), **_a(e)}
    ),
    "membership.unblocked": lambda e, n: (
        _("%(actor)s unblocked %(person)s.") % {"person": n.person(e.target), **_a(e)}
    ),
    "branding.changed": lambda e, n: (
        _("%(actor)s changed the branding (%(fields)s).")
        % {"fields": _fields(e.data.get("fields") or []), **_a(e)}
    ),
    "api_token.created": lambda e, n: (
        _("%(actor)s created the API token “%(token)s”.") % {"token": e.target, **_a(e)}
    ),
    "api_token.revoked": lambda e, n: (
        _("%(actor)s revoked the API token “%(token)s”.") % {"token": e.target, **_a(e)}
    ),
    "deployment.changed": lambda e, n: _("%(actor)s changed the settings of the Jitsi deployment.") % _a(e),
    "deployment.event_secret_rotated": lambda e, n: (
        _("%(actor)s renewed the event secret of the Jitsi deployment.") % _a(e)
    ),
    "signing_key.created": lambda e, n: _("%(actor)s created a signing key for meeting tokens.") % _a(e),
    "signing_key.rotated": lambda e, n: _("%(actor)s renewed the signing key for meeting tokens.") % _a(e),
    "tenant.created": lambda e, n: _("%(actor)s created the institution.") % _a(e),
    "tenant.changed": lambda e, n: _("%(actor)s changed the institution's settings.") % _a(e),
    "series.followed": lambda e, n: (
        _("%(actor)s follows the lecture series %(series)s.")
        % {"series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "series.unfollowed": lambda e, n: (
        _("%(actor)s no longer follows the lecture series %(series)s.")
        % {"series": n.lecture_series(e.data.get("series")), **_a(e)}
    ),
    "calendar.period_added": lambda e, n: (
        _("%(actor)s added “%(period)s” to the academic calendar.") % {"period": e.target, **_a(e)}
    ),
    "calendar.period_removed": lambda e, n: (
        _("%(actor)s removed “%(period)s” from the academic calendar.") % {"period": e.target, **_a(e)}
    ),
    "deployment.recording_secret_rotated": lambda e, n: (
        _("%(actor)s renewed the recording secret of the Jitsi deployment.") % _a(e)
    ),
    "recording.received": lambda e, n: (
        _("%(actor)s received a recording of the room %(room)s.")
        % {"room": n.room(e.data.get("room", "")), **_a(e)}
    ),
    "recording.failed": lambda e, n: (
        _("%(actor)s could not process the recording “%(title)s”.") % {"title": _title(e), **_a(e)}
    ),
    "recording.renamed": lambda e, n: (
        _("%(actor)s renamed a recording to “%(title)s”.") % {"title": _title(e), **_a(e)}
    ),
    "recording.visibility_changed": lambda e, n: (
        _("%(actor)s changed who may watch the recording “%(title)s”.") % {"title": _title(e), **_a(e)}
    ),
    "recording.keep_until_changed": lambda e, n: (
        _("%(actor)s changed how long the recording “%(title)s” is kept.") % {"title": _title(e), **_a(e)}
    ),
    "recording.deleted": lambda e, n: (
        _("%(actor)s deleted the recording “%(title)s”.") % {"title": _title(e), **_a(e)}
    ),
    "recording.purged": lambda e, n: (
        _("%(actor)s deleted the recording “%(title)s” at the end of its retention period.")
        % {"title": _title(e), **_a(e)}
    ),
    "stream.enabled": lambda e, n: (
        _("%(actor)s set up a live stream for the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "stream.key_rotated": lambda e, n: (
        _("%(actor)s renewed the stream key of the room %(room)s.") % {"room": n.room(e.target), **_a(e)}
    ),
    "stream.settings_changed": lambda e, n: (
        _("%(actor)s changed the live stream settings of the room %(room)s.")
        % {"room": n.room(e.target), **_a(e)}
    ),
}


def _title(entry: AuditEntry) -> str:
    return str(entry.data.get("title") or _("a recording"))


def actor_name(entry: AuditEntry) -> str:
    if entry.actor is not None:
        return entry.actor.get_display_name()
    if entry.action in BY_VISITOR:
        return _("An anonymous visitor")
    return _("auditorium itself")


def _a(entry: AuditEntry) -> dict[str, str]:
    return {"actor": actor_name(entry)}


def sentence(entry: AuditEntry, names: Names) -> str:
    words = SENTENCES.get(entry.action)
    if words is None:
        return _("%(actor)s made a change.") % _a(entry)
    return words(entry, names)


def names_for(tenant: Tenant, entries: list[AuditEntry]) -> Names:
    from meetings.models import LectureSeries, Room

    room_names = {e.target for e in entries if e.action.startswith(("room.", "series."))}
    usernames = {e.target for e in entries if e.action.startswith("membership.")}
    for e in entries:
        usernames.update(str(e.data.get(k)) for k in ("user", "new_owner") if e.data.get(k))
    codes = {str(e.data["series"]) for e in entries if e.data.get("series")}
    rooms = (
        dict(Room.objects.filter(tenant=tenant, name__in=room_names).values_list("name", "title"))
        if room_names
        else {}
    )
    people = (
        {
            u.username: u.get_display_name()
            for u in User.objects.filter(username__in=usernames, memberships__tenant=tenant)
        }
        if usernames
        else {}
    )
    series = (
        dict(LectureSeries.objects.filter(tenant=tenant, code__in=codes).values_list("code", "title"))
        if codes
        else {}
    )
    return Names(rooms=rooms, people=people, series=series, zone=tenant.time_zone)


@dataclass(frozen=True)
class Line:
    created_at: datetime
    text: str
    kind: str


def lines(tenant: Tenant, entries: Iterable[AuditEntry]) -> list[Line]:
    entries = list(entries)
    names = names_for(tenant, entries)
    return [
        Line(e.created_at, sentence(e, names), str(ACTIONS.get(e.action, _("Other change")))) for e in entries
    ]


ANONYMOUS_ACTOR = "anonymous"


def filtered(
    tenant: Tenant,
    *,
    actor: str = "",
    action: str = "",
    first: date | None = None,
    last: date | None = None,
    q: str = "",
) -> QuerySet[AuditEntry]:
    """A tenant's entries narrowed by actor (a user's public id, or "anonymous" for rows without one),
    action code, local days first..last and words in the actor's name, the room's title or the target."""
    from zoneinfo import ZoneInfo

    from meetings.models import Room
    from meetings.statistics import local_midnight

    rows = AuditEntry.objects.filter(tenant=tenant).select_related("actor")
    if actor == ANONYMOUS_ACTOR:
        rows = rows.filter(actor__isnull=True)
    elif actor:
        rows = rows.filter(actor__public_id=actor)
    if action:
        rows = rows.filter(action=action)
    zone = ZoneInfo(tenant.time_zone)
    if first:
        rows = rows.filter(created_at__gte=local_midnight(first, zone))
    if last:
        from datetime import timedelta

        rows = rows.filter(created_at__lt=local_midnight(last + timedelta(days=1), zone))
    if q := q.strip():
        rooms = Room.objects.filter(tenant=tenant, title__icontains=q).values_list("name", flat=True)
        people = User.objects.filter(memberships__tenant=tenant).filter(
            Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(display_name__icontains=q)
        )
        rows = rows.filter(
            Q(target__in=rooms)
            | Q(target__in=people.values_list("username", flat=True))
            | Q(actor__in=people)
            | Q(target__icontains=q)
        )
    return rows
