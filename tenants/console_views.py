"""The institution admin console: branding, members, audit log, deployment and keys (tenant admins only)."""

from __future__ import annotations

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from meetings.charts import bar_chart
from meetings.statistics import Usage, tenant_usage
from portal import formats
from portal.crypto import masked
from tenants import keys, services
from tenants.access import admin_required
from tenants.branding import contrast_warnings
from tenants.forms import BrandingForm, MemberRoleForm, MemberSearchForm, PeriodForm
from tenants.models import AuditEntry, Branding, Membership

PAGE_SIZE = 50


@admin_required
def overview(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    counts = {
        role: Membership.objects.filter(tenant=tenant, role=role, is_blocked=False).count()
        for role in Membership.Role.values
    }
    return render(request, "tenants/console/overview.html", {"counts": counts})


@admin_required
def branding(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    instance = Branding.objects.filter(tenant=tenant).first() or Branding(tenant=tenant)
    form = BrandingForm(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        actor = request.user
        saved = services.change_branding(actor=actor, tenant=tenant, changes=form.changes())  # type: ignore[arg-type]
        messages.success(request, _("The branding is saved."))
        for warning in contrast_warnings(primary=saved.primary_colour, background=saved.background_colour):
            messages.warning(request, warning)
        return redirect("console:branding", tenant=tenant.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "tenants/console/branding.html", {"form": form}, status=status)


@admin_required
def members(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
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
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tenants/console/members.html",
        {"search": search, "page": page, "roles": Membership.Role.choices},
    )


def _member(request: HttpRequest, public_id: str) -> Membership:
    """A membership of request.tenant by its user's opaque id; 404 for missing and for other tenants'."""
    membership = (
        Membership.objects.select_related("user", "tenant")
        .filter(tenant=request.tenant, user__public_id=public_id)  # type: ignore[attr-defined]
        .first()
    )
    if membership is None:
        raise Http404(_("There is no such member."))
    return membership


@require_POST
@admin_required
def member_role(request: HttpRequest, public_id: str) -> HttpResponse:
    membership = _member(request, public_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
    else:
        try:
            role = form.cleaned_data["role"]
            services.change_member_role(actor=request.user, membership=membership, role=role)  # type: ignore[arg-type]
        except PermissionError:
            messages.error(request, _("You cannot take away your own administrator role."))
        else:
            messages.success(
                request,
                _("%(name)s is now %(role)s.")
                % {"name": membership.user.get_display_name(), "role": membership.get_role_display()},
            )
    return redirect("console:members", tenant=request.tenant.slug)  # type: ignore[attr-defined]


@require_POST
@admin_required
def member_block(request: HttpRequest, public_id: str) -> HttpResponse:
    membership = _member(request, public_id)
    blocked = request.POST.get("blocked") == "1"
    try:
        services.set_member_blocked(actor=request.user, membership=membership, blocked=blocked)  # type: ignore[arg-type]
    except PermissionError:
        messages.error(request, _("You cannot block yourself."))
    else:
        name = membership.user.get_display_name()
        messages.success(
            request,
            (_("%(name)s is blocked.") if blocked else _("%(name)s is no longer blocked.")) % {"name": name},
        )
    return redirect("console:members", tenant=request.tenant.slug)  # type: ignore[attr-defined]


@admin_required
def rooms(request: HttpRequest) -> HttpResponse:
    """Every room of the tenant, read-only: what its admins used to look up in the Django admin."""
    from meetings.models import Room

    search = MemberSearchForm(request.GET)
    rows = (
        Room.objects.filter(tenant=request.tenant)  # type: ignore[attr-defined]
        .select_related("owner")
        .annotate(series_count=Count("series"))
        .order_by("archived", "title", "name")
    )
    if search.is_valid() and (q := search.cleaned_data["q"].strip()):
        rows = rows.filter(Q(title__icontains=q) | Q(name__icontains=q) | Q(owner__email__icontains=q))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenants/console/rooms.html", {"search": search, "page": page})


@admin_required
def statistics(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    today = timezone.localtime(timezone.now(), ZoneInfo(tenant.time_zone)).date()
    form = PeriodForm(request.GET or {"first": today - timedelta(days=29), "last": today})
    if not form.is_valid():
        return render(request, "tenants/console/statistics.html", {"form": form}, status=400)
    usage = tenant_usage(tenant, first=form.cleaned_data["first"], last=form.cleaned_data["last"])
    if request.GET.get("format") == "csv":
        return _usage_csv(tenant.slug, usage)
    charts = {
        "meetings": bar_chart(
            [(d.day.isoformat(), d.meetings) for d in usage.days], title=_("Meetings per day")
        ),
        "minutes": bar_chart(
            [(d.day.isoformat(), d.participant_minutes) for d in usage.days],
            title=_("Participant-minutes per day"),
            unit=pgettext("unit", "min"),
        ),
        "peak": bar_chart(
            [(d.day.isoformat(), d.peak_concurrent) for d in usage.days],
            title=_("Peak concurrent participants"),
        ),
    }
    return render(
        request, "tenants/console/statistics.html", {"form": form, "usage": usage, "charts": charts}
    )


def _usage_csv(slug: str, usage: Usage) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-usage-{usage.first}-{usage.last}.csv"'
    writer = csv.writer(response)
    writer.writerow(["day", "meetings", "participant_minutes", "peak_concurrent"])
    for day in usage.days:
        writer.writerow([day.day.isoformat(), day.meetings, day.participant_minutes, day.peak_concurrent])
    return response


@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.filter(tenant=request.tenant).select_related("actor")  # type: ignore[attr-defined]
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenants/console/audit.html", {"page": page})


@admin_required
def deployment(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    dep = tenant.deployment
    new_secret = new_recording_secret = ""
    if request.method == "POST":
        action = request.POST.get("rotate")
        if action == "event_secret":
            # Shown in this response only: never stored in the session or a message.
            new_secret = services.rotate_event_secret(actor=request.user, tenant=tenant)  # type: ignore[arg-type]
            dep.refresh_from_db()
        elif action == "recording_secret":
            new_recording_secret = services.rotate_recording_secret(actor=request.user, tenant=tenant)  # type: ignore[arg-type]
            dep.refresh_from_db()
        elif action == "signing_key":
            key = keys.rotate_signing_key(tenant=tenant, actor=request.user)  # type: ignore[arg-type]
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
