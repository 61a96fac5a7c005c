"""API endpoints about the caller: who am I, and my personal API tokens."""

from __future__ import annotations

from typing import Any, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.permissions import SessionOnly, resolve_api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MeSerializer,
)
from tenants.api.services import issue_token, revoke_token, role_scopes
from tenants.models import ApiToken, User
from tenants.requests import ApiRequest


class MeView(generics.GenericAPIView[Any]):
    """The signed-in person and their memberships (with a token: only the token's institution)."""

    permission_classes = [IsAuthenticated]
    serializer_class = MeSerializer

    @extend_schema(operation_id="me_retrieve", summary="Who am I")
    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(request.user).data)


class TokenListView(generics.ListCreateAPIView[ApiToken]):
    """Your personal API tokens (all institutions). Creating one needs a signed-in session, acts in the
    request's institution and answers the secret once."""

    permission_classes = [SessionOnly]
    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> Any:
        return (
            # The person's own tokens in every institution (this endpoint has no tenant).
            ApiToken.objects.cross_tenant()
            .filter(user=cast(User, self.request.user))
            .select_related("tenant")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(summary="List your API tokens")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an API token",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        context = resolve_api_context(request)
        allowed = role_scopes(context.membership)
        incoming = ApiTokenCreateSerializer(data=request.data, context={"allowed_scopes": allowed})
        incoming.is_valid(raise_exception=True)
        issued = issue_token(
            actor=cast(ApiRequest, request).user,  # IsAuthenticated ran; ListCreateAPIView types it wider
            tenant=context.tenant,
            name=incoming.validated_data["name"],
            scopes=incoming.validated_data["scopes"],
            lifetime_days=incoming.validated_data["expires_in_days"],
        )
        body = ApiTokenCreatedSerializer(issued.token).data
        body["token"] = issued.plaintext
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TokenDetailView(generics.GenericAPIView[ApiToken]):
    """One of your tokens, by its prefix; DELETE revokes it (it stays listed as revoked)."""

    permission_classes = [SessionOnly]
    serializer_class = ApiTokenSerializer
    lookup_field = "prefix"

    def get_object(self) -> ApiToken:
        # The person's own tokens in every institution (this endpoint has no tenant).
        mine = (
            ApiToken.objects.cross_tenant()
            .select_related("tenant")
            .filter(user=cast(User, self.request.user))
        )
        token: ApiToken = get_object_or_404(mine, prefix=self.kwargs["prefix"])
        return token

    @extend_schema(summary="Show an API token")
    def get(self, request: Request, prefix: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Revoke an API token", responses={204: None})
    def delete(self, request: ApiRequest, prefix: str) -> Response:
        revoke_token(actor=request.user, token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
