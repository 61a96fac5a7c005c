"""One cache mechanism (portal/process_cache.py), documented in one place (the README table), and models that
import no caches (issue 11, item 5)."""

from __future__ import annotations

import ast
import importlib
import time
from pathlib import Path

import pytest

from portal import process_cache
from portal.process_cache import LocalCache

ROOT = Path(__file__).resolve().parents[1]

# Every module that keeps a per-process cache (imported here so that each registers its caches).
CACHE_MODULES = (
    "tenants.hotcache",
    "meetings.joincache",
    "tenants.session_ahead",
    "tenants.middleware",
    "meetings.event_views",
    "tenants.keys",
    "tenants.saml_config",
    "tenants.dev_idp.idp",
    "portal.adapters.pysaml2",
)


def _readme_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Per-process caches")
    return text[start : text.index("\n## ", start)]


def test_every_per_process_cache_is_in_the_readme_table():
    for module in CACHE_MODULES:
        importlib.import_module(module)
    table = _readme_table()
    names = process_cache.registered()
    assert len(names) >= 11  # the issue counted at least eleven, each with its own rule before
    missing = [name for name in names if f"`{name}`" not in table]
    assert not missing, f"add these caches to the README table 'Per-process caches': {missing}"


def _module_level_dicts(path: Path) -> list[str]:
    """Names of module-level `dict` caches (`_x: dict[...] = {}` or `_x = {}`) in a source file."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict) and not value.keys:
            found.append(target.id)
    return found


def test_no_module_keeps_a_cache_of_its_own_kind():
    """A new per-process cache is a LocalCache (so it has a name, a rule and a README row), not a dict."""
    allowed = {
        ("portal/redis_cache.py", "_servers"),  # one Redis client per URL: connections, not data
        ("portal/redis_access.py", "_breakers"),
        ("portal/redis_access.py", "_clients"),
        ("portal/process_cache.py", "_registry"),
        ("meetings/count_publish.py", "_unpublished"),  # counts waiting for Redis, not a cache
        ("meetings/recordings/ingest.py", "_running"),  # running hashes of uploads in progress: state
        ("tenants/session_ahead.py", "_backends"),  # authentication backends by path: stateless objects
        ("portal/settings.py", "SAML_ATTRIBUTE_MAPPING"),  # a setting
    }
    offenders = []
    for app in ("portal", "tenants", "meetings"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = str(path.relative_to(ROOT))
            offenders += [(rel, name) for name in _module_level_dicts(path) if (rel, name) not in allowed]
    assert not offenders, offenders


@pytest.mark.parametrize("models", ["tenants/models.py", "meetings/models.py"])
def test_models_import_no_caches(models):
    tree = ast.parse((ROOT / models).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module or ""}
    caches = {"hotcache", "joincache", "process_cache", "redis_cache", "django.core.cache"}
    assert not [name for name in imported if any(c in name for c in caches)], imported


def test_an_entry_is_used_while_its_tokens_match_and_it_is_young():
    cache: LocalCache[int] = LocalCache("test tokens", max_age=0.2, limit=3)
    loads = []

    def load(value: int) -> int:
        loads.append(value)
        return value

    assert cache.get("k", ("a",), lambda: load(1)) == 1
    assert cache.get("k", ("a",), lambda: load(2)) == 1  # same tokens, young: kept
    assert cache.get("k", ("b",), lambda: load(3)) == 3  # a token replaced: loaded again
    time.sleep(0.25)
    assert cache.peek("k") is None
    assert cache.get("k", ("b",), lambda: load(4)) == 4  # too old: loaded again
    for key in ("x", "y", "z"):
        cache.put(key, (), 0)
    assert len(cache) <= 3  # bounded
    assert loads == [1, 3, 4]


def test_bulk_updates_replace_the_tokens_without_models_knowing_the_caches(db):
    from meetings.models import Room
    from tenants import hotcache
    from tenants.models import Membership
    from tests.factories import MembershipFactory, RoomFactory

    member = MembershipFactory()
    room = RoomFactory(tenant=member.tenant)
    user_key, room_key = hotcache.user_key(member.user_id), hotcache.room_key(room.tenant_id, room.name)
    before = hotcache.read_generations([user_key, room_key])
    Membership.objects.filter(pk=member.pk).update(is_blocked=True)
    Room.objects.filter(pk=room.pk).update(title="Renamed")
    after = hotcache.read_generations([user_key, room_key])
    assert after[user_key] != before[user_key] and after[room_key] != before[room_key]
