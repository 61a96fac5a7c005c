"""Personal API tokens: authentication, storage, scopes, the tokens endpoints, /me/ and the tokens page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.api.services import issue_token, split_token
from tenants.models import ApiToken, AuditEntry, Membership
from tests.api_support import assert_error, bearer_client, session_client, token_for
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # throttle counters live in Redis; every test starts from zero
    yield


# --- authentication -----------------------------------------------------------------------------------


def test_anonymous_gets_401_json_with_bearer_challenge(db):
    response = APIClient().get("/api/v1/me/")
    error = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in error["message"]


def test_valid_token_authenticates(host, tenant):
    body = bearer_client(token_for(host, tenant)).get("/api/v1/me/").json()
    assert body["username"] == "lecturer"
    assert body["auth"] == {
        "method": "token",
        "tenant": "uzh",
        "scopes": ["join", "rooms:read", "rooms:write"],
    }


@pytest.mark.parametrize(
    "header",
    [
        "Bearer aud_0123456789_wrongsecret",
        "Bearer not-a-token",
        "Bearer aud_short",
        "Bearer a b",
        "Bearer",
    ],
)
def test_bad_tokens_are_refused_with_a_human_message(host, tenant, header):
    token_for(host, tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    error = assert_error(client.get("/api/v1/me/"), 401)
    assert error["code"] in {"token_invalid", "token_malformed"}
    assert "token" in error["message"].lower()


def test_right_prefix_wrong_secret_is_refused(host, tenant):
    raw = token_for(host, tenant)
    prefix, secret = split_token(raw)
    forged = f"aud_{prefix}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    assert_error(bearer_client(forged).get("/api/v1/me/"), 401, "token_invalid")


def test_revoked_token_is_refused_with_the_reason(host, tenant):
    issued = issue_token(actor=host, tenant=tenant, name="old", scopes=["rooms:read"], lifetime_days=30)
    client = session_client(host)
    assert client.delete(f"/api/v1/tokens/{issued.token.prefix}/").status_code == 204
    error = assert_error(bearer_client(issued.plaintext).get("/api/v1/me/"), 401, "token_revoked")
    assert "revoked" in error["message"]
    assert AuditEntry.objects.filter(action="api_token.revoked", actor=host).exists()


def test_expired_token_is_refused_with_the_reason(host, tenant):
    issued = issue_token(actor=host, tenant=tenant, name="old", scopes=["rooms:read"], lifetime_days=1)
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    error = assert_error(bearer_client(issued.plaintext).get("/api/v1/me/"), 401, "token_expired")
    assert "expired" in error["message"]


def test_token_of_a_deactivated_user_is_refused(host, tenant):
    raw = token_for(host, tenant)
    host.is_active = False
    host.save(update_fields=["is_active"])
    assert_error(bearer_client(raw).get("/api/v1/me/"), 401, "token_inactive")


def test_token_of_a_blocked_member_cannot_act(host, tenant):
    raw = token_for(host, tenant)
    Membership.objects.filter(user=host, tenant=tenant).update(is_blocked=True)
    error = assert_error(bearer_client(raw).get("/api/v1/rooms/"), 403, "not_a_member")
    assert "University of Zurich" in error["message"]


def test_secret_is_stored_only_as_its_sha256(host, tenant):
    issued = issue_token(actor=host, tenant=tenant, name="ci", scopes=["rooms:read"], lifetime_days=30)
    _prefix, secret = split_token(issued.plaintext)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenants_apitoken WHERE id = %s", [issued.token.pk])
        row = cursor.fetchone()
    stored = " ".join(str(value) for value in row)
    assert secret not in stored
    assert issued.plaintext not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_last_used_is_recorded_at_most_once_a_minute(host, tenant, django_assert_num_queries):
    issued = issue_token(actor=host, tenant=tenant, name="ci", scopes=["rooms:read"], lifetime_days=30)
    assert issued.token.last_used_at is None
    client = bearer_client(issued.plaintext)
    client.get("/api/v1/me/")
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    client.get("/api/v1/me/")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first  # no write within the minute
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/v1/me/")
    assert timezone.now() - ApiToken.objects.get(pk=issued.token.pk).last_used_at < timedelta(seconds=5)


# --- scopes ---------------------------------------------------------------------------------------------


def test_token_has_only_its_scopes(host, tenant):
    client = bearer_client(token_for(host, tenant, scopes=["join"]))
    error = assert_error(client.get("/api/v1/rooms/"), 403, "missing_scope")
    assert "rooms:read" in error["message"]


def test_token_scopes_shrink_with_the_role(host, tenant):
    raw = token_for(host, tenant)  # rooms:write while a host
    Membership.objects.filter(user=host, tenant=tenant).update(role=Membership.Role.MEMBER)
    error = assert_error(bearer_client(raw).post("/api/v1/rooms/", {"title": "x"}, format="json"), 403)
    assert error["code"] == "missing_scope"
    assert "role" in error["message"]


# --- /me/ -------------------------------------------------------------------------------------------------


def test_me_by_session_lists_every_membership(host, tenant, other_tenant):
    MembershipFactory(user=host, tenant=other_tenant, role=Membership.Role.MEMBER)
    body = session_client(host).get("/api/v1/me/").json()
    assert body["id"] == str(host.public_id)
    assert body["display_name"] == host.get_display_name()
    assert body["memberships"] == [
        {"tenant": "eth", "tenant_name": "ETH Zurich", "role": "member"},
        {"tenant": "uzh", "tenant_name": "University of Zurich", "role": "host"},
    ]
    assert body["auth"]["method"] == "session"


def test_me_by_token_shows_only_the_tokens_tenant(host, tenant, other_tenant):
    MembershipFactory(user=host, tenant=other_tenant, role=Membership.Role.MEMBER)
    body = bearer_client(token_for(host, tenant)).get("/api/v1/me/").json()
    assert [m["tenant"] for m in body["memberships"]] == ["uzh"]


def test_me_refuses_other_methods_with_405_json(host, tenant):
    assert_error(bearer_client(token_for(host, tenant)).post("/api/v1/me/", {}), 405, "method_not_allowed")


# --- tokens endpoints ---------------------------------------------------------------------------------------


def test_create_token_answers_the_secret_once(host, tenant):
    client = session_client(host)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "Moodle", "scopes": ["rooms:read", "join"], "expires_in_days": 30},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token"].startswith(f"aud_{body['prefix']}_")
    assert body["tenant"] == "uzh"
    assert body["scopes"] == ["join", "rooms:read"]
    # The secret works, and is never shown again.
    assert bearer_client(body["token"]).get("/api/v1/me/").status_code == 200
    listed = client.get("/api/v1/tokens/").json()
    assert listed["count"] == 1 and "token" not in listed["results"][0]
    assert "token" not in client.get(f"/api/v1/tokens/{body['prefix']}/").json()
    assert body["token"] not in str(AuditEntry.objects.values_list("data", flat=True))


def test_create_token_refuses_scopes_beyond_the_role(member, tenant):
    response = session_client(member).post(
        "/api/v1/tokens/", {"name": "x", "scopes": ["rooms:write"]}, format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert "rooms:write" in error["fields"]["scopes"][0]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": ["join"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["everything"]}, "scopes.0"),
        ({"name": "x", "scopes": ["join"], "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "scopes": ["join"], "expires_in_days": 5000}, "expires_in_days"),
        ({"name": "x" * 101, "scopes": ["join"]}, "name"),
        ({"name": "x", "scopes": "join"}, "scopes"),
    ],
)
def test_create_token_bad_input_names_the_field(host, tenant, payload, field):
    error = assert_error(session_client(host).post("/api/v1/tokens/", payload, format="json"), 400, "invalid")
    assert field in error["fields"], error
    assert not ApiToken.objects.exists()


def test_create_token_ignores_user_tenant_and_hash_in_the_payload(host, tenant, other_tenant, outsider):
    payload = {
        "name": "x",
        "scopes": ["join"],
        "user": outsider.pk,
        "tenant": "eth",
        "secret_hash": "0" * 64,
        "prefix": "aaaaaaaaaa",
        "revoked_at": None,
        "expires_at": "2099-01-01T00:00:00Z",
    }
    body = session_client(host).post("/api/v1/tokens/", payload, format="json").json()
    token = ApiToken.objects.get(prefix=body["prefix"])
    assert (token.user, token.tenant.slug) == (host, "uzh")
    assert token.prefix != "aaaaaaaaaa" and token.secret_hash != "0" * 64
    assert token.expires_at < timezone.now() + timedelta(days=100)


def test_session_with_several_memberships_must_name_the_tenant(host, tenant, other_tenant):
    MembershipFactory(user=host, tenant=other_tenant, role=Membership.Role.HOST)
    client = session_client(host)
    payload = {"name": "x", "scopes": ["join"]}
    error = assert_error(client.post("/api/v1/tokens/", payload, format="json"), 400, "tenant_required")
    assert "tenant" in error["fields"]
    response = client.post("/api/v1/tokens/", payload, format="json", HTTP_X_TENANT="eth")
    assert response.status_code == 201 and response.json()["tenant"] == "eth"
    response = client.post("/api/v1/tokens/?tenant=uzh", payload, format="json")
    assert response.status_code == 201 and response.json()["tenant"] == "uzh"


def test_session_naming_a_foreign_tenant_gets_404(host, tenant, other_tenant):
    response = session_client(host).post(
        "/api/v1/tokens/", {"name": "x", "scopes": ["join"]}, format="json", HTTP_X_TENANT="eth"
    )
    assert_error(response, 404, "tenant_not_found")


def test_tokens_cannot_manage_tokens(host, tenant):
    issued = issue_token(
        actor=host, tenant=tenant, name="x", scopes=["rooms:read", "rooms:write"], lifetime_days=9
    )
    client = bearer_client(issued.plaintext)
    for response in (
        client.get("/api/v1/tokens/"),
        client.post("/api/v1/tokens/", {"name": "y", "scopes": ["join"]}, format="json"),
        client.get(f"/api/v1/tokens/{issued.token.prefix}/"),
        client.delete(f"/api/v1/tokens/{issued.token.prefix}/"),
    ):
        error = assert_error(response, 403, "session_required")
        assert "Sign in" in error["message"]
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tokens/"),
        ("post", "/api/v1/tokens/"),
        ("get", "/api/v1/tokens/abc/"),
        ("delete", "/api/v1/tokens/abc/"),
    ],
)
def test_tokens_endpoints_refuse_anonymous(db, method, path):
    assert_error(getattr(APIClient(), method)(path), 401, "not_authenticated")


def test_others_tokens_are_404(host, member, outsider, tenant, other_tenant):
    mine = issue_token(actor=host, tenant=tenant, name="mine", scopes=["join"], lifetime_days=9).token
    for person in (member, outsider):
        client = session_client(person)
        assert_error(client.get(f"/api/v1/tokens/{mine.prefix}/"), 404)
        assert_error(client.delete(f"/api/v1/tokens/{mine.prefix}/"), 404)
        assert client.get("/api/v1/tokens/").json()["count"] == 0
    mine.refresh_from_db()
    assert mine.revoked_at is None


def test_token_list_query_count_is_pinned(host, tenant, django_assert_num_queries):
    for n in range(5):
        issue_token(actor=host, tenant=tenant, name=f"t{n}", scopes=["join"], lifetime_days=9)
    client = session_client(host)
    client.get("/api/v1/tokens/")  # warm caches (host map)
    # count, tokens with their tenant (session and user come from the caches)
    with django_assert_num_queries(2):
        body = client.get("/api/v1/tokens/").json()
    assert body["count"] == 5


# --- the tokens page ----------------------------------------------------------------------------------------


def test_tokens_page_creates_lists_and_revokes(host, tenant):
    client = session_client(host)
    page = client.get("/uzh/settings/tokens/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="rooms:write"' in html and 'value="admin"' not in html  # only the role's scopes
    response = client.post(
        "/uzh/settings/tokens/", {"name": "Moodle", "scopes": ["rooms:read", "join"], "expires_in_days": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    html = response.content.decode()
    assert "shown only this once" in html
    secret = html.split('data-testid="token-secret">')[1].split("<")[0]
    assert secret.startswith(f"aud_{token.prefix}_")
    assert bearer_client(secret).get("/api/v1/me/").status_code == 200
    # Listed without the secret afterwards.
    html = client.get("/uzh/settings/tokens/").content.decode()
    assert "Moodle" in html and secret not in html
    response = client.post(f"/uzh/settings/tokens/{token.prefix}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_error(bearer_client(secret).get("/api/v1/me/"), 401, "token_revoked")


def test_tokens_page_refuses_scopes_beyond_the_role(member, tenant):
    response = session_client(member).post(
        "/uzh/settings/tokens/", {"name": "x", "scopes": ["rooms:write"], "expires_in_days": "30"}
    )
    assert response.status_code == 200
    assert "not one of the available choices" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_tokens_page_needs_membership(outsider, host, tenant, other_tenant):
    assert session_client(outsider).get("/uzh/settings/tokens/").status_code == 404  # outsiders learn nothing
    assert APIClient().get("/uzh/settings/tokens/").status_code == 302  # to sign-in
    mine = issue_token(actor=host, tenant=tenant, name="mine", scopes=["join"], lifetime_days=9).token
    # Another person (even an admin elsewhere) cannot revoke it.
    other = MembershipFactory(tenant=tenant, user=UserFactory(username="someone")).user
    assert session_client(other).post(f"/uzh/settings/tokens/{mine.prefix}/revoke/").status_code == 404
    mine.refresh_from_db()
    assert mine.revoked_at is None


def test_session_on_a_tenants_own_host_acts_in_that_tenant(settings, host, tenant, other_tenant):
    from tenants.middleware import forget_hosts
    from tenants.models import TenantHost

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "meet.eth.example.org"]
    MembershipFactory(user=host, tenant=other_tenant, role=Membership.Role.HOST)
    TenantHost.objects.create(tenant=other_tenant, host="meet.eth.example.org")
    forget_hosts()
    client = session_client(host)
    payload = {"name": "x", "scopes": ["join"]}
    try:
        response = client.post("/api/v1/tokens/", payload, format="json", HTTP_HOST="meet.eth.example.org")
        assert response.status_code == 201 and response.json()["tenant"] == "eth"
        # The header still wins over the host name.
        response = client.post(
            "/api/v1/tokens/", payload, format="json", HTTP_HOST="meet.eth.example.org", HTTP_X_TENANT="uzh"
        )
        assert response.json()["tenant"] == "uzh"
    finally:
        forget_hosts()


def test_member_of_no_tenant_is_told_so(db):
    error = assert_error(
        session_client(UserFactory(username="nobody")).get("/api/v1/rooms/"), 403, "not_a_member"
    )
    assert "not a member" in error["message"]


@pytest.mark.parametrize(
    ("actor", "scopes"),
    [
        ("member", ["join", "rooms:read"]),
        ("host", ["join", "rooms:read", "rooms:write"]),
        ("admin_user", ["admin", "join", "rooms:read", "rooms:write"]),
    ],
)
def test_every_role_manages_its_own_tokens_up_to_its_scopes(request, tenant, actor, scopes):
    person = request.getfixturevalue(actor)
    client = session_client(person)
    assert client.get("/api/v1/me/").json()["memberships"][0]["tenant"] == "uzh"
    created = client.post("/api/v1/tokens/", {"name": "all", "scopes": scopes}, format="json")
    assert created.status_code == 201 and created.json()["scopes"] == scopes
    me = bearer_client(created.json()["token"]).get("/api/v1/me/").json()
    assert me["auth"]["scopes"] == scopes
    prefix = created.json()["prefix"]
    assert client.get("/api/v1/tokens/").json()["results"][0]["prefix"] == prefix
    assert client.get(f"/api/v1/tokens/{prefix}/").json()["is_active"] is True
    assert client.delete(f"/api/v1/tokens/{prefix}/").status_code == 204
    assert client.get(f"/api/v1/tokens/{prefix}/").json()["is_active"] is False
    assert client.delete(f"/api/v1/tokens/{prefix}/").status_code == 204  # revoking twice is harmless
    assert AuditEntry.objects.filter(action="api_token.revoked", actor=person).count() == 1


def test_token_scope_permission_for_cross_tenant_endpoints(host, tenant):
    """The building block the join endpoint uses: tokens need the scope, sessions are left to the view."""
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.views import APIView

    from tenants.api.permissions import token_scope

    class Probe(APIView):
        permission_classes = [IsAuthenticated, token_scope(ApiToken.Scope.JOIN)]

        def post(self, request):
            return Response({"ok": True})

    factory = APIRequestFactory()
    view = Probe.as_view()
    with_join = issue_token(actor=host, tenant=tenant, name="j", scopes=["join"], lifetime_days=1)
    without = issue_token(actor=host, tenant=tenant, name="r", scopes=["rooms:read"], lifetime_days=1)
    assert view(factory.post("/", HTTP_AUTHORIZATION=f"Bearer {with_join.plaintext}")).status_code == 200
    refused = view(factory.post("/", HTTP_AUTHORIZATION=f"Bearer {without.plaintext}"))
    refused.render()
    assert_error(refused, 403, "missing_scope")
    request = factory.post("/")
    force_authenticate(request, user=host)
    assert view(request).status_code == 200
    anonymous = view(factory.post("/"))
    anonymous.render()
    assert_error(anonymous, 401, "not_authenticated")
