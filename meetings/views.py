"""Room, lecture-series and calendar pages of a tenant. Thin: parse, check access, call a service, respond."""

from __future__ import annotations

import uuid
import zoneinfo
from collections import Counter
from typing import Any, cast

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from meetings import academic, dashboard, feeds, recurrence, services
from meetings.forms import (
    CancelForm,
    MoveForm,
    PersonForm,
    RoomCreateWithCodeForm,
    RoomEditForm,
    SeriesForm,
    TransferForm,
)
from meetings.lookups import (
    get_room_for_host,
    get_room_for_owner,
    get_series_for_host,
    hosted_rooms,
    rooms_open_to,
)
from meetings.models import Follow, LectureSeries, OccurrenceChange, PersonalFeed, Room
from portal import formats
from tenants.access import host_required, member_required
from tenants.models import Tenant, User
from tenants.requests import TenantRequest

UPCOMING_DAYS = 14


def _tenant(request: HttpRequest) -> Tenant:
    return cast(TenantRequest, request).tenant  # the tenant pages' request (tenants.requests)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _url(request: HttpRequest, route: str, /, **kwargs: Any) -> str:
    return reverse(f"meetings:{route}", kwargs={"tenant": _tenant(request).slug, **kwargs})


def _form_error(form: Form, error: ValidationError) -> None:
    """A service refused what the form let through (e.g. a race): show it on the form, write nothing."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _with_changes() -> Prefetch[Any]:
    return Prefetch("changes", queryset=OccurrenceChange.objects.all())


# Hosts: rooms ----------------------------------------------------------------------------------


@host_required
def room_list(request: HttpRequest) -> HttpResponse:
    rooms = list(
        dashboard.with_series(
            hosted_rooms(_tenant(request), _user(request))
            .filter(archived=False)
            .select_related("owner", "tenant")
            .order_by("title", "created_at")
        )
    )
    nexts = dashboard.next_lectures(rooms, timezone.now())
    # Rooms sharing a title are told apart by their creation date (the slug means nothing to people).
    titles = Counter(r.title.casefold() for r in rooms)
    rows = [(r, nexts[r.pk], titles[r.title.casefold()] > 1) for r in rooms]
    return render(request, "meetings/room_list.html", {"rows": rows})


@host_required
def room_create(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = RoomCreateWithCodeForm(request.POST or None, tenant=tenant)
    # The series fields are read only when "weekly lectures" is ticked (else they show no errors).
    weekly_posted = request.method == "POST" and bool(request.POST.get("weekly"))
    series_form = SeriesForm(
        request.POST if weekly_posted else None,
        tenant=tenant,
        prefix="series",
        initial=_series_initial(request),
    )
    if request.method == "POST" and form.is_valid():
        weekly = form.cleaned_data["weekly"]
        room_fields = {
            "title": form.cleaned_data["title"],
            "public_name": form.cleaned_data["public_name"],
            "access_code": form.cleaned_data["access_code"],
            **form.settings(),
        }
        if not weekly or series_form.is_valid():
            try:
                if weekly:
                    room, series = services.create_room_with_series(
                        actor=_user(request),
                        tenant=tenant,
                        room_fields=room_fields,
                        series_fields=series_form.series_fields(),
                    )
                    _warn_overlaps(request, series)
                else:
                    room = services.create_room(actor=_user(request), tenant=tenant, **room_fields)
            except ValidationError as error:
                _form_error(series_form if weekly else form, error)
            else:
                messages.success(request, _("Room “%(title)s” created.") % {"title": room.title})
                return redirect(_url(request, "room_detail", name=room.name))
    context = {"form": form, "series_form": series_form, "creating": True, **_series_page(request)}
    return render(request, "meetings/room_form.html", context)


def _series_page(request: HttpRequest, series: LectureSeries | None = None) -> dict[str, Any]:
    """What the series fields need on a page: the zones for the picker, the preview's address."""
    return {
        "time_zones": sorted(zoneinfo.available_timezones()),
        "preview_url": _url(request, "series_preview"),
        "preview_series": series.code if series else "",
    }


def _overlapping(request: HttpRequest, series: LectureSeries) -> list[academic.PreviewDate]:
    others = _hosts_other_series(request, exclude=series.pk)
    dates = academic.preview(series, others=others, holidays=[])
    return [d for d in dates if d.overlaps and d.start >= timezone.now()]


def _warn_overlaps(request: HttpRequest, series: LectureSeries) -> None:
    clashes = _overlapping(request, series)
    if clashes:
        first = clashes[0]
        messages.warning(
            request,
            ngettext(
                "%(count)d lecture overlaps with “%(other)s” (first on %(when)s).",
                "%(count)d lectures overlap with “%(other)s” and others (first on %(when)s).",
                len(clashes),
            )
            % {
                "count": len(clashes),
                "other": first.overlaps,
                "when": formats.moment(first.start, recurrence.zone(series.time_zone)),
            },
        )


def _hosts_other_series(request: HttpRequest, exclude: int | None = None) -> list[LectureSeries]:
    found = (
        LectureSeries.objects.filter(
            tenant=_tenant(request),
            room__in=hosted_rooms(_tenant(request), _user(request)).filter(archived=False),
        )
        .select_related("room", "room__tenant")
        .prefetch_related(_with_changes())
    )
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return list(found)


@host_required
def room_detail(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    now = timezone.now()
    series_list = list(LectureSeries.objects.filter(room=room).prefetch_related(_with_changes()))
    rows = [
        (s, recurrence.next_occurrences(s, after=now, limit=3, include_cancelled=True)) for s in series_list
    ]
    context = {
        "room": room,
        "series_rows": rows,
        "co_hosts": room.co_hosts.order_by("last_name", "first_name"),
        "is_owner": room.owner_id == request.user.pk,
        **_share(request, room, series_list),
    }
    return render(request, "meetings/room_detail.html", context)


def _share(request: HttpRequest, room: Room, series_list: list[LectureSeries]) -> dict[str, Any]:
    """The share panel: link, QR code, calendar links and an invitation to paste into an LMS or e-mail."""
    join_url = request.build_absolute_uri(room.join_path)
    # segno writes a self-contained SVG and escapes the title (a test pins that), so it may go in unescaped.
    qr_svg = mark_safe(segno.make(join_url, error="m").svg_inline(scale=5, title=room.title))  # noqa: S308
    series_feeds = [
        (s, request.build_absolute_uri(_url(request, "feed", token=s.feed_token))) for s in series_list
    ]
    lines = [room.title, "", _("Join the meeting: %(url)s") % {"url": join_url}]
    if room.access_code_hash:
        lines.append(_("Access code: (the code the hosts give you)"))
    for series, url in series_feeds:
        lines += [
            "",
            series.title,
            recurrence.describe(series),
            _("Add to your calendar: %(url)s") % {"url": url},
        ]
    return {
        "join_url": join_url,
        "qr_svg": qr_svg,
        "series_feeds": series_feeds,
        "invitation": "\n".join(lines),
    }


@host_required
def room_edit(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    initial = {f: getattr(room, f) for f in services.ROOM_FIELDS}
    form = RoomEditForm(request.POST or None, initial=initial, tenant=_tenant(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_room(
                actor=_user(request),
                room=room,
                access_code=form.cleaned_data["access_code"] or None,
                clear_access_code=form.cleaned_data["clear_access_code"],
                **form.settings(),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Room settings saved."))
            return redirect(_url(request, "room_detail", name=room.name))
    return render(request, "meetings/room_form.html", {"form": form, "room": room, "creating": False})


@host_required
def room_share(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    series_list = list(LectureSeries.objects.filter(room=room))
    return render(request, "meetings/room_share.html", {"room": room, **_share(request, room, series_list)})


@host_required
def room_people(request: HttpRequest, name: str) -> HttpResponse:
    """Co-hosts and invitees of a room, added by the e-mail address of a member of the tenant."""
    room = get_room_for_owner(request, name)
    co_host_form = PersonForm(prefix="co_host", tenant=_tenant(request))
    invitee_form = PersonForm(prefix="invitee", tenant=_tenant(request))
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = _user(request)
        if action in {"add_co_host", "add_invitee"}:
            prefix = "co_host" if action == "add_co_host" else "invitee"
            form = PersonForm(request.POST, prefix=prefix, tenant=_tenant(request))
            if form.is_valid():
                add = services.add_co_host if action == "add_co_host" else services.add_invitee
                try:
                    person = add(actor=actor, room=room, email=form.cleaned_data["email"])
                except ValidationError as error:
                    _form_error(form, error)
                else:
                    messages.success(request, _("%(name)s added.") % {"name": person.get_display_name()})
                    return redirect(_url(request, "room_people", name=room.name))
            if action == "add_co_host":
                co_host_form = form
            else:
                invitee_form = form
        elif action in {"remove_co_host", "remove_invitee"}:
            related = room.co_hosts if action == "remove_co_host" else room.invitees
            public_id = request.POST.get("person", "")
            removed = related.filter(public_id=public_id).first() if _is_uuid(public_id) else None
            if removed is None:
                raise Http404(_("No such person in this room."))
            remove = services.remove_co_host if action == "remove_co_host" else services.remove_invitee
            remove(actor=actor, room=room, user=removed)
            messages.success(request, _("%(name)s removed.") % {"name": removed.get_display_name()})
            return redirect(_url(request, "room_people", name=room.name))
        else:
            return HttpResponse(_("Unknown action."), status=400)
    context = {
        "room": room,
        "co_hosts": room.co_hosts.order_by("last_name", "first_name"),
        "invitees": room.invitees.order_by("last_name", "first_name"),
        "co_host_form": co_host_form,
        "invitee_form": invitee_form,
    }
    return render(request, "meetings/room_people.html", context)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@host_required
def room_archive(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_owner(request, name)
    if request.method == "POST":
        services.archive_room(actor=_user(request), room=room)
        messages.success(
            request, _("Room “%(title)s” archived: its link no longer works.") % {"title": room.title}
        )
        return redirect(_url(request, "room_list"))
    return render(request, "meetings/room_archive.html", {"room": room})


@host_required
def room_transfer(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_owner(request, name)
    form = TransferForm(request.POST or None, room=room)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_room(
                actor=_user(request),
                room=room,
                email=form.cleaned_data["email"],
                keep_as_co_host=form.cleaned_data["keep_as_co_host"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(
                request, _("Room handed over to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            if form.cleaned_data["keep_as_co_host"]:
                return redirect(_url(request, "room_detail", name=room.name))
            return redirect(_url(request, "room_list"))
    return render(request, "meetings/room_transfer.html", {"room": room, "form": form})


# Hosts: lecture series -------------------------------------------------------------------------


@host_required
def series_create(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    form = SeriesForm(request.POST or None, tenant=_tenant(request), initial=_series_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            series = services.schedule_series(actor=_user(request), room=room, **form.series_fields())
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Lecture series scheduled."))
            _warn_overlaps(request, series)
            return redirect(_url(request, "series_detail", name=room.name, code=series.code))
    context = {"form": form, "room": room, "creating": True, **_series_page(request)}
    return render(request, "meetings/series_form.html", context)


def _series_initial(request: HttpRequest) -> dict[str, Any]:
    """A new series starts in the tenant's zone and, during a semester of the academic calendar, ends
    with it."""
    tenant = _tenant(request)
    initial: dict[str, Any] = {"time_zone": tenant.time_zone}
    semester = academic.semester_containing(
        tenant, timezone.localdate(timezone=recurrence.zone(tenant.time_zone))
    )
    if semester is not None:
        initial["until"] = semester.last_day
    return initial


@host_required
def series_preview(request: HttpRequest) -> HttpResponse:
    """The lectures a series being filled in would have (JSON for static/js/series-preview.js): dates,
    holidays the calendar skips, overlaps with the host's other series. Reads the form's fields as they
    are (`prefix` for the new-room page); answers 200 with the form's first error while incomplete."""
    prefix = request.GET.get("prefix") or None
    if prefix not in (None, "series"):
        return JsonResponse({"error": _("Unknown form.")}, status=400)
    form = SeriesForm(request.GET, tenant=_tenant(request), prefix=prefix)
    started = all(request.GET.get(form.add_prefix(f)) for f in ("first_date", "start_time"))
    if not started:  # nothing to show yet: the page keeps its hint rather than "this field is required"
        return JsonResponse({"dates": [], "error": ""})
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return JsonResponse({"dates": [], "error": errors[0] if errors else ""})
    fields = form.series_fields()
    fields["title"] = fields["title"] or "-"
    series = LectureSeries(tenant=_tenant(request), **fields)
    existing = (
        LectureSeries.objects.filter(tenant=_tenant(request), code=request.GET.get("series", "")).first()
        if request.GET.get("series")
        else None
    )
    if existing is not None:
        series.calendar_exceptions = existing.calendar_exceptions
    others = _hosts_other_series(request, exclude=existing.pk if existing else None)
    dates = academic.preview(series, others=others, holidays=academic.holidays_of(_tenant(request)))
    tz = recurrence.zone(series.time_zone)
    held = [d for d in dates if not d.holiday]
    semester = academic.semester_containing(_tenant(request), series.first_date)
    return JsonResponse(
        {
            "dates": [d.as_json(tz) for d in dates],
            "held": len(held),
            "skipped": len(dates) - len(held),
            "overlaps": sum(1 for d in dates if d.overlaps),
            "semester_end": semester.last_day.isoformat() if semester else "",
            "error": "",
        }
    )


@host_required
def series_detail(request: HttpRequest, name: str, code: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    now = timezone.now()
    lectures = recurrence.next_occurrences(series, after=now, limit=200, include_cancelled=True)
    feed_url = request.build_absolute_uri(_url(request, "feed", token=series.feed_token))
    context = {
        "series": series,
        "room": series.room,
        "lectures": lectures,
        "feed_url": feed_url,
        "join_url": request.build_absolute_uri(series.room.join_path),
        "rule": recurrence.describe(series, viewer_zone=_tenant(request).time_zone),
    }
    return render(request, "meetings/series_detail.html", context)


@host_required
def series_edit(request: HttpRequest, name: str, code: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    initial = {f: getattr(series, f) for f in services.SERIES_FIELDS}
    initial["hold_on_holidays"] = not series.skip_holidays
    form = SeriesForm(request.POST or None, initial=initial, tenant=_tenant(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.change_series(actor=_user(request), series=series, **form.series_fields())
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Lecture series changed."))
            return redirect(_url(request, "series_detail", name=name, code=code))
    context = {
        "form": form,
        "room": series.room,
        "series": series,
        "creating": False,
        **_series_page(request, series),
    }
    return render(request, "meetings/series_form.html", context)


@host_required
def series_delete(request: HttpRequest, name: str, code: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    if request.method == "POST":
        services.delete_series(actor=_user(request), series=series)
        messages.success(request, _("Lecture series deleted."))
        return redirect(_url(request, "room_detail", name=name))
    return render(request, "meetings/series_delete.html", {"series": series, "room": series.room})


def _lecture(series: LectureSeries, key: str) -> recurrence.Occurrence:
    original = recurrence.find_occurrence(series, key)
    if original is None:
        raise Http404(_("This series has no such lecture."))
    # As it stands now: a lecture moved to another week shows its new time, as in the API.
    return recurrence.occurrence_at(series, original)


@host_required
def lecture_cancel(request: HttpRequest, name: str, code: str, key: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    lecture = _lecture(series, key)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.cancel_occurrence(
            actor=_user(request),
            series=series,
            original_start=lecture.original_start,
            note=form.cleaned_data["note"],
        )
        messages.success(request, _("Lecture cancelled."))
        return redirect(_url(request, "series_detail", name=name, code=code))
    context = {"series": series, "room": series.room, "lecture": lecture, "form": form}
    return render(request, "meetings/lecture_cancel.html", context)


@host_required
def lecture_move(request: HttpRequest, name: str, code: str, key: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    lecture = _lecture(series, key)
    local = lecture.local_start()
    initial = {"new_date": local.date(), "new_time": local.time(), "note": lecture.note}
    form = MoveForm(request.POST or None, initial=initial, time_zone=series.time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            services.move_occurrence(
                actor=_user(request),
                series=series,
                original_start=lecture.original_start,
                new_date=form.cleaned_data["new_date"],
                new_time=form.cleaned_data["new_time"],
                new_duration_minutes=form.cleaned_data["new_duration_minutes"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Lecture moved."))
            return redirect(_url(request, "series_detail", name=name, code=code))
    context = {"series": series, "room": series.room, "lecture": lecture, "form": form}
    return render(request, "meetings/lecture_move.html", context)


@require_POST
@host_required
def lecture_restore(request: HttpRequest, name: str, code: str, key: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    lecture = _lecture(series, key)
    services.restore_occurrence(actor=_user(request), series=series, original_start=lecture.original_start)
    messages.success(request, _("The lecture takes place as scheduled."))
    return redirect(_url(request, "series_detail", name=name, code=code))


@require_POST
@host_required
def series_rotate_feed(request: HttpRequest, name: str, code: str) -> HttpResponse:
    series = get_series_for_host(request, name, code)
    services.rotate_feed_token(actor=_user(request), series=series)
    messages.success(request, _("New calendar link created; the old one no longer works."))
    return redirect(_url(request, "series_detail", name=name, code=code))


# Members: lectures open to them ----------------------------------------------------------------


@member_required
def my_lectures(request: HttpRequest) -> HttpResponse:
    tenant, user = _tenant(request), _user(request)
    now = timezone.now()
    rooms = list(rooms_open_to(tenant, user).select_related("tenant").order_by("title", "name"))
    series_list = list(
        LectureSeries.objects.filter(room__in=[r.pk for r in rooms], tenant=tenant)
        .select_related("room", "room__tenant")
        .prefetch_related(_with_changes())
    )
    lectures = recurrence.upcoming(series_list, now=now, days=UPCOMING_DAYS, include_cancelled=True)
    feed = PersonalFeed.objects.filter(tenant=tenant, user=user).first()
    followed = set(Follow.objects.filter(user=user, tenant=tenant).values_list("series_id", flat=True))
    hosted = set(hosted_rooms(tenant, user).values_list("pk", flat=True))
    context = {
        "rooms": rooms,
        "lectures": lectures,
        "days": dashboard.by_day(lectures, tenant.time_zone),
        "series_list": series_list,
        "followed": followed,
        "hosted": hosted,
        "upcoming_days": UPCOMING_DAYS,
        "personal_feed_url": request.build_absolute_uri(_url(request, "feed", token=feed.token))
        if feed
        else "",
    }
    return render(request, "meetings/my_lectures.html", context)


@require_POST
@member_required
def series_follow(request: HttpRequest, code: str) -> HttpResponse:
    """Follow or stop following an institution-wide series: it is then in (or out of) the personal feed."""
    tenant, user = _tenant(request), _user(request)
    series = (
        LectureSeries.objects.filter(tenant=tenant, code=code, room__in=rooms_open_to(tenant, user))
        .select_related("room", "room__tenant")
        .first()
    )
    if series is None:
        raise Http404(_("No such lecture series."))
    if request.POST.get("follow") == "1":
        try:
            services.follow_series(actor=user, series=series)
        except ValidationError as error:
            return HttpResponse(" ".join(error.messages), status=400)
        messages.success(request, _("“%(title)s” is now in your calendar link.") % {"title": series.title})
    else:
        services.unfollow_series(actor=user, series=series)
        messages.success(
            request, _("“%(title)s” is no longer in your calendar link.") % {"title": series.title}
        )
    return redirect(_url(request, "my_lectures") + f"#series-{series.code}")


@require_POST
@member_required
def personal_feed_rotate(request: HttpRequest) -> HttpResponse:
    had_one = PersonalFeed.objects.filter(tenant=_tenant(request), user=_user(request)).exists()
    services.rotate_personal_feed(actor=_user(request), tenant=_tenant(request))
    if had_one:
        messages.success(request, _("New calendar link created; the old one no longer works."))
    else:
        messages.success(request, _("Your calendar link is ready."))
    return redirect(_url(request, "my_lectures"))


@member_required
def series_ics(request: HttpRequest, code: str) -> HttpResponse:
    """Download of one series as .ics, for members to whom its room is open."""
    tenant = _tenant(request)
    series = (
        LectureSeries.objects.filter(tenant=tenant, code=code, room__in=rooms_open_to(tenant, _user(request)))
        .select_related("room", "room__tenant")
        .first()
    )
    if series is None:
        raise Http404(_("No such lecture series."))
    body = feeds.series_feed(series, base_url=_base_url(request), now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{series.room.name}-{series.code}.ics"'
    return response


# Calendar feeds (secret URL, no sign-in: calendar apps cannot sign in) ------------------------


def feed(request: HttpRequest, token: str) -> HttpResponse:
    tenant = _tenant(request)
    now = timezone.now()
    series = (
        LectureSeries.objects.filter(tenant=tenant, feed_token=token, room__archived=False)
        .select_related("room", "room__tenant")
        .first()
    )
    if series is not None:
        body = feeds.series_feed(series, base_url=_base_url(request), now=now)
    else:
        personal = (
            PersonalFeed.objects.filter(
                tenant=tenant,
                token=token,
                user__is_active=True,
                # Someone who left the institution (or was blocked) loses the feed with the membership.
                user__memberships__tenant=tenant,
                user__memberships__is_blocked=False,
            )
            .select_related("user")
            .first()
        )
        if personal is None:
            raise Http404(_("No such calendar."))
        body = feeds.person_feed(tenant, personal.user, base_url=_base_url(request), now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")
