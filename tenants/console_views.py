"""The institution admin console: branding, members, audit log, deployment and keys (tenant admins only)."""

from __future__ import annotations

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meetings.statistics import Usage, tenant_usage
from portal import formats
from portal.crypto import masked
from tenants import audit_log as audit_words
from tenants import keys, services
from tenants.access import admin_required
from tenants.branding import contrast_warnings, render_welcome
from tenants.console_activity import week_activity
from tenants.forms import AuditFilterForm, BrandingForm, MemberRoleForm, MemberSearchForm, PeriodForm
from tenants.models import AuditEntry, Branding, Membership, User
from tenants.requests import MemberRequest

PAGE_SIZE = 50


@admin_required
def overview(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    week = week_activity(tenant)
    recent = audit_words.lines(tenant, AuditEntry.objects.filter(tenant=tenant).select_related("actor")[:5])
    return render(request, "tenants/console/overview.html", {"week": week, "recent": recent})


@admin_required
def branding(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    instance = Branding.objects.filter(tenant=tenant).first() or Branding(tenant=tenant)
    form = BrandingForm(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        actor = request.user
        saved = services.change_branding(actor=actor, tenant=tenant, changes=form.changes())
        messages.success(request, _("The branding is saved."))
        for warning in contrast_warnings(primary=saved.primary_colour, background=saved.background_colour):
            messages.warning(request, warning)
        return redirect("console:branding", tenant=tenant.slug)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "saved_logo": form.saved_images["logo"],
        # The text in the form (the saved one, or what was sent back with an error) as pages render it.
        "welcome_html": render_welcome(str(form["welcome_text"].value() or "")),
    }
    return render(request, "tenants/console/branding.html", context, status=status)


@require_POST
@admin_required
def branding_preview(request: MemberRequest) -> JsonResponse:
    """The welcome text as the tenant's pages will show it: the same Markdown and sanitiser, nothing saved."""
    text = request.POST.get("welcome_text", "")
    limit = Branding._meta.get_field("welcome_text").max_length or 5000
    if len(text) > limit:
        return JsonResponse({"error": _("The welcome text is too long.")}, status=400)
    return JsonResponse({"html": render_welcome(text)})


@admin_required
def members(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    search = MemberSearchForm(request.GET)
    rows = (
        Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .order_by("user__last_name", "user__pk")
    )
    if search.is_valid():
        if q := search.cleaned_data["q"].strip():
            rows = rows.filter(
                Q(user__username__icontains=q)
                | Q(user__email__icontains=q)
                | Q(user__first_name__icontains=q)
                | Q(user__last_name__icontains=q)
                | Q(user__display_name__icontains=q)
            )
        if role := search.cleaned_data["role"]:
            rows = rows.filter(role=role)
        if status := search.cleaned_data["status"]:
            rows = rows.filter(is_blocked=status == "blocked")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tenants/console/members.html",
        {"search": search, "page": page, "roles": Membership.Role.choices, "here": request.get_full_path()},
    )


def _back_to_members(request: MemberRequest) -> HttpResponse:
    """Back to the members page the form was sent from, with its search, filters and page kept."""
    back = request.POST.get("next", "")
    members_path = f"/{request.tenant.slug}/manage/members/"
    if back.startswith(members_path) and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("console:members", tenant=request.tenant.slug)


def _member(request: MemberRequest, public_id: str) -> Membership:
    """A membership of request.tenant by its user's opaque id; 404 for missing and for other tenants'."""
    membership = (
        Membership.objects.select_related("user", "tenant")
        .filter(tenant=request.tenant, user__public_id=public_id)
        .first()
    )
    if membership is None:
        raise Http404(_("There is no such member."))
    return membership


@require_POST
@admin_required
def member_role(request: MemberRequest, public_id: str) -> HttpResponse:
    membership = _member(request, public_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
    else:
        try:
            role = form.cleaned_data["role"]
            services.change_member_role(actor=request.user, membership=membership, role=role)
        except PermissionError:
            messages.error(request, _("You cannot take away your own administrator role."))
        else:
            messages.success(
                request,
                _("%(name)s is now %(role)s.")
                % {"name": membership.user.get_display_name(), "role": membership.get_role_display()},
            )
    return _back_to_members(request)


@require_POST
@admin_required
def member_block(request: MemberRequest, public_id: str) -> HttpResponse:
    membership = _member(request, public_id)
    blocked = request.POST.get("blocked") == "1"
    try:
        services.set_member_blocked(actor=request.user, membership=membership, blocked=blocked)
    except PermissionError:
        messages.error(request, _("You cannot block yourself."))
    else:
        name = membership.user.get_display_name()
        messages.success(
            request,
            (_("%(name)s is blocked.") if blocked else _("%(name)s is no longer blocked.")) % {"name": name},
        )
    return _back_to_members(request)


@admin_required
def rooms(request: MemberRequest) -> HttpResponse:
    """Every room of the tenant, read-only: what its admins used to look up in the Django admin."""
    from meetings.models import Room

    search = MemberSearchForm(request.GET)
    rows = (
        Room.objects.filter(tenant=request.tenant)
        .select_related("owner")
        .annotate(series_count=Count("series"))
        .order_by("archived", "title", "name")
    )
    if search.is_valid() and (q := search.cleaned_data["q"].strip()):
        rows = rows.filter(Q(title__icontains=q) | Q(name__icontains=q) | Q(owner__email__icontains=q))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenants/console/rooms.html", {"search": search, "page": page})


@admin_required
def statistics(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    today = timezone.localtime(timezone.now(), ZoneInfo(tenant.time_zone)).date()
    form = PeriodForm(request.GET or {"first": today - timedelta(days=29), "last": today})
    if not form.is_valid():
        return render(request, "tenants/console/statistics.html", {"form": form}, status=400)
    usage = tenant_usage(tenant, first=form.cleaned_data["first"], last=form.cleaned_data["last"])
    if request.GET.get("format") == "csv":
        return _usage_csv(tenant.slug, usage)
    return render(
        request,
        "tenants/console/statistics.html",
        {"form": form, "usage": usage, "chart_data": chart_data(usage)},
    )


def chart_data(usage: Usage) -> dict[str, object]:
    """What static/js/console-charts.js draws: the days (ISO and as shown) and one series per figure,
    the same numbers as the CSV download (tests/tenants/test_console_pages.py compares the two)."""
    return {
        "days": [d.day.isoformat() for d in usage.days],
        "titles": [formats.day(d.day) for d in usage.days],
        "series": {
            "meetings": [d.meetings for d in usage.days],
            "participant_minutes": [d.participant_minutes for d in usage.days],
            "peak_concurrent": [d.peak_concurrent for d in usage.days],
        },
    }


def _usage_csv(slug: str, usage: Usage) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-usage-{usage.first}-{usage.last}.csv"'
    writer = csv.writer(response)
    writer.writerow(["day", "meetings", "participant_minutes", "peak_concurrent"])
    for day in usage.days:
        writer.writerow([day.day.isoformat(), day.meetings, day.participant_minutes, day.peak_concurrent])
    return response


@admin_required
def audit_log(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    acting = User.objects.filter(pk__in=AuditEntry.objects.filter(tenant=tenant).values("actor"))
    actors = sorted(((str(u.public_id), u.get_display_name()) for u in acting), key=lambda a: a[1].lower())
    actors.append((audit_words.ANONYMOUS_ACTOR, _("Anonymous visitors and auditorium itself")))
    actions = [(code, str(label)) for code, label in audit_words.ACTIONS.items()]
    form = AuditFilterForm(request.GET, actors=actors, actions=actions)
    if not form.is_valid():
        context: dict[str, object] = {"form": form, "page": None, "lines": []}
        return render(request, "tenants/console/audit.html", context, status=400)
    data = form.cleaned_data
    entries = audit_words.filtered(
        tenant,
        actor=data["actor"],
        action=data["action"],
        first=data["first"],
        last=data["last"],
        q=data["q"],
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    lines = audit_words.lines(tenant, page.object_list)
    return render(request, "tenants/console/audit.html", {"form": form, "page": page, "lines": lines})


@admin_required
def deployment(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    dep = tenant.deployment
    new_secret = new_recording_secret = ""
    if request.method == "POST":
        action = request.POST.get("rotate")
        if action == "event_secret":
            # Shown in this response only: never stored in the session or a message.
            new_secret = services.rotate_event_secret(actor=request.user, tenant=tenant)
            dep.refresh_from_db()
        elif action == "recording_secret":
            new_recording_secret = services.rotate_recording_secret(actor=request.user, tenant=tenant)
            dep.refresh_from_db()
        elif action == "signing_key":
            key = keys.rotate_signing_key(tenant=tenant, actor=request.user)
            until = formats.moment(timezone.now() + keys.grace_period(), tenant.time_zone)
            messages.success(
                request,
                _("A new signing key (%(kid)s) signs tokens now; the previous one is served until %(until)s.")
                % {"kid": key.kid, "until": until},
            )
            return redirect("console:deployment", tenant=tenant.slug)
        else:
            messages.error(request, _("Choose what to rotate."))
    api_prefix = f"{settings.PUBLIC_URL}/jitsi/{dep.slug}"
    context = {
        "dep": dep,
        "app_secret_masked": masked(dep.app_secret),
        "event_secret_masked": masked(dep.event_secret),
        "new_secret": new_secret,
        "new_recording_secret": new_recording_secret,
        "recording_secret_masked": masked(dep.recording_secret),
        "api_prefix": api_prefix,
        "asap_key_server": f"{api_prefix}/asap",
        "signing_keys": keys.served_keys(tenant),
    }
    return render(request, "tenants/console/deployment.html", context)
