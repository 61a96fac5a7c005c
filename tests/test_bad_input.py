"""Hostile input answers a 4xx with a message, never a 500 (issue 10, "500s"): path values outside an
identifier's alphabet, control characters in every text input, line breaks in titles, stored text that
feeds must still render, OPTIONS on the API, deeply nested JSON, lecture keys far off, and length limits.

The lean /jitsi/ handler and reserved tenant slugs are tested in tests/test_machine_handler.py; Prosody's
event bodies in tests/meetings/test_events_hostile.py."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import UUIDConverter
from icalendar import Calendar
from rest_framework import serializers

from meetings import services as meeting_services
from meetings.models import LectureSeries, OccurrenceChange, Room
from tenants.api.services import issue_token
from tenants.models import ApiToken, Branding, Tenant
from tests.api_support import assert_error, session_client
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db

# Characters the one text rule refuses everywhere: NUL, C0 controls, DEL, C1 (NEL), and (JSON only: a form
# post cannot carry it) a lone surrogate.
CONTROL_CHARACTERS = ["\x00", "\x01", "\x1b", "\x7f", "\x85"]
# The messages (portal/validators.py), spelled out so that this file also runs against older code.
CONTROL_MESSAGE = "This field contains characters that are not allowed."
SINGLE_LINE_MESSAGE = "This field must be a single line."
DESCRIPTION_MAX_LENGTH = 5000


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant, title="Introduction to Law")


@pytest.fixture
def series(room):
    return make_series(room, first_date=date.today() + timedelta(days=3), count=3)


# Path values: each identifier's alphabet (portal/converters.py) ---------------------------------------


def _routes(patterns: list[Any], prefix: str = "", converters: dict[str, Any] | None = None):
    """(route, converters of the route and its includes, callback module) of every URL pattern."""
    for entry in patterns:
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern), found)
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern), found, getattr(entry.callback, "__module__", "")


def _patterns(patterns: list[Any]):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns)
        else:
            yield entry


def _own_routes():
    return [r for r in _routes(get_resolver().url_patterns) if r[2].startswith(("meetings.", "tenants."))]


def test_every_route_parameter_of_ours_accepts_only_its_alphabet():
    from portal.converters import CONVERTERS

    allowed = (*CONVERTERS.values(), UUIDConverter)
    routes = _own_routes()
    assert len(routes) > 50
    for route, converters, _module in routes:
        for name, converter in converters.items():
            assert isinstance(converter, allowed), f"{route}: <{name}> takes {type(converter).__name__}"


def test_converters_refuse_what_is_outside_the_alphabet():
    from portal.converters import CONVERTERS

    for name, converter in CONVERTERS.items():
        pattern = re.compile(f"(?:{converter.regex})")
        for hostile in ("\x00", "a\x00", "a/b", "x" * 10_000, "\u202e", "\U0001f600", "\ud800"):
            assert not pattern.fullmatch(hostile), (name, hostile[:20])


# (client kind, URL template): {v} takes the hostile value. The pages' and the API's own identifiers.
HOSTILE_PATHS = [
    ("anonymous", "/uzh/feeds/{v}.ics"),
    ("anonymous", "/new/{v}/"),
    ("anonymous", "/jitsi/{v}/branding.json"),
    ("anonymous", "/jitsi/uzh/asap/{v}.pem"),
    ("host", "/uzh/rooms/{v}/"),
    ("host", "/uzh/rooms/{room}/series/{v}/"),
    ("host", "/uzh/rooms/{room}/series/{code}/lectures/{v}/cancel/"),
    ("host", "/uzh/lectures/{v}.ics"),
    ("host", "/uzh/r/{v}/"),
    ("api", "/api/v1/rooms/{v}/"),
    ("api", "/api/v1/rooms/{v}/join/"),
    ("api", "/api/v1/series/{v}/"),
    ("api", "/api/v1/tokens/{v}/"),
    ("api", "/api/v1/series/{code}/occurrences/{v}/cancel/"),
]
HOSTILE_VALUES = ["%00", "a%00b", "%01", "%C2%85", "%E2%80%AE", "x" * 10_000]


@pytest.mark.parametrize(("kind", "template"), HOSTILE_PATHS)
def test_hostile_path_values_answer_404(kind, template, client, host, series):
    if kind == "host":
        client.force_login(host)
    caller = session_client(host) if kind == "api" else client
    for value in HOSTILE_VALUES:
        path = template.format(v=value, room=series.room.name, code=series.code)
        response = caller.post(path) if path.endswith("/cancel/") else caller.get(path)
        assert response.status_code == 404, (path[:80], response.status_code)


def test_tenant_parameter_with_control_characters_is_a_400(host, tenant):
    api = session_client(host)
    for value in ("%00", "uzh%01", "%C2%85"):
        error = assert_error(api.get(f"/api/v1/rooms/?tenant={value}"), 400, "invalid")
        assert error["fields"] == {"tenant": [CONTROL_MESSAGE]}
    error = assert_error(api.get("/api/v1/rooms/", HTTP_X_TENANT="uzh\x00"), 400, "invalid")
    assert error["message"] == CONTROL_MESSAGE
    assert api.get("/api/v1/rooms/?tenant=uzh").status_code == 200


# One text rule in every form and serializer (portal/validators.py) -------------------------------------


def test_the_rule():
    from portal.validators import TextRule, sanitise

    for bad in [*CONTROL_CHARACTERS, "\ud800", "\x9f"]:
        for multiline in (False, True):
            with pytest.raises(ValidationError) as caught:
                TextRule(multiline=multiline)(f"ok{bad}ok")
            assert caught.value.messages == [CONTROL_MESSAGE]
    for brk in ("\n", "\r\n", "\t", "\u2028"):
        with pytest.raises(ValidationError, match="single line"):
            TextRule()(f"Law{brk}I")
    TextRule(multiline=True)("Line 1\r\n\tLine 2\nLine 3")
    TextRule()("Grüezi, 你好, مرحبا \u202e 😀")  # letters of every script, formatting marks and emoji pass
    assert sanitise("Law\r\nI\x01\x85\ud800") == "Law I"
    assert sanitise("a\r\nb\x00", multiline=True) == "a\nb"


def _page_forms() -> list[type[forms.BaseForm]]:
    import meetings.forms
    import tenants.api.forms
    import tenants.forms

    modules = (meetings.forms, tenants.forms, tenants.api.forms)
    found = [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, forms.BaseForm)
        and value.__module__ == module.__name__
    ]
    assert len(found) >= 10
    return found


def test_every_form_takes_the_text_rule_and_limits_its_text():
    from portal.validators import TextRulesForm

    for form_class in _page_forms():
        assert issubclass(form_class, TextRulesForm), form_class
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.CharField):
                assert field.max_length is not None, f"{form_class.__name__}.{name} has no max_length"


def _input_serializers() -> list[type[serializers.BaseSerializer[Any]]]:
    import meetings.api.serializers
    import tenants.api.branding
    import tenants.api.serializers

    modules = (meetings.api.serializers, tenants.api.serializers, tenants.api.branding)
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, serializers.Serializer)
        and value.__module__ == module.__name__
    ]


def _writable_text(fields: dict[str, Any]):
    for name, field in fields.items():
        if getattr(field, "read_only", False):
            continue
        child = getattr(field, "child", None)
        if isinstance(field, serializers.CharField):
            yield name, field
        elif isinstance(child, serializers.CharField) and not child.read_only:
            yield f"{name}[]", child


def test_every_input_serializer_takes_the_text_rule_and_limits_its_text():
    from portal.validators import TextRule

    checked = 0
    for serializer_class in _input_serializers():
        for name, field in _writable_text(serializer_class().fields):
            label = f"{serializer_class.__name__}.{name}"
            assert any(isinstance(v, TextRule) for v in field.validators), f"{label} misses the text rule"
            assert field.max_length is not None, f"{label} has no max_length"
            checked += 1
    assert checked >= 8


def test_every_text_field_of_the_models_has_a_limit():
    from django.apps import apps
    from django.core.validators import MaxLengthValidator
    from django.db import models

    from tenants.fields import SealedTextField

    machine_written = {("tenants", "signingkey", "public_pem")}  # a PEM we generate, not typed by anyone
    for app in ("meetings", "tenants"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                if not isinstance(field, models.TextField) or isinstance(field, SealedTextField):
                    continue
                if (app, model._meta.model_name, field.name) in machine_written:
                    continue
                assert field.max_length, f"{model.__name__}.{field.name} has no max_length"
                assert any(isinstance(v, MaxLengthValidator) for v in field.validators), field


ROOM_FORM = {"title": "Law", "description": "", "access": "tenant", "public_name": ""}


@pytest.mark.parametrize("bad", CONTROL_CHARACTERS)
@pytest.mark.parametrize("field", ["title", "description", "public_name"])
def test_room_form_refuses_control_characters(client, host, tenant, field, bad):
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", {**ROOM_FORM, field: f"Law{bad}I"})
    assert response.status_code == 200
    assert CONTROL_MESSAGE in response.content.decode()
    assert not Room.objects.exists()


def test_titles_are_single_line_and_descriptions_may_span_lines(client, host, tenant, room):
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", {**ROOM_FORM, "title": "Law\r\nI"})
    assert response.status_code == 200 and SINGLE_LINE_MESSAGE in response.content.decode()
    response = client.post(f"/uzh/rooms/{room.name}/series/new/", _series_form(title="Law\nI"))
    assert response.status_code == 200 and SINGLE_LINE_MESSAGE in response.content.decode()
    assert not LectureSeries.objects.exists()
    response = client.post("/uzh/rooms/new/", {**ROOM_FORM, "description": "Line 1\r\n\tLine 2"})
    assert response.status_code == 302
    assert Room.objects.get(title="Law").description == "Line 1\r\n\tLine 2"


def _series_form(**overrides: str) -> dict[str, Any]:
    return {
        "title": "",
        "first_date": "2026-03-02",
        "start_time": "10:15",
        "duration_minutes": "90",
        "interval_weeks": "1",
        "weekdays": ["0"],
        "count": "3",
        "time_zone": "Europe/Zurich",
        "join_opens_minutes": "15",
        "grace_minutes": "15",
        **overrides,
    }


@pytest.mark.parametrize("bad", CONTROL_CHARACTERS)
def test_other_page_forms_refuse_control_characters(client, host, admin_user, series, bad):
    client.force_login(host)
    room = series.room
    key = series_key(series)
    pages = [
        (f"/uzh/rooms/{room.name}/series/new/", _series_form(title=f"Law{bad}I")),
        (f"/uzh/rooms/{room.name}/series/{series.code}/lectures/{key}/cancel/", {"note": f"ill{bad}at home"}),
        (
            "/uzh/settings/tokens/",
            {"name": f"Moodle{bad}sync", "scopes": ["rooms:read"], "expires_in_days": "30"},
        ),
    ]
    for url, data in pages:
        response = client.post(url, data)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        assert CONTROL_MESSAGE in response.content.decode(), url
    client.force_login(admin_user)
    branding = {"primary_colour": "#1f5fa8", "background_colour": "#f6f7f9", "default_language": "en"}
    response = client.post("/uzh/manage/branding/", {**branding, "welcome_text": f"Hi{bad}there"})
    assert response.status_code == 400 and CONTROL_MESSAGE in response.content.decode()
    response = client.get(f"/uzh/manage/members/?q=a{bad}")
    assert response.status_code == 200
    assert not OccurrenceChange.objects.exists() and not ApiToken.objects.exists()
    assert not Branding.objects.exists()


def series_key(series: LectureSeries) -> str:
    from meetings import recurrence

    return recurrence.next_occurrences(series, after=series.created_at, limit=1)[0].key


def _api_inputs(room: Room, series: LectureSeries) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, URL, valid payload, text field) of every API input with text."""
    key = series_key(series)
    return [
        ("post", "/api/v1/rooms/", {"title": "Law"}, "title"),
        ("post", "/api/v1/rooms/", {"title": "Law"}, "description"),
        ("patch", f"/api/v1/rooms/{room.name}/", {}, "title"),
        ("patch", f"/api/v1/rooms/{room.name}/", {}, "description"),
        (
            "post",
            f"/api/v1/rooms/{room.name}/series/",
            {"first_date": "2026-03-02", "start_time": "10:15"},
            "title",
        ),
        ("patch", f"/api/v1/series/{series.code}/", {}, "title"),
        ("patch", f"/api/v1/series/{series.code}/", {}, "time_zone"),
        ("post", f"/api/v1/series/{series.code}/occurrences/{key}/cancel/", {}, "note"),
        (
            "post",
            f"/api/v1/series/{series.code}/occurrences/{key}/move/",
            {"new_date": "2026-03-04", "new_time": "10:15"},
            "note",
        ),
        ("patch", "/api/v1/branding/", {}, "welcome_text"),
        ("patch", "/api/v1/branding/", {}, "support_url"),
        ("post", "/api/v1/tokens/", {"scopes": ["rooms:read"]}, "name"),
    ]


@pytest.mark.parametrize("bad", [*CONTROL_CHARACTERS, "\ud800"])
def test_api_inputs_refuse_control_characters(admin_user, tenant, series, bad):
    series.room.co_hosts.add(admin_user)
    api = session_client(admin_user)
    for method, url, payload, field in _api_inputs(series.room, series):
        body = json.dumps({**payload, field: f"Law{bad}I"})  # \ud800 goes as the JSON escape
        response = getattr(api, method)(url, body, content_type="application/json")
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {field: [CONTROL_MESSAGE]}, (url, field, error)
    assert not OccurrenceChange.objects.exists() and not ApiToken.objects.exists()


def test_api_titles_are_single_line(host, room):
    api = session_client(host)
    for url, method in (("/api/v1/rooms/", "post"), (f"/api/v1/rooms/{room.name}/", "patch")):
        response = getattr(api, method)(url, {"title": "Law\nI"}, format="json")
        assert assert_error(response, 400, "invalid")["fields"] == {"title": [SINGLE_LINE_MESSAGE]}
    payload = {"first_date": "2026-03-02", "start_time": "10:15", "title": "A\r\nB"}
    response = api.post(f"/api/v1/rooms/{room.name}/series/", payload, format="json")
    assert assert_error(response, 400, "invalid")["fields"] == {"title": [SINGLE_LINE_MESSAGE]}
    response = api.patch(f"/api/v1/rooms/{room.name}/", {"description": "Line 1\nLine 2"}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "Line 1\nLine 2"
    room.refresh_from_db()
    assert room.title == "Introduction to Law"


# Length limits -------------------------------------------------------------------------------------------


def test_free_text_has_limits_in_forms_and_api(client, host, admin_user, room):
    long = "x" * (DESCRIPTION_MAX_LENGTH + 1)
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", {**ROOM_FORM, "description": long})
    assert response.status_code == 200 and "at most 5000 characters" in response.content.decode()
    api = session_client(host)
    error = assert_error(api.patch(f"/api/v1/rooms/{room.name}/", {"description": long}, format="json"), 400)
    assert "no more than 5000 characters" in error["fields"]["description"][0]
    assert (
        api.patch(f"/api/v1/rooms/{room.name}/", {"description": long[:-1]}, format="json").status_code == 200
    )
    error = assert_error(api.patch(f"/api/v1/rooms/{room.name}/", {"title": "x" * 201}, format="json"), 400)
    assert list(error["fields"]) == ["title"]
    admin = session_client(admin_user)
    error = assert_error(admin.patch("/api/v1/branding/", {"welcome_text": long}, format="json"), 400)
    assert list(error["fields"]) == ["welcome_text"]
    # A service refuses it too, whoever calls it (management commands, the admin).
    with pytest.raises(ValidationError):
        meeting_services.update_room(actor=host, room=room, description=long)


# Stored text never breaks a feed -------------------------------------------------------------------------


def test_feeds_render_stored_text_with_line_breaks_and_control_characters(client, host, tenant, series):
    from meetings import recurrence

    first = recurrence.next_occurrences(series, after=series.created_at, limit=1)[0]
    meeting_services.cancel_occurrence(
        actor=host, series=series, original_start=first.original_start, note="x"
    )
    # Written past the forms, as rows from before the rule (or by hand) may be.
    LectureSeries.objects.filter(pk=series.pk).update(title="Law\r\nI\x01\x85\x7f")
    OccurrenceChange.objects.filter(series=series).update(note="Ill\nat home\x1b")
    Tenant.objects.filter(pk=tenant.pk).update(name="University\nof Zurich\x01")
    response = client.get(f"/uzh/feeds/{series.feed_token}.ics")
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-calname"]) == "Law I"
    events = list(calendar.walk("VEVENT"))
    assert {str(e["summary"]) for e in events} == {"Law I"}
    cancelled = next(e for e in events if str(e["status"]) == "CANCELLED")
    assert str(cancelled["description"]).startswith("Ill at home\n")
    feed = meeting_services.rotate_personal_feed(actor=host, tenant=tenant)
    response = client.get(f"/uzh/feeds/{feed.token}.ics")
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-calname"]) == "My lectures at University of Zurich"
    client.force_login(host)
    response = client.get(f"/uzh/lectures/{series.code}.ics")
    assert response.status_code == 200 and b"SUMMARY:Law I\r\n" in response.content


# OPTIONS on every API route ----------------------------------------------------------------------------


def test_options_answers_on_every_api_route(host, member, tenant, series):
    token = issue_token(actor=host, tenant=tenant, name="t", scopes=["rooms:read"], lifetime_days=1).token
    series.room.co_hosts.add(member)
    values = {
        "room": series.room.name,
        "code": series.code,
        "key": series_key(series),
        "prefix": token.prefix,
        "user": str(member.public_id),
        "recording": "a" * 16,  # a recording's code (none exists: OPTIONS describes the endpoint regardless)
    }
    routes = [
        route
        for route, _converters, _module in _routes(get_resolver().url_patterns)
        if route.startswith("api/v1/") and "(?P" not in route
    ]
    assert len(routes) >= 20
    host_api, member_api = session_client(host), session_client(member)
    for route in routes:
        path = re.sub(r"<[a-z]+:([a-z]+)>", lambda m: values[m.group(1)], "/" + route)
        for api in (host_api, member_api):
            response = api.options(path)
            # 405: the documentation pages, which describe nothing (portal/api_urls.py).
            expected = {405} if path.startswith("/api/v1/docs/") else {200}
            assert response.status_code in expected, (path, response.status_code, response.content[:200])
    detail = host_api.options(f"/api/v1/rooms/{series.room.name}/")
    assert detail.status_code == 200 and "PUT" in detail.json()["actions"]
    # A member who may read but not change the room is not offered PUT.
    series.room.co_hosts.remove(member)
    seen = session_client(member).options(f"/api/v1/rooms/{series.room.name}/")
    assert seen.status_code == 200 and "PUT" not in seen.json().get("actions", {})


# Deeply nested JSON ---------------------------------------------------------------------------------------


def test_deeply_nested_json_to_the_api_is_a_400(host, admin_user, room):
    body = "[" * 100_000
    for client, method, url in (
        (session_client(host), "post", "/api/v1/rooms/"),
        (session_client(host), "patch", f"/api/v1/rooms/{room.name}/"),
        (session_client(admin_user), "patch", "/api/v1/branding/"),
        (session_client(host), "post", f"/api/v1/rooms/{room.name}/join/"),
    ):
        response = getattr(client, method)(url, body, content_type="application/json")
        error = assert_error(response, 400, "parse_error")
        assert "nested too deeply" in error["message"]


def test_every_api_view_parses_json_with_the_depth_check():
    from rest_framework import parsers

    from tenants.api.parsers import JSONParser

    views = {
        getattr(getattr(pattern.callback, "cls", None), "__name__", ""): pattern.callback.cls
        for pattern in _patterns(get_resolver().url_patterns)
        if hasattr(pattern.callback, "cls")
    }
    assert len(views) >= 15
    for name, view in views.items():
        for parser in view().get_parsers():
            if isinstance(parser, parsers.JSONParser):
                assert isinstance(parser, JSONParser), f"{name} parses JSON with {type(parser).__name__}"


# Lecture keys far off ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["99991231T000000Z", "00010101T000000Z", "29991231T235959Z", "20260230T101500Z"]
)
@pytest.mark.parametrize("action", ["cancel", "move", "restore"])
def test_lecture_keys_out_of_range_are_a_404_on_pages_and_api(client, host, series, key, action):
    client.force_login(host)
    page = f"/uzh/rooms/{series.room.name}/series/{series.code}/lectures/{key}/{action}/"
    assert client.get(page).status_code == (405 if action == "restore" else 404)  # restore is POST only
    assert client.post(page).status_code == 404
    api = session_client(host)
    assert_error(
        api.post(f"/api/v1/series/{series.code}/occurrences/{key}/{action}/"), 404, "no_such_lecture"
    )


def test_iso_lecture_keys_out_of_range_are_a_404_in_the_api(host, series):
    api = session_client(host)
    for key in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-13-01T10:15:00+01:00"):
        assert_error(
            api.post(f"/api/v1/series/{series.code}/occurrences/{key}/cancel/"), 404, "no_such_lecture"
        )
