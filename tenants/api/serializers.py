"""Serializers of the person (/me/) and their API tokens. Writable fields are listed one by one."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.validators import TextRulesSerializer
from tenants.api.services import MAX_LIFETIME_DAYS
from tenants.models import ApiToken, Membership, User


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["tenant", "tenant_name", "role"]
        read_only_fields = fields


class AuthInfoSerializer(serializers.Serializer[Any]):
    method = serializers.ChoiceField(choices=["token", "session"], read_only=True)
    tenant = serializers.CharField(read_only=True, allow_null=True, help_text="The token's institution.")
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)


class MeSerializer(serializers.ModelSerializer[User]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    display_name = serializers.CharField(source="get_display_name", read_only=True)
    memberships = serializers.SerializerMethodField()
    auth = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "first_name", "last_name", "email", "memberships", "auth"]
        read_only_fields = fields

    def _token(self) -> ApiToken | None:
        auth = self.context["request"].auth
        return auth if isinstance(auth, ApiToken) else None

    @staticmethod
    def _memberships(user: User, token: ApiToken | None) -> list[Membership]:
        rows = Membership.objects.select_related("tenant").filter(
            user=user, is_blocked=False, tenant__is_active=True
        )
        if token is not None:
            # A token acts in one institution and only reveals that membership.
            rows = rows.filter(tenant_id=token.tenant_id)
        return list(rows.order_by("tenant__slug"))

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user: User) -> list[dict[str, Any]]:
        return MembershipSerializer(self._memberships(user, self._token()), many=True).data  # type: ignore[return-value]  # DRF types .data as its ReturnList

    @extend_schema_field(AuthInfoSerializer)
    def get_auth(self, user: User) -> dict[str, Any]:
        token = self._token()
        if token is None:
            return {"method": "session", "tenant": None, "scopes": []}
        return {"method": "token", "tenant": token.tenant.slug, "scopes": sorted(token.scopes)}


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiToken.Scope.choices), read_only=True
    )
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "prefix",
            "name",
            "tenant",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "is_active",
        ]
        read_only_fields = fields

    def get_is_active(self, token: ApiToken) -> bool:
        return token.revoked_at is None and token.expires_at > timezone.now()


class ApiTokenCreateSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    """Input for a new token. The tenant is the request's; the allowed scopes are the caller's role's
    (passed in the context as `allowed_scopes`)."""

    name = serializers.CharField(max_length=100, trim_whitespace=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiToken.Scope.choices), allow_empty=False, max_length=10
    )
    expires_in_days = serializers.IntegerField(min_value=1, max_value=MAX_LIFETIME_DAYS, default=90)

    def validate_scopes(self, scopes: list[str]) -> list[str]:
        allowed = self.context["allowed_scopes"]
        refused = sorted(set(scopes) - set(allowed))
        if refused:
            raise serializers.ValidationError(
                _("Your role does not allow these scopes: %(scopes)s.") % {"scopes": ", ".join(refused)}
            )
        return sorted(set(scopes))


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret token. Shown only in this answer.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
