"""`Authorization: Bearer <personal API token>` for the REST API."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from portal import formats
from tenants.api.services import record_token_use, secret_matches, split_token
from tenants.api.throttling import FailedTokenThrottle
from tenants.models import ApiToken, User


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates a personal API token. `request.auth` becomes the ApiToken (its tenant is the
    request's tenant, see permissions.resolve_api_context)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as “Authorization: Bearer <token>”, with nothing else in the header."),
                code="token_malformed",
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        guard = FailedTokenThrottle()
        wait = guard.blocked_for(request)
        if wait is not None:
            raise exceptions.Throttled(wait)
        try:
            return self.authenticate_token(raw)
        except exceptions.AuthenticationFailed:
            guard.record_failure(request)
            raise

    def authenticate_token(self, raw: str) -> tuple[User, ApiToken]:
        parts = split_token(raw)
        unknown = exceptions.AuthenticationFailed(
            _("This API token is not valid. Check that you copied all of it, or create a new one."),
            code="token_invalid",
        )
        if parts is None:
            raise unknown
        prefix, secret = parts
        # Across tenants: the token names its tenant, which is not known before it is found.
        token = ApiToken.objects.cross_tenant().select_related("user", "tenant").filter(prefix=prefix).first()
        if token is None or not secret_matches(token, secret):
            raise unknown
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("This API token was revoked on %(date)s. Create a new one in your settings.")
                % {"date": formats.moment(token.revoked_at, token.tenant.time_zone)},
                code="token_revoked",
            )
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("This API token expired on %(date)s. Create a new one in your settings.")
                % {"date": formats.moment(token.expires_at, token.tenant.time_zone)},
                code="token_expired",
            )
        if not token.user.is_active or not token.tenant.is_active:
            raise exceptions.AuthenticationFailed(
                _("The account or institution of this API token is no longer active."), code="token_inactive"
            )
        record_token_use(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to anonymous requests, with a hint how to authenticate.
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in the OpenAPI schema."""

    target_class = "tenants.api.authentication.BearerTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (aud_…), created at /<institution>/settings/tokens/.",
        }
