"""The Prosody configuration that makes a Jitsi deployment work with auditorium (CONTRACTS §1, §2)."""

from __future__ import annotations

from tenants.models import JitsiDeployment

HIDDEN = "<hidden: run without --no-secrets>"


def lua_string(value: str) -> str:
    """A Lua string literal; secrets are URL-safe, but names and URLs come from operators."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def prosody_configuration(deployment: JitsiDeployment, *, public_url: str, with_secrets: bool = True) -> str:
    """Lua for /etc/prosody/conf.d/<domain>.cfg.lua: token authentication with this deployment's rules, the
    affiliation module (moderators from the token), event_sync posting to auditorium, and mod_muc_size."""
    domain = deployment.xmpp_domain
    portal = f"{public_url.rstrip('/')}/jitsi/{deployment.slug}"
    secret = deployment.event_secret if with_secrets else HIDDEN
    lines = [
        f"-- auditorium: tenant {deployment.tenant.slug}, deployment {deployment.slug}.",
        "-- Merge into the VirtualHost and components of your Jitsi Prosody configuration; keep your other",
        "-- settings, and add the modules below to the existing modules_enabled lists.",
        "",
        f"VirtualHost {lua_string(domain)}",
        '    authentication = "token"',
        f"    app_id = {lua_string(deployment.app_id)}",
    ]
    if deployment.algorithm == JitsiDeployment.Algorithm.HS256:
        app_secret = deployment.app_secret if with_secrets else HIDDEN
        lines.append(f"    app_secret = {lua_string(app_secret)}")
    else:
        lines.append(f"    asap_key_server = {lua_string(f'{portal}/asap')}")
    lines += [
        f"    asap_accepted_issuers = {{ {lua_string(deployment.app_id)} }}",
        f"    asap_accepted_audiences = {{ {lua_string(deployment.audience)} }}",
        "    allow_empty_token = false",
        "    -- room sizes for `manage.py reconcile_counts` (GET /room-size on Prosody's HTTP port)",
        '    modules_enabled = { "muc_size" }',
        "",
        f'Component {lua_string(f"conference.{domain}")} "muc"',
        "    -- token_verification checks the room claim; token_affiliation makes hosts moderators",
        '    modules_enabled = { "token_verification", "token_affiliation" }',
        "",
        f'Component {lua_string(f"event_sync.{domain}")} "event_sync_component"',
        f"    muc_component = {lua_string(f'conference.{domain}')}",
        f"    api_prefix = {lua_string(portal)}",
        f'    api_headers = {{ ["Authorization"] = {lua_string(f"Bearer {secret}")} }}',
        "    -- auditorium answers 503 while its database is away: retry those, and timeouts",
        "    api_should_retry_for_code = function (code) return code >= 500 or code == 408 end",
    ]
    if deployment.tenant_path:
        lines += [
            "",
            f"-- Rooms live under /{deployment.tenant_path}/ (token sub {deployment.tenant_path!r}), so",
            "-- Prosody needs the tenant-path (muc_domain_mapper) setup of your Jitsi installation.",
        ]
    lines += [
        "",
        "-- Jitsi Meet's config.js (branding served by auditorium):",
        f"--   dynamicBrandingUrl: '{portal}/branding.json',",
    ]
    if not deployment.room_api_url:
        lines.append(
            "-- auditorium has no room API URL for this deployment: `reconcile_counts` cannot ask Prosody."
        )
    return "\n".join(lines) + "\n"
