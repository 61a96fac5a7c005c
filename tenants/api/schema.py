"""OpenAPI additions: the shared error shape on every operation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable reason."},
                "message": {"type": "string", "description": "A sentence for a person."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages per input field (empty unless fields were wrong).",
                },
            },
        }
    },
}

ERROR_RESPONSES = {
    "400": "The request is malformed or names another institution than the token's.",
    "401": "No credentials, or the token is unknown, revoked or expired.",
    "403": "The token lacks the scope, or the role does not allow this.",
    "404": "Not found, or not visible to the caller (other institutions' objects answer the same).",
    "429": "Too many requests; see the Retry-After header.",
}
BODY_ERROR_RESPONSES = {"415": "The body is not JSON (or form data)."}

TENANT_PARAMETER = OpenApiParameter(
    name="X-Tenant",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "Institution slug, for signed-in sessions of people with several memberships. A token always acts "
        "in its own institution; naming another one answers 400."
    ),
)


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: every operation documents the error shape for the failures it can have."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)  # the same shape when a view used errors.ErrorSerializer
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            extra = dict(ERROR_RESPONSES)
            if "requestBody" in operation:
                extra.update(BODY_ERROR_RESPONSES)
            for code, description in extra.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
