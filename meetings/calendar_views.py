"""The academic calendar page of the admin console (/<tenant>/manage/calendar/): semesters and holidays
that lecture series skip. Thin: the form validates, meetings.academic changes state."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from meetings import academic
from meetings.forms import AcademicPeriodForm
from meetings.models import AcademicPeriod
from tenants.access import admin_required
from tenants.models import Tenant, User


@admin_required
def academic_calendar(request: HttpRequest) -> HttpResponse:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor: User = request.user  # type: ignore[assignment]
    adding = request.method == "POST" and request.POST.get("action") != "remove"
    form = AcademicPeriodForm(request.POST if adding else None)
    if request.method == "POST" and request.POST.get("action") == "remove":
        period = AcademicPeriod.objects.filter(tenant=tenant, code=request.POST.get("period", "")).first()
        if period is None:
            raise Http404(_("No such period."))
        academic.remove_academic_period(actor=actor, period=period)
        messages.success(request, _("“%(title)s” removed from the calendar.") % {"title": period.title})
        return redirect("console:academic_calendar", tenant=tenant.slug)
    if request.method == "POST" and form.is_valid():
        try:
            period = academic.add_academic_period(actor=actor, tenant=tenant, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("“%(title)s” added to the calendar.") % {"title": period.title})
            return redirect("console:academic_calendar", tenant=tenant.slug)
    periods = AcademicPeriod.objects.filter(tenant=tenant).order_by("first_day")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "meetings/academic_calendar.html", {"form": form, "periods": periods}, status=status
    )
