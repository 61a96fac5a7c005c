"""The request institution's branding: any member reads it, administrators change it (scope `admin`).

Changes run through the admin console's form (the same rules and messages) and tenants.services.
change_branding (the same audit row and cache invalidation). Images are uploaded in the console only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal.validators import MULTILINE_STYLE, TextRulesSerializer
from tenants import services
from tenants.api.errors import form_errors, service_errors
from tenants.api.permissions import TenantScoped, api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.branding import absolute, contrast_warnings, render_welcome
from tenants.forms import BrandingForm
from tenants.models import WELCOME_TEXT_MAX_LENGTH, ApiToken, Branding, Tenant
from tenants.requests import ApiRequest

CHANGEABLE = ("primary_colour", "background_colour", "welcome_text", "support_url", "default_language")


class BrandingSerializer(serializers.ModelSerializer[Branding]):
    # A string, not a URL in the schema: empty when the institution has no support page.
    support_url = serializers.CharField(read_only=True, help_text="An https:// address, or empty.")
    welcome_html = serializers.SerializerMethodField(help_text="The welcome text as sanitised HTML.")
    logo_url = serializers.SerializerMethodField(help_text="Absolute URL, or null without a logo.")
    background_image_url = serializers.SerializerMethodField(
        help_text="Absolute URL, or null without a background image."
    )

    class Meta:
        model = Branding
        fields = [
            "primary_colour",
            "background_colour",
            "welcome_text",
            "welcome_html",
            "support_url",
            "default_language",
            "logo_url",
            "background_image_url",
            "version",
        ]
        read_only_fields = fields

    def get_welcome_html(self, branding: Branding) -> str:
        return render_welcome(branding.welcome_text)

    def get_logo_url(self, branding: Branding) -> str | None:
        return absolute(branding.logo.url) if branding.logo else None

    def get_background_image_url(self, branding: Branding) -> str | None:
        return absolute(branding.background_image.url) if branding.background_image else None


class BrandingChangedSerializer(BrandingSerializer):
    warnings = serializers.SerializerMethodField(
        help_text="Contrast warnings (WCAG AA) about the saved colours; the change was saved anyway."
    )

    class Meta(BrandingSerializer.Meta):
        fields = [*BrandingSerializer.Meta.fields, "warnings"]
        read_only_fields = fields

    def get_warnings(self, branding: Branding) -> list[str]:
        return contrast_warnings(primary=branding.primary_colour, background=branding.background_colour)


class BrandingInputSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    """Types and lengths; the console's form checks the values (colours, https support page, language)."""

    primary_colour = serializers.CharField(required=False, max_length=7, help_text="#rrggbb")
    background_colour = serializers.CharField(required=False, max_length=7, help_text="#rrggbb")
    welcome_text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=WELCOME_TEXT_MAX_LENGTH,
        style=MULTILINE_STYLE,
        help_text="Markdown: emphasis, links and lists.",
    )
    support_url = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="An https:// address, or empty."
    )
    default_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)


def _branding(tenant: Tenant) -> Branding:
    # An institution that never saved its branding shows the defaults (nothing is written by reading).
    return Branding.objects.filter(tenant=tenant).first() or Branding(tenant=tenant)


class BrandingView(generics.GenericAPIView[Branding]):
    permission_classes = [TenantScoped]
    required_scopes = {"PATCH": ApiToken.Scope.ADMIN}
    serializer_class = BrandingSerializer

    @extend_schema(summary="Your institution's branding (any member)", parameters=[TENANT_PARAMETER])
    def get(self, request: Request) -> Response:
        return Response(BrandingSerializer(_branding(api_context(request).tenant)).data)

    @extend_schema(
        summary="Change your institution's branding (administrators)",
        description=(
            "Colours, welcome text, support page and default language. Logo and background image are "
            "uploaded in the admin console, not through the API. Colours with poor contrast are saved; "
            "`warnings` says why they may be hard to read."
        ),
        request=BrandingInputSerializer,
        responses={200: BrandingChangedSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def patch(self, request: ApiRequest) -> Response:
        context = api_context(request)
        incoming = BrandingInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        current = _branding(context.tenant)
        values = {field: getattr(current, field) for field in CHANGEABLE}
        form = BrandingForm(data={**values, **incoming.validated_data}, instance=current)
        if not form.is_valid():
            raise form_errors(form)
        changes = {field: value for field, value in form.changes().items() if field in CHANGEABLE}
        with service_errors():
            saved = services.change_branding(actor=request.user, tenant=context.tenant, changes=changes)
        return Response(BrandingChangedSerializer(saved).data)
