"""What portal/adapters/django.py relies on in Django: fails loudly when an upgrade changes it."""

from __future__ import annotations

import inspect
import io

from django.core.handlers.base import BaseHandler

from portal.adapters.django import CHAIN_ATTRIBUTES
from portal.handlers import MachineWSGIHandler
from tests.conftest import keep_test_connection


def test_load_middleware_still_fills_the_attributes_the_adapter_fills():
    source = inspect.getsource(BaseHandler.load_middleware)
    for name in CHAIN_ATTRIBUTES:
        assert f"self.{name}" in source, name
    assert callable(getattr(BaseHandler, "_get_response", None))


def test_get_response_still_runs_the_chain_the_adapter_builds():
    assert "self._middleware_chain(request)" in inspect.getsource(BaseHandler.get_response)


def test_the_lean_handler_answers_through_security_middleware_alone(db, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    handler = MachineWSGIHandler()
    answered: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/jitsi/not-a-route/",  # a 404 from the resolver, before any view
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "HTTP_HOST": "testserver",
    }
    with keep_test_connection():
        handler(environ, lambda status, headers: answered.append((status, headers)))
    status, headers = answered[0]
    assert status.startswith("404")
    assert ("X-Content-Type-Options", "nosniff") in headers  # SecurityMiddleware ran
    assert not any(name == "Vary" and "Cookie" in value for name, value in headers)  # no session middleware


def test_a_session_still_loads_into_session_cache_only_when_it_is_missing():
    from django.contrib.sessions.backends.base import SessionBase

    source = inspect.getsource(SessionBase._get_session)
    assert "return self._session_cache" in source and "except AttributeError" in source
    from django.contrib.sessions.backends.db import SessionStore

    from portal.adapters.django import preload_session

    session = SessionStore("no-such-key-in-any-store")
    preload_session(session, {"read": "ahead"})
    assert session["read"] == "ahead" and session.accessed  # no load from the store replaced it
