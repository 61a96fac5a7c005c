"""Django adapter: a WSGI handler with a fixed middleware chain (the lean handler for Prosody's calls), and a
session whose data was read ahead (the join's one Redis round trip, tenants/session_ahead.py).

Django builds a handler's chain from settings.MIDDLEWARE in `BaseHandler.load_middleware`, which fills four
private attributes that `get_response` then reads. Prosody's calls need SecurityMiddleware alone, so this
fills the same attributes for that one middleware. `tests/adapters/test_django_contract.py` fails when a new
Django changes what `load_middleware` sets or what `get_response` calls, or where a session keeps its loaded
data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response

# What BaseHandler.load_middleware assigns; the contract test reads its source for each of these names.
CHAIN_ATTRIBUTES = (
    "_view_middleware",
    "_template_response_middleware",
    "_exception_middleware",
    "_middleware_chain",
)


def load_fixed_chain(handler: BaseHandler, middleware: Callable[[Any], Any]) -> None:
    """`handler.load_middleware()` for one hook-free middleware (no view, template-response or exception
    hooks, as SecurityMiddleware)."""
    handler._view_middleware = []  # type: ignore[attr-defined]  # Django's private chain state, see above
    handler._template_response_middleware = []  # type: ignore[attr-defined]  # idem
    handler._exception_middleware = []  # type: ignore[attr-defined]  # idem
    inner = convert_exception_to_response(handler._get_response)  # type: ignore[attr-defined]  # idem
    handler._middleware_chain = convert_exception_to_response(middleware(inner))  # type: ignore[attr-defined]  # idem


def preload_session(session: Any, data: dict[str, Any]) -> None:
    """Give a session the data it would have loaded itself (read ahead in the join's one Redis round trip):
    `SessionBase._get_session` loads into `_session_cache` only while that attribute is missing."""
    session._session_cache = data  # Django's private cache of the loaded session, see above
    session.accessed = True  # as loading notes it (SessionMiddleware then adds Vary: Cookie)
