"""The page where people create, list and revoke their personal API tokens (/<tenant>/settings/tokens/)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tenants.access import member_required
from tenants.api.forms import ApiTokenForm
from tenants.api.services import issue_token, revoke_token, role_scopes
from tenants.models import ApiToken, User
from tenants.requests import MemberRequest


@never_cache  # the answer to a POST shows the secret once: no cache may keep it
@member_required
def tokens_page(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    allowed = role_scopes(request.membership)
    created: str | None = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST, allowed_scopes=allowed)
        if form.is_valid():
            issued = issue_token(
                actor=request.user,
                tenant=tenant,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                lifetime_days=form.cleaned_data["expires_in_days"],
            )
            created = issued.plaintext
            messages.success(
                request,
                _("Token “%(name)s” created. Copy it now: it is shown only this once.")
                % {"name": issued.token.name},
            )
            form = ApiTokenForm(allowed_scopes=allowed)
    else:
        form = ApiTokenForm(allowed_scopes=allowed)
    mine = ApiToken.objects.filter(user=cast(User, request.user), tenant=tenant)
    tokens = mine.order_by("-created_at", "-pk")
    return render(
        request, "tenants/api_tokens.html", {"form": form, "tokens": tokens, "created_token": created}
    )


@require_POST
@member_required
def revoke_token_page(request: MemberRequest, prefix: str) -> HttpResponse:
    tenant = request.tenant
    token = get_object_or_404(ApiToken, user=cast(User, request.user), tenant=tenant, prefix=prefix)
    if token.revoked_at is None:
        revoke_token(actor=request.user, token=token)
        messages.success(request, _("Token “%(name)s” revoked. It no longer works.") % {"name": token.name})
    else:
        messages.info(request, _("Token “%(name)s” was revoked already.") % {"name": token.name})
    return redirect("api_token_settings", tenant=tenant.slug)
