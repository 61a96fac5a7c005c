"""Standing guard: no URL of the portal answers 5xx, whoever asks and whatever the path holds.

Every URL pattern is taken from the resolver (included URLconfs, the admin, djangosaml2, the development IdP,
media), so a new route is covered without editing this file. Each route is requested
- with VALID values for its path parameters (a real tenant, room, series, lecture, feed, token, key...), so
  that views are reached beyond their 404, by every actor and with every method;
- with HOSTILE values (NUL, 10 kB, `../`, `%2F`, RTL override, emoji, a lone surrogate, another route's
  prefix) in one parameter at a time, by an anonymous visitor and one signed-in actor;
once through Django's test client and once through the production WSGI application (`portal.wsgi`, which
hands /jitsi/ to the lean handler). A route with a parameter name this file does not know fails: add a
valid value to VALUES below.

Run alone: `make test PYTEST_ARGS="-q tests/test_no_server_errors.py"`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from meetings import recurrence, services
from meetings.anonymous import create_anonymous_room
from meetings.models import PersonalFeed
from meetings.recordings.models import Recording, Upload
from tenants import saml_config
from tenants.keys import ensure_active_key, kid_digest
from tenants.models import JitsiDeployment, Membership
from tests.api_support import token_for
from tests.conftest import keep_test_connection
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.saml_idp import key_pair

# The test databases are set up only for a run that holds django_db tests; the world is module-scoped.
pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "member", "host", "admin", "outsider", "operator")
# Hostile values as they appear in a URL (percent-encoded where a client would encode them).
HOSTILE = {
    "nul": "a%00b",
    "10kB": "x" * 10_240,
    "dotdot": "../",
    "slash": "a%2F..%2Fb",
    "rtl": "room%E2%80%AEfdp.exe",
    "emoji": "%F0%9F%98%80",
    "surrogate": "%ED%A0%80",
    "prefix": "jitsi",  # another route's prefix: /jitsi/... is the lean WSGI handler's
}
JUNK_FORM = {
    "title": "Junk\u202e title \U0001f600",
    "name": "../x",
    "description": "a\x00b",
    "note": "x" * 300,
    "email": "not-an-email",
    "role": "emperor",
    "scopes": "everything",
    "SAMLRequest": "%%%",
    "junk": "1",
}
JUNK_JSON = {"title": ["nested", {"x": None}], "name": 12, "junk": {"a": [1, 2, {"b": "\u202e"}]}}
# (method, body kind): what every actor sends with valid values, what the route's most privileged actor and an
# anonymous visitor send besides (every method, whether or not the view allows it; a 405 is an answer too).
EVERY_ACTOR = [("GET", None), ("POST", "form")]
FULL = [
    ("GET", None),
    ("HEAD", None),
    ("OPTIONS", None),
    ("POST", "empty"),
    ("POST", "form"),
    ("POST", "json"),
    ("PUT", "json"),
    ("PATCH", "json"),
    ("DELETE", None),
]
# With hostile path values most views fail while resolving their arguments; fewer requests suffice.
HOSTILE_ANONYMOUS = [("GET", None)]
HOSTILE_SIGNED_IN = [("GET", None), ("POST", "form"), ("PATCH", "json"), ("DELETE", None)]
# Through the WSGI application (the same views; what differs is the request's way in): fewer values.
HOSTILE_WSGI = ("nul", "slash", "surrogate", "10kB", "prefix")
CSRF = "a" * 32  # a valid unmasked CSRF secret: cookie and header agree, so WSGI POSTs reach the views


# --- routes from the resolver ----------------------------------------------------------------------------

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    patterns: tuple[Any, ...]  # the RoutePattern/RegexPattern of each level, outermost first
    callback: Callable[..., Any]

    @property
    def label(self) -> str:
        return "".join(str(p) for p in self.patterns)

    @property
    def params(self) -> list[str]:
        names: list[str] = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):
                names += [m["name"] for m in _ROUTE_PARAM.finditer(str(pattern))]
            else:
                names += list(re.compile(str(pattern)).groupindex)
        return names

    def path(self, values: dict[str, str]) -> str:
        """The URL (percent-encoded as sent) with `values` for the parameters."""
        return "/" + "".join(_fill(pattern, values) for pattern in self.patterns)


def _fill(pattern: Any, values: dict[str, str]) -> str:
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return _ROUTE_PARAM.sub(lambda m: values[m["name"]], text)
    if not isinstance(pattern, RegexPattern):
        raise AssertionError(f"unknown pattern type {type(pattern).__name__} ({text}): teach this guard")
    text = text.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("(?P<", i):
            name = text[i + 4 : text.index(">", i)]
            depth, j = 0, i
            while True:  # the matching parenthesis (groups may nest)
                if text[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append(values[name])
            i = j + 1
        elif text[i] == "\\":  # an escaped literal character
            out.append(text[i + 1])
            i += 2
        elif text[i] in "()[]*+?|{}^$.":
            raise AssertionError(f"cannot build a path from the regex {str(pattern)!r}: teach this guard")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def all_routes() -> list[Route]:
    found: dict[str, Route] = {}

    def walk(resolver: URLResolver, parents: tuple[Any, ...]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, (*parents, entry.pattern))
            elif isinstance(entry, URLPattern):
                route = Route((*parents, entry.pattern), entry.callback)
                found.setdefault(route.label, route)  # a shadowed duplicate is the same URL

    walk(get_resolver(), ())
    return list(found.values())


ROUTES = all_routes()


# --- the world: two tenants, six actors, one of everything -----------------------------------------------


@dataclass
class World:
    tenant: Any
    other: Any
    users: dict[str, Any]
    room: Any
    anonymous_room: Any
    series: Any
    lecture_key: str
    cohost: Any
    token_prefixes: dict[str, str]
    digest: str
    media_path: str
    recording_code: str = ""
    upload_id: str = ""


def _object_id(world: World, route: Route, actor: str) -> str:
    model_admin = getattr(route.callback, "model_admin", None)
    if model_admin is None:  # the admin's content-type shortcut: /admin/r/<ct>/<object_id>/
        return str(world.room.pk)
    obj = model_admin.model._default_manager.order_by("pk").first()
    return str(obj.pk) if obj is not None else "1"


# A valid value for every path parameter name in the URL configuration. A new parameter name fails the guard
# until it gets a value here (so that its views are reached beyond 404).
VALUES: dict[str, Callable[[World, Route, str], str]] = {
    "tenant": lambda w, r, a: w.tenant.slug,
    "room": lambda w, r, a: w.anonymous_room.name if r.label.startswith("new/") else w.room.name,
    "name": lambda w, r, a: w.room.name,
    "code": lambda w, r, a: w.recording_code if "recording" in r.label else w.series.code,
    "upload": lambda w, r, a: w.upload_id,
    "recording": lambda w, r, a: w.recording_code,
    "key": lambda w, r, a: w.lecture_key,
    "token": lambda w, r, a: w.series.feed_token,
    "prefix": lambda w, r, a: w.token_prefixes.get(a, w.token_prefixes["host"]),
    "deployment": lambda w, r, a: w.tenant.deployment.slug,
    "digest": lambda w, r, a: w.digest,
    "public_id": lambda w, r, a: str(w.users["member"].public_id),
    "user": lambda w, r, a: str(w.cohost.public_id),
    "object_id": _object_id,
    "content_type_id": lambda w, r, a: str(ContentType.objects.get_for_model(w.room).pk),
    "id": lambda w, r, a: str(w.users["member"].pk),
    "app_label": lambda w, r, a: "tenants",
    "url": lambda w, r, a: "nothing-here/",
    "rest": lambda w, r, a: "nothing-here/",
    "path": lambda w, r, a: w.media_path,
    "kind": lambda w, r, a: "occupant/joined",
}


def valid_values(world: World, route: Route, actor: str) -> dict[str, str]:
    unknown = [name for name in route.params if name not in VALUES]
    assert not unknown, (
        f"route {route.label!r} has path parameters {unknown} this guard has no valid value for: "
        "add them to VALUES in tests/test_no_server_errors.py"
    )
    return {name: VALUES[name](world, route, actor) for name in route.params}


@pytest.fixture(scope="module")
def world(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    var = tmp_path_factory.mktemp("guard-var")
    media = tmp_path_factory.mktemp("guard-media")
    key_pem, cert_pem = key_pair("sp")
    (var / "sp.key").write_bytes(key_pem)
    (var / "sp.crt").write_bytes(cert_pem)
    (media / "branding" / "uzh").mkdir(parents=True)
    (media / "branding" / "uzh" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    overrides = override_settings(
        PUBLIC_URL="http://testserver",
        SAML_ENTITY_ID="http://testserver/saml2/metadata/",
        SAML_KEY_FILE=str(var / "sp.key"),
        SAML_CERT_FILE=str(var / "sp.crt"),
        SAML_METADATA_FILES=[],
        PORTAL_DEV_IDP=True,  # the IdP's views are routes too
        VAR_DIR=var,
        MEDIA_ROOT=media,
        ANONYMOUS_TENANT="uzh",
        BENCH_VIEWS=True,
        RATE_LIMIT_ANONYMOUS_CREATE="1000000/60",
        RATE_LIMIT_ANONYMOUS_JOIN="1000000/60",
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                "address": "1000000/min",
                "token": "1000000/min",
                "token_failure": "1000000/min",
            },
        },
    )
    overrides.enable()
    saml_config.clear_config_cache()
    with django_db_blocker.unblock(), transaction.atomic():
        tenant = TenantFactory(slug="uzh", name="University of Zurich", deployment=None)
        deployment = rs256_deployment(tenant)
        tenant.deployment = deployment
        other = TenantFactory(slug="eth", name="ETH Zurich")
        roles = {
            "member": (tenant, Membership.Role.MEMBER),
            "host": (tenant, Membership.Role.HOST),
            "admin": (tenant, Membership.Role.ADMIN),
            "outsider": (other, Membership.Role.ADMIN),
        }
        users = {
            actor: MembershipFactory(tenant=t, role=role, user=UserFactory(username=f"guard-{actor}")).user
            for actor, (t, role) in roles.items()
        }
        users["operator"] = UserFactory(username="guard-operator", is_staff=True, is_superuser=True)
        cohost = MembershipFactory(
            tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="guard-cohost")
        ).user
        room = services.create_room(actor=users["host"], tenant=tenant, title="Introduction to Law")
        services.add_co_host(actor=users["host"], room=room, user=cohost)
        first = timezone.localdate() + timedelta(days=7)
        series = services.schedule_series(
            actor=users["host"],
            room=room,
            title="Introduction to Law",
            first_date=first,
            start_time=time(10, 15),
            duration_minutes=90,
            interval_weeks=1,
            weekdays=[first.weekday()],
            until=None,
            count=12,
            time_zone="Europe/Zurich",
            join_opens_minutes=15,
            grace_minutes=15,
        )
        lecture = recurrence.next_occurrences(series, after=timezone.now(), limit=1)[0]
        anonymous_room = create_anonymous_room(tenant=tenant, now=timezone.now())
        PersonalFeed.objects.create(tenant=tenant, user=users["member"])
        prefixes = {}
        for actor in ("member", "host", "admin", "outsider"):
            user = users[actor]
            own = tenant if actor != "outsider" else other
            token_for(user, own)
            prefixes[actor] = user.api_tokens.get().prefix
        signing_key = ensure_active_key(tenant=tenant)
        recording = Recording.objects.create(
            tenant=tenant, room=room, title="Week 1", sha256="0" * 64, ended_at=timezone.now()
        )
        upload = Upload.objects.create(
            tenant=tenant, deployment=tenant.deployment, room=room, kind=Upload.Kind.VIDEO, length=10
        )
        yield World(
            tenant=tenant,
            other=other,
            users=users,
            room=room,
            anonymous_room=anonymous_room,
            series=series,
            lecture_key=lecture.key,
            cohost=cohost,
            token_prefixes=prefixes,
            digest=kid_digest(signing_key.kid),
            media_path="branding/uzh/logo.png",
            recording_code=recording.code,
            upload_id=upload.id,
        )
        transaction.set_rollback(True)
    overrides.disable()
    saml_config.clear_config_cache()


def rs256_deployment(tenant: Any) -> JitsiDeployment:
    from tests.factories import JitsiDeploymentFactory

    return JitsiDeploymentFactory(tenant=tenant, algorithm=JitsiDeployment.Algorithm.RS256, app_secret="")


@pytest.fixture(scope="module")
def sessions(world: World, django_db_blocker: Any) -> dict[str, dict[str, str]]:
    """Cookies of each actor (a session signed in the way the test client does it)."""
    cookies: dict[str, dict[str, str]] = {"anonymous": {}}
    with django_db_blocker.unblock():
        for actor in ACTORS[1:]:
            client = Client()
            client.force_login(world.users[actor])
            cookies[actor] = {name: morsel.value for name, morsel in client.cookies.items()}
    return cookies


@pytest.fixture
def guard(world: World, sessions: dict[str, dict[str, str]], django_db_blocker: Any) -> Iterator[Guard]:
    with django_db_blocker.unblock():
        yield Guard(world, sessions)


# --- sending requests -------------------------------------------------------------------------------------


def _body(kind: str | None) -> tuple[bytes, str]:
    if kind == "form":
        return urlencode(JUNK_FORM).encode(), "application/x-www-form-urlencoded"
    if kind == "json":
        return json.dumps(JUNK_JSON).encode(), "application/json"
    return b"", "application/x-www-form-urlencoded"


class Guard:
    def __init__(self, world: World, sessions: dict[str, dict[str, str]]) -> None:
        self.world = world
        self.sessions = sessions
        self.client = Client(raise_request_exception=False)
        self.failures: list[str] = []

    def send(self, handler: str, actor: str, method: str, path: str, kind: str | None) -> None:
        """One request in a savepoint that is rolled back, so every request sees the same world."""
        body, content_type = _body(kind)
        cookies = {**self.sessions[actor], settings.CSRF_COOKIE_NAME: CSRF}
        errors: list[BaseException] = []

        def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
            error = sys.exc_info()[1]
            if error is not None:
                errors.append(error)

        class Logged(logging.Handler):  # errors answered as a 500 by a handler (the API's) log their cause
            def emit(self, log_record: logging.LogRecord) -> None:
                if log_record.exc_info and log_record.exc_info[1] is not None:
                    errors.append(log_record.exc_info[1])

        logged = Logged(logging.ERROR)
        logging.getLogger().addHandler(logged)
        got_request_exception.connect(record)
        try:
            with transaction.atomic(), keep_test_connection():
                if handler == "client":
                    status = self._client(method, path, body, content_type, cookies)
                else:
                    status = self._wsgi(method, path, body, content_type, cookies)
                transaction.set_rollback(True)
        finally:
            got_request_exception.disconnect(record)
            logging.getLogger().removeHandler(logged)
        if status >= 500:
            shown = path if len(path) < 120 else f"{path[:60]}...({len(path)} chars)"
            cause = f" {type(errors[-1]).__name__}: {str(errors[-1])[:160]}" if errors else ""
            self.failures.append(
                f"{handler} {actor} {method}{'/' + kind if kind else ''} {shown} -> {status}{cause}"
            )

    def _client(self, method: str, path: str, body: bytes, content_type: str, cookies: dict[str, str]) -> int:
        self.client.cookies.clear()
        for name, value in cookies.items():
            self.client.cookies[name] = value
        response = self.client.generic(method, path, body, content_type=content_type, HTTP_X_CSRFTOKEN=CSRF)
        with keep_test_connection():  # closing fires request_finished, which would close the connection
            response.close()  # a file response's file (HEAD drops the content unread)
        return int(response.status_code)

    def _wsgi(self, method: str, path: str, body: bytes, content_type: str, cookies: dict[str, str]) -> int:
        from portal.wsgi import application

        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            # As a WSGI server passes it: percent-decoded bytes as latin-1 (PEP 3333).
            "PATH_INFO": unquote_to_bytes(path).decode("iso-8859-1"),
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "HTTP_X_CSRFTOKEN": CSRF,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": content_type,
        }
        started: list[str] = []
        chunks = application(environ, lambda status, headers, *exc: started.append(status))
        try:
            b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(started[0][:3])

    def check(self) -> None:
        if self.failures:  # all of them, untruncated
            pytest.fail(f"{len(self.failures)} answers were 5xx:\n" + "\n".join(self.failures), pytrace=False)


# --- the guards ---------------------------------------------------------------------------------------------

HANDLERS = ("client", "wsgi")


def privileged(route: Route) -> str:
    """The actor who reaches the route's view furthest: operators in the admin, tenant admins in the
    console, the room's host elsewhere."""
    if route.label.startswith("admin/"):
        return "operator"
    if "/manage/" in route.label:
        return "admin"
    return "host"


def without_get_alikes(route: Route, requests: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """All of `requests`, except where the view is known to treat PUT/PATCH/DELETE as a GET (the Django
    admin renders the same page again, at the cost of a full page each)."""
    if getattr(route.callback, "__module__", "").startswith("django.contrib.admin") or hasattr(
        route.callback, "model_admin"
    ):
        return [(m, k) for m, k in requests if m not in {"PUT", "PATCH", "DELETE"}]
    return requests


def full(route: Route) -> list[tuple[str, str | None]]:
    return without_get_alikes(route, FULL)


@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize("route", ROUTES, ids=[r.label for r in ROUTES])
def test_valid_values_answer_no_5xx(guard: Guard, route: Route, handler: str) -> None:
    """Every actor with GET and a junk POST; an anonymous visitor and the privileged actor with every method.
    Through WSGI (same views, the production way in): the anonymous visitor with every method, the
    privileged actor with GET and POST."""
    thorough = ("anonymous", privileged(route))
    for actor in ACTORS:
        if handler == "wsgi" and actor not in thorough:
            continue
        path = route.path(valid_values(guard.world, route, actor))
        if actor == "anonymous" or (handler == "client" and actor in thorough):
            requests = full(route)
        else:
            requests = EVERY_ACTOR
        for method, kind in requests:
            guard.send(handler, actor, method, path, kind)
    guard.check()


WITH_PARAMS = [r for r in ROUTES if r.params]


@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize("route", WITH_PARAMS, ids=[r.label for r in WITH_PARAMS])
def test_hostile_values_answer_no_5xx(guard: Guard, route: Route, handler: str) -> None:
    signed_in = privileged(route)
    signed_in_requests = without_get_alikes(route, HOSTILE_SIGNED_IN)
    for actor, requests in (("anonymous", HOSTILE_ANONYMOUS), (signed_in, signed_in_requests)):
        valid = valid_values(guard.world, route, actor)
        for name in route.params:
            for label, hostile in HOSTILE.items():
                if handler == "wsgi" and label not in HOSTILE_WSGI:
                    continue
                path = route.path({**valid, name: hostile})
                for method, kind in requests[:2] if handler == "wsgi" else requests:
                    guard.send(handler, actor, method, path, kind)
    guard.check()


def test_every_route_is_walked() -> None:
    """The walk sees included URLconfs (API, admin, SAML, the development IdP, tenant pages, media)."""
    labels = {_ROUTE_PARAM.sub(lambda m: f"<{m['name']}>", r.label) for r in ROUTES}  # converters vary
    for expected in (
        "api/v1/rooms/<room>/",
        "admin/meetings/room/<object_id>/change/",
        "saml2/metadata/",
        "dev-idp/sso/",
        "<tenant>/r/<room>/",
        "<tenant>/manage/members/<public_id>/role/",
    ):
        assert expected in labels, sorted(labels)
    assert any(label.startswith("^media/") for label in labels)
    assert len(ROUTES) > 100
