"""POST /api/v1/rooms/<room>/join/: a join token for a signed-in user, as JSON.

The tenant is resolved first (meetings/api/join_tenant.py: the token's, `X-Tenant`, the tenant's own host, the
person's only membership); the room is then looked up by (tenant, name) and the access matrix decides.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meetings import joincache, ratelimit
from meetings.api import quick_join
from meetings.api.join_tenant import JoinTenant
from meetings.joining import JoinTicket, join_room, not_found
from tenants.api.errors import ErrorSerializer, error_response
from tenants.api.parsers import JSONParser  # DRF's, with deep nesting a 400
from tenants.api.permissions import token_scope
from tenants.api.throttling import AddressRateThrottle, TokenRateThrottle
from tenants.models import ApiToken


class JoinRequestSerializer(serializers.Serializer[Any]):
    access_code = serializers.CharField(
        required=False, allow_blank=True, max_length=128, trim_whitespace=True
    )


class JoinResponseSerializer(serializers.Serializer[Any]):
    jwt = serializers.CharField(
        help_text="The token for Jitsi (IFrame API `jwt` option, or `?jwt=` in the URL)"
    )
    jitsi_url = serializers.URLField(help_text="The meeting's URL, without the token")
    room = serializers.CharField(help_text="The room name Jitsi uses (the token's `room` claim)")
    expires_at = serializers.DateTimeField()


def _access_code(data: Any) -> str | None:
    """The optional access code of the request body (the shape JoinRequestSerializer documents)."""
    try:
        return quick_join.access_code(data)
    except ValueError as exc:
        if str(exc) == "access_code":
            raise ValidationError(
                {"access_code": [_("The access code is text of at most 128 characters.")]}
            ) from exc
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]}) from exc


class JoinAddressThrottle(AddressRateThrottle):
    """The per-address limit, reading the room's cache tokens (meetings/joincache.py) in the same Redis
    round trip; or taking the hit the quick path already counted (meetings/api/quick_join.py)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        ahead = getattr(request, "join_prefetched", None)  # DRF passes unknown attributes to the HttpRequest
        if not isinstance(ahead, quick_join.Prefetched) or self.rate is None:
            return super().allow_request(request, view)
        self.retry_after = ahead.retry_after
        self.prefetched(request, ahead.found)
        limit, _duration = self.parse_rate(self.rate)
        return limit is None or ahead.count <= limit

    def also_get(self, request: Request, view: Any) -> tuple[str, ...]:
        name = view.kwargs.get("room")
        tenant_id = getattr(request, "join_tenant_id", None)  # JoinTenant resolved it before the throttles
        return joincache.token_keys(tenant_id, name) if isinstance(name, str) and tenant_id else ()

    def prefetched(self, request: Request, found: dict[str, Any]) -> None:
        request.hot_tokens = found  # type: ignore[attr-defined]  # the portal's attribute on DRF's request, read by JoinAddressThrottle


class JoinRoomView(APIView):
    permission_classes = [IsAuthenticated, token_scope(ApiToken.Scope.JOIN), JoinTenant]
    throttle_classes = [
        JoinAddressThrottle,
        TokenRateThrottle,
    ]  # the API's defaults, one of them reading ahead
    # JSON only: skips content negotiation with the browsable renderer on this hot path.
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        quick = quick_join.answer(request, str(kwargs.get("room", "")), JoinAddressThrottle())
        return quick if quick is not None else super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=JoinRequestSerializer,
        parameters=[
            OpenApiParameter(
                "X-Tenant",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "The room's institution (its short name). Needed with a session that belongs to several "
                    "institutions (or none) outside an institution's own host name; a token's is its own."
                ),
            )
        ],
        responses={
            200: JoinResponseSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`tenant_required`: name the institution (X-Tenant); `tenant_mismatch`: not the token's"
                ),
            ),
            403: OpenApiResponse(ErrorSerializer, description="Not invited, or access code missing/wrong"),
            404: OpenApiResponse(
                ErrorSerializer,
                description="No such room (or not yours to know); `tenant_not_found`: no such institution",
            ),
            409: OpenApiResponse(ErrorSerializer, description="Not open yet (`opens_at`)"),
            429: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Too many requests; or, with code `access_code_attempts`, too many wrong access codes "
                    "for this room (`retry_after` and the Retry-After header: seconds until codes are "
                    "checked again)"
                ),
            ),
        },
        summary="Join a room",
    )
    def post(self, request: Request, room: str) -> Response:
        access_code = _access_code(request.data)  # by hand: a serializer per join costs more than the token
        tenant_id = request.join_tenant_id  # type: ignore[attr-defined]  # set by JoinTenant
        tokens = getattr(request, "hot_tokens", None)  # read by JoinAddressThrottle
        chosen = joincache.room_named(tenant_id, room, request.user, tokens)
        result = (
            not_found()
            if chosen is None
            else join_room(
                room=chosen,
                user=request.user,
                now=timezone.now(),
                access_code=access_code,
                client=ratelimit.client_address(request),  # as the join page counts codes
            )
        )
        if not isinstance(result, JoinTicket):
            extra: dict[str, Any] = {}
            if result.opens_at is not None:
                extra["opens_at"] = result.opens_at.isoformat()
            if result.retry_after is not None:
                extra["retry_after"] = result.retry_after
            response = error_response(
                status=result.status, code=result.reason.value, message=result.message, **extra
            )
            if result.retry_after is not None:
                response["Retry-After"] = str(result.retry_after)
            return response
        return Response(
            {
                "jwt": result.jwt,
                "jitsi_url": result.jitsi_url,
                "room": result.token.room,
                "expires_at": result.expires_at.isoformat(),
            }
        )
