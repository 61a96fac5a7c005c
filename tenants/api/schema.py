"""OpenAPI additions: the shared error shape on every operation, and links from the operations that create
(or list) objects to the operations on them (clients and schemathesis' stateful tests follow them)."""

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
    document_links(result)
    document_ranges(result)
    return result


# What the series rules accept (meetings/forms.py SeriesForm, whose messages the API answers), so that the
# schema says it and clients (and schemathesis) need not learn it from 400s.
SERIES_RANGES = {
    "duration_minutes": {"minimum": 5, "maximum": 600},
    "interval_weeks": {"minimum": 1, "maximum": 52},
    "count": {"minimum": 1, "maximum": 200},
    "join_opens_minutes": {"minimum": 0, "maximum": 240},
    "grace_minutes": {"minimum": 0, "maximum": 240},
}


def document_ranges(result: dict[str, Any]) -> None:
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("SeriesInputRequest", "PatchedSeriesInputRequest"):
        properties = schemas.get(name, {}).get("properties", {})
        for field, limits in SERIES_RANGES.items():
            if field in properties:
                properties[field].update(limits)
        if "weekdays" in properties:
            properties["weekdays"].setdefault("items", {}).update({"minimum": 0, "maximum": 6})


def _room(pointer: str) -> dict[str, str]:
    return {"room": f"$response.body#{pointer}"}


# operationId -> (success status, {link name: (target operationId, parameters)}).
LINKS: dict[str, tuple[str, dict[str, tuple[str, dict[str, str]]]]] = {
    "rooms_create": (
        "201",
        {
            "GetRoom": ("rooms_retrieve", _room("/name")),
            "ReplaceRoom": ("rooms_update", _room("/name")),
            "ChangeRoom": ("rooms_partial_update", _room("/name")),
            "ArchiveRoom": ("rooms_archive_create", _room("/name")),
            "ListCoHosts": ("rooms_co_hosts_list", _room("/name")),
            "AddCoHost": ("rooms_co_hosts_create", _room("/name")),
            "CountRoom": ("rooms_count_retrieve", _room("/name")),
            "JoinRoom": ("rooms_join_create", _room("/name")),
            "ListSeries": ("rooms_series_list", _room("/name")),
            "ScheduleSeries": ("rooms_series_create", _room("/name")),
        },
    ),
    "rooms_list": (
        "200",
        {
            "GetRoom": ("rooms_retrieve", _room("/results/0/name")),
            "ChangeRoom": ("rooms_partial_update", _room("/results/0/name")),
            "ListSeries": ("rooms_series_list", _room("/results/0/name")),
            "ScheduleSeries": ("rooms_series_create", _room("/results/0/name")),
        },
    ),
    "rooms_co_hosts_create": (
        "200",
        {
            "RemoveCoHost": (
                "rooms_co_hosts_destroy",
                {"room": "$request.path.room", "user": "$response.body#/0/id"},
            )
        },
    ),
    "rooms_series_create": (
        "201",
        {
            "GetSeries": ("series_retrieve", {"code": "$response.body#/code"}),
            "ChangeSeries": ("series_partial_update", {"code": "$response.body#/code"}),
            "DeleteSeries": ("series_destroy", {"code": "$response.body#/code"}),
            "ListLectures": ("series_occurrences_list", {"code": "$response.body#/code"}),
        },
    ),
    "rooms_series_list": (
        "200",
        {
            "GetSeries": ("series_retrieve", {"code": "$response.body#/results/0/code"}),
            "ListLectures": ("series_occurrences_list", {"code": "$response.body#/results/0/code"}),
        },
    ),
    "series_occurrences_list": (
        "200",
        {
            name: (target, {"code": "$request.path.code", "key": "$response.body#/0/key"})
            for name, target in (
                ("CancelLecture", "series_occurrences_cancel_create"),
                ("MoveLecture", "series_occurrences_move_create"),
                ("RestoreLecture", "series_occurrences_restore_create"),
            )
        },
    ),
    "series_occurrences_cancel_create": (
        "200",
        {
            "RestoreLecture": (
                "series_occurrences_restore_create",
                {"code": "$request.path.code", "key": "$response.body#/key"},
            )
        },
    ),
    "tokens_list": ("200", {"GetToken": ("tokens_retrieve", {"prefix": "$response.body#/results/0/prefix"})}),
    "tokens_create": (
        "201",
        {
            "GetToken": ("tokens_retrieve", {"prefix": "$response.body#/prefix"}),
            "RevokeToken": ("tokens_destroy", {"prefix": "$response.body#/prefix"}),
        },
    ),
}


def document_links(result: dict[str, Any]) -> None:
    """OpenAPI links: the name, code, key or prefix an answer carries, to the operations that take it."""
    operations = {
        operation.get("operationId"): operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict)
    }
    for source, (status, links) in LINKS.items():
        operation = operations.get(source)
        if operation is None or status not in operation.get("responses", {}):
            continue
        documented = operation["responses"][status].setdefault("links", {})
        for name, (target, parameters) in links.items():
            if target in operations:
                documented.setdefault(name, {"operationId": target, "parameters": parameters})
