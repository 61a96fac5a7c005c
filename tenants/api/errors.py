"""One JSON shape for every API error: {"error": {"code", "message", "fields"}}.

`code` is stable and machine-readable, `message` is a sentence for a person (translated), `fields` maps a
field name to its messages (empty unless the input had field errors)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import BaseForm
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from portal.errors import (
    RETRY_AFTER_SECONDS,
    SERVER_ERROR_CODE,
    database_unavailable,
    server_error_message,
    unavailable_body,
)

logger = logging.getLogger(__name__)


class ApiBadRequest(exceptions.APIException):
    """A 400 about the request as a whole (not a serializer's fields), optionally naming fields."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, code)
        self.fields = fields or {}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def from_django(
    error: DjangoValidationError, *, field: str | None = None, rename: Mapping[str, str] | None = None
) -> exceptions.ValidationError:
    """A service's ValidationError as the API's 400: messages of a model field under the API's name for it
    (`rename`), messages without a field under `field` when the caller knows which input they are about."""
    detail: dict[str, list[str]] = {}
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            key = (rename or {}).get(name, name)
            if key == NON_FIELD_ERRORS:
                key = field or "non_field_errors"
            detail.setdefault(key, []).extend(m for e in errors for m in e.messages)
    else:
        detail[field or "non_field_errors"] = list(error.messages)
    return exceptions.ValidationError(detail)


@contextmanager
def service_errors(*, field: str | None = None, rename: Mapping[str, str] | None = None) -> Iterator[None]:
    """Around a service call: its ValidationError (the service's transaction is rolled back by then)
    answers 400 with the same messages the pages show."""
    try:
        yield
    except DjangoValidationError as error:
        raise from_django(error, field=field, rename=rename) from error


def form_errors(form: BaseForm, rename: Mapping[str, str] | None = None) -> exceptions.ValidationError:
    """A page's form ran on API input (so the rules and messages are the pages'): its errors as a 400."""
    detail: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        key = "non_field_errors" if name == NON_FIELD_ERRORS else (rename or {}).get(name, name)
        detail.setdefault(key, []).extend(str(m) for m in messages)
    return exceptions.ValidationError(detail)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details -> {"field": [...], "nested.field": [...], "items.0": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub_key, messages in _flatten(value, name).items():
                out.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(
    *, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any
) -> Response:
    """An error answered by a view itself (not raised), in the same shape; `extra` keys (such as
    `opens_at`) go next to code and message."""
    body = error_body(code, message, fields)
    body["error"].update(extra)
    return Response(body, status=status)


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable, machine-readable reason.")
    message = serializers.CharField(help_text="A sentence for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field (empty unless fields were wrong).",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """For `extend_schema(responses={409: ErrorSerializer})` where a view documents an extra status."""

    error = ErrorDetailSerializer()


def _describe(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]]]:
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        general = fields.pop("non_field_errors", [])
        if general and not fields:
            return "invalid", " ".join(general), {}
        message = " ".join(general) if general else _("Some fields are not valid; see “fields”.")
        return "invalid", message, fields
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
        wait: float | None = getattr(exc, "wait", None)
        if wait is not None:
            seconds = max(1, int(wait))  # as in the Retry-After header DRF sets
            message = ngettext(
                "Too many requests. Try again in %(seconds)d second.",
                "Too many requests. Try again in %(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
        else:
            message = _("Too many requests. Try again later.")
    elif isinstance(exc, exceptions.NotAuthenticated):
        message = _(
            "Sign in, or send a personal API token as “Authorization: Bearer <token>” "
            "(create one under your institution's settings: API tokens)."
        )
    elif isinstance(exc, exceptions.NotFound) and message == str(exceptions.NotFound.default_detail):
        message = _("Not found, or not yours to see.")
    return str(code), message, dict(getattr(exc, "fields", {}) or {})


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK['EXCEPTION_HANDLER']: DRF's handler (status, headers such as Retry-After and
    WWW-Authenticate, transaction rollback), then our body."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return unexpected_error(exc, context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif not isinstance(exc, exceptions.APIException):
        exc = exceptions.PermissionDenied()  # Django's PermissionDenied
    code, message, fields = _describe(exc)
    response.data = error_body(code, message, fields)
    return response


def unexpected_error(exc: Exception, context: dict[str, Any]) -> Response:
    """Not an API error but a failure: still the API's shape, status 500 (503 with Retry-After when
    PostgreSQL cannot be reached), a message that says nothing about what failed; the traceback goes to the
    server log (the method and path name the request, nothing else: no body, no user)."""
    request = context.get("request")
    set_rollback()  # as DRF does for the errors it handles: the request's atomic block is not committed
    if database_unavailable(exc):
        # PostgreSQL is away (stopped, restarting): try again shortly; portal.database logs the outage.
        logger.warning(
            "Database unavailable answering %s %s: %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc,
        )
        return Response(unavailable_body(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    logger.error(
        "Unexpected error answering %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return Response(error_body(SERVER_ERROR_CODE, server_error_message()), status=500)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def unknown_endpoint(request: Request, rest: str = "") -> Response:
    """Any /api/v1/ path no endpoint claims: a JSON 404 instead of the HTML page."""
    raise exceptions.NotFound(_("There is no API endpoint at this address."), code="no_endpoint")
