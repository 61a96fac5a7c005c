"""Settings for auditorium, read from environment variables (documented in .env.example and the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=1 (see .env.example)")
    SECRET_KEY = "insecure-development-key-only-for-debug-runs"  # noqa: S105 - only reachable with DEBUG on

# Seals secrets stored in the database (HS256 app secrets, event secrets, signing keys). Falls back to a key
# derived from SECRET_KEY so that a development run needs nothing; production should set its own.
FIELD_ENCRYPTION_KEY = env_secret("FIELD_ENCRYPTION_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "portal.apps.OperatorAdminConfig",  # django.contrib.admin, for operators only (portal/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "djangosaml2",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "portal.apps.PortalConfig",
    "tenants",
    "meetings",
    "meetings.recordings",
    "meetings.streams.apps.StreamsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.csp.ContentSecurityPolicyMiddleware",  # every response, pages and errors of later middleware too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.saml_middleware.SecureSamlSessionMiddleware",  # djangosaml2's, with a Secure cookie
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.TenantMiddleware",
    "tenants.language.LanguageMiddleware",  # after TenantMiddleware: the tenant's default language
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL, or an embedded SQLite file for trying it out.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Connections per server process are bounded by a psycopg pool (DB_POOL_MAX_SIZE, default 8): under
    # Daphne every request runs its sync view in a new thread, and persistent per-thread connections
    # (CONN_MAX_AGE > 0) piled up until PostgreSQL refused clients (94 from one process in the benchmark).
    # The pool hands a connection back at the end of each request, whatever the server. DB_POOL_MAX_SIZE=0
    # switches it off (e.g. behind PgBouncer); then DB_CONN_MAX_AGE applies (default 0: one per request).
    # No health-check query per request (it cost a SELECT 1 on every join); DB_HEALTH_CHECKS=1 turns it on.
    # An outage is a fast 503 (portal/database/): the ENGINE refuses new connections at once while PostgreSQL
    # is known to be unreachable, and drops pooled connections that died while idle (a restart) unseen.
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 8)
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=0 if DB_POOL_MAX_SIZE else env_int("DB_CONN_MAX_AGE", 0),
            conn_health_checks=env_bool("DB_HEALTH_CHECKS", False),
        )
    }
    DATABASES["default"]["ENGINE"] = "portal.database"  # Django's postgresql backend, subclassed
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # libpq waits forever for an unreachable host by default; 2 s is the least it accepts.
    options.setdefault("connect_timeout", max(2, env_int("DB_CONNECT_TIMEOUT", 2)))
    if DB_POOL_MAX_SIZE:
        options["pool"] = {
            "min_size": min(env_int("DB_POOL_MIN_SIZE", 1), DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            # Seconds a request waits for a free connection: only a pool that is busy or has just lost its
            # server makes anyone wait; an outage already known is refused without waiting.
            "timeout": env_float("DB_POOL_TIMEOUT", 1.0),
            # The pool's reconnection attempts (1 s apart) give up after this, so that once PostgreSQL is back
            # a request's demand connects at once instead of waiting out a backoff grown to minutes.
            "reconnect_timeout": 1.0,
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "auditorium.sqlite3")}
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Background jobs (recordings): Procrastinate on PostgreSQL, enqueued in the same transaction; with the
# embedded SQLite database (make run) jobs run in the process right after the commit instead.
RECORDINGS_JOBS = env_str("RECORDINGS_JOBS", "procrastinate" if DATABASE_URL else "inline")
if RECORDINGS_JOBS == "procrastinate":
    INSTALLED_APPS.append("procrastinate.contrib.django")
# A job whose worker sent no heartbeat for this long (killed, host lost) is run again by another worker.
RECORDINGS_STALLED_SECONDS = env_int("RECORDINGS_STALLED_SECONDS", 60)
# How often a worker looks for such jobs (croniter's six fields, the last one seconds).
RECORDINGS_STALLED_CRON = env_str("RECORDINGS_STALLED_CRON", "* * * * * */30")
# The worker sends a heartbeat this often (seconds); keep it well below RECORDINGS_STALLED_SECONDS.
PROCRASTINATE_WORKER_DEFAULTS = {"update_heartbeat_interval": env_int("RECORDINGS_HEARTBEAT_SECONDS", 10)}

# Channel layer and cache: Redis from REDIS_URL (shared by every server process), else in-process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_PREFIX", "auditorium")},
        }
    }
    CACHES = {
        "default": {
            # Django's, reusing one redis client per pool, plus a one-round-trip counter for rate limits.
            "BACKEND": "portal.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "auditorium"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Redis is an accelerator (portal/redis_access.py; README "What happens when Redis is down"): connect and read
# timeouts in seconds, how long a process stops trying after a failure, and how long it keeps its own copies
# of database rows (sessions, hot-cache tokens) while Redis is unreachable.
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 0.2)
REDIS_BREAKER_SECONDS = env_float("REDIS_BREAKER_SECONDS", 1.0)
REDIS_FALLBACK_TTL = env_float("REDIS_FALLBACK_TTL", 5.0)

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    # ModelBackend with the per-request user lookup served from process memory (tenants/hotcache.py).
    "tenants.hotcache.CachedModelBackend",
    "tenants.identity.SamlIdentityBackend",
    # Sessions signed in before the cached backend existed name this one; they stay valid.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/saml2/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Zurich"
USE_I18N = True
USE_TZ = True
# The header's language switcher remembers a guest's choice for a year (tenants/language.py has the order).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
# One style of dates and times per language, 24-hour clock everywhere (portal/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed files from collectstatic; development and tests serve the tree.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Without the manifest nothing is collected, and whitenoise would warn about a missing STATIC_ROOT.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))) if STATIC_MANIFEST else None
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# Recordings (meetings/recordings, README "Recordings"). Where partial tus uploads wait (shared between the
# web processes that receive them and the worker), and the storage the finished files go to.
RECORDINGS_UPLOAD_DIR = Path(env_str("RECORDINGS_UPLOAD_DIR", str(VAR_DIR / "recording-uploads")))
RECORDINGS_STORAGE = env_str("RECORDINGS_STORAGE", "filesystem")  # or "s3"
RECORDINGS_ROOT = Path(env_str("RECORDINGS_ROOT", str(VAR_DIR / "recordings")))
RECORDINGS_S3_BUCKET = env_str("RECORDINGS_S3_BUCKET")
RECORDINGS_S3_ENDPOINT_URL = env_str("RECORDINGS_S3_ENDPOINT_URL")
RECORDINGS_S3_REGION = env_str("RECORDINGS_S3_REGION", "us-east-1")
RECORDINGS_S3_ACCESS_KEY_ID = env_secret("RECORDINGS_S3_ACCESS_KEY_ID")
RECORDINGS_S3_SECRET_ACCESS_KEY = env_secret("RECORDINGS_S3_SECRET_ACCESS_KEY")
if RECORDINGS_STORAGE == "s3":
    STORAGES["recordings"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RECORDINGS_S3_BUCKET,
            "endpoint_url": RECORDINGS_S3_ENDPOINT_URL or None,
            "region_name": RECORDINGS_S3_REGION,
            "access_key": RECORDINGS_S3_ACCESS_KEY_ID or None,
            "secret_key": RECORDINGS_S3_SECRET_ACCESS_KEY or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["recordings"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(RECORDINGS_ROOT), "base_url": None},
    }
# Playback and download links live this long (S3 presigned URLs, or the portal's signed stream view).
RECORDINGS_URL_SECONDS = env_int("RECORDINGS_URL_SECONDS", 6 * 3600)
RECORDINGS_MAX_BYTES = env_int("RECORDINGS_MAX_BYTES", 20 * 1024**3)
# The longest retention any tenant may choose (days); a tenant's own setting and "keep until" stay below it.
RECORDINGS_MAX_RETENTION_DAYS = env_int("RECORDINGS_MAX_RETENTION_DAYS", 3 * 365)
FFMPEG_BINARY = env_str("FFMPEG_BINARY", "/usr/bin/ffmpeg")
FFPROBE_BINARY = env_str("FFPROBE_BINARY", "/usr/bin/ffprobe")

# Uploads above this size are refused before they reach a form (branding images are at most 2 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Cookies and transport security. Behind a TLS-terminating proxy set SECURE_PROXY=1.
SECURE = env_bool("SECURE", not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if env_bool("SECURE_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# SAML (djangosaml2). The SP configuration is built in tenants/saml_config.py and cached per process.
SAML_CONFIG_LOADER = "tenants.saml_config.load_config"
SAML_SESSION_COOKIE_NAME = "saml_session"
# The SAML session cookie crosses a cross-site POST from the IdP: it must be SameSite=None and Secure.
SAML_SESSION_COOKIE_SAMESITE = "None"
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SAML_ATTRIBUTE_MAPPING: dict[str, tuple[str, ...]] = {}  # the identity backend reads attributes itself
SAML_CREATE_UNKNOWN_USER = True
SAML_IGNORE_LOGOUT_ERRORS = True
# Content-Security-Policy is set by the portal itself (and the reverse proxy), not through django-csp.
SAML_CSP_HANDLER = ""
SAML_ACS_FAILURE_RESPONSE_FUNCTION = "tenants.identity_views.acs_failure"
SAML2_DISCO_URL = env_str("SAML_DISCO_URL")
SAML_ENTITY_ID = env_str("SAML_ENTITY_ID", f"{PUBLIC_URL}/saml2/metadata/")
SAML_KEY_FILE = env_str("SAML_KEY_FILE")
SAML_CERT_FILE = env_str("SAML_CERT_FILE")
# Key rollover (manage.py saml_keys): the staged next pair (default: sp.next.key beside SAML_KEY_FILE) and
# how long the previous key still decrypts after `saml_keys promote`.
SAML_NEXT_KEY_FILE = env_str("SAML_NEXT_KEY_FILE")
SAML_NEXT_CERT_FILE = env_str("SAML_NEXT_CERT_FILE")
SAML_KEY_GRACE_DAYS = env_int("SAML_KEY_GRACE_DAYS", 14)
SAML_METADATA_FILES = env_list("SAML_METADATA_FILES")
SAML_FEDERATION_CERT_FILE = env_str("SAML_FEDERATION_CERT_FILE")
XMLSEC_BINARY = env_str("XMLSEC_BINARY", "/usr/bin/xmlsec1")
# How sign-in checks signatures and decrypts: "inprocess" (libxmlsec1 through the xmlsec binding) or "xmlsec1"
# (pysaml2's subprocesses). See portal/adapters/pysaml2.py.
SAML_CRYPTO = env_str("SAML_CRYPTO", "inprocess")
# Named on refusal pages ("If you think this is wrong, contact ...").
SAML_SUPPORT_CONTACT = env_str("SAML_SUPPORT_CONTACT")
# The service's name in the SP metadata (md:ServiceName), shown by IdPs and discovery services.
SAML_SERVICE_NAME = env_str("SAML_SERVICE_NAME", "auditorium")
# Where import_federation_metadata writes the verified aggregate (default: first SAML_METADATA_FILES entry).
SAML_FEDERATION_METADATA_FILE = env_str(
    "SAML_FEDERATION_METADATA_FILE", SAML_METADATA_FILES[0] if SAML_METADATA_FILES else ""
)

# The bundled development IdP: only with PORTAL_DEV_IDP=1 (make run), and only in a debug run: it signs in
# anyone as anyone, so a production process (DEBUG off) refuses to start with it.
PORTAL_DEV_IDP = env_bool("PORTAL_DEV_IDP", False)
if PORTAL_DEV_IDP and not DEBUG:
    raise ImproperlyConfigured(
        "PORTAL_DEV_IDP=1 mounts the development IdP, which signs in anyone as anyone; it runs only with "
        "DEBUG=1. Unset PORTAL_DEV_IDP in production."
    )

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token first: its WWW-Authenticate header makes anonymous requests answer 401, not 403.
        "tenants.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with JSON nested too deeply answered as 400 (tenants/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "tenants.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.Pagination",  # limit/offset, with a ceiling
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenants.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.api.throttling.AddressRateThrottle",
        "tenants.api.throttling.TokenRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "address": env_str("API_RATE_PER_ADDRESS", "1200/min"),
        "token": env_str("API_RATE_PER_TOKEN", "600/min"),
        "token_failure": env_str("API_RATE_TOKEN_FAILURES", "30/min"),
    },
    # How many reverse proxies put the client address into X-Forwarded-For (0: use REMOTE_ADDR).
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "auditorium API",
    "DESCRIPTION": "Rooms, lectures and joining Jitsi meetings at your institution.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send the schema to validator.swagger.io for its badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenants.api.schema.document_errors",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # pysaml2's and djangosaml2's DEBUG and INFO records never pass (they quote assertions and attributes);
    # their warnings pass with non-plain arguments withheld (tenants/saml_logging.py, installed at startup).
    "loggers": {
        "saml2": {"level": env_str("SAML_LOG_LEVEL", "WARNING")},
        "procrastinate": {"level": env_str("PROCRASTINATE_LOG_LEVEL", "WARNING")},
        # Requests answered 503 while PostgreSQL is away: a warning line each, without a traceback.
        "django.request": {"filters": ["database_outage"]},
    },
    "filters": {"database_outage": {"()": "portal.errors.QuietDatabaseOutage"}},
}

# Joining meetings (meetings/joining.py, tenants/keys.py, meetings/anonymous.py).
# Join tokens live until the meeting's end plus a grace period, and never longer than JOIN_TOKEN_MAX_SECONDS.
JOIN_TOKEN_GRACE_SECONDS = env_int("JOIN_TOKEN_GRACE_SECONDS", 15 * 60)
# The join API's one-round-trip path for signed-in browsers (meetings/api/quick_join.py); 0 sends every join
# through DRF (same answers, about twice the CPU).
JOIN_QUICK_PATH = env_bool("JOIN_QUICK_PATH", True)
JOIN_TOKEN_MAX_SECONDS = env_int("JOIN_TOKEN_MAX_SECONDS", 4 * 3600)
# A retired RS256 key stays served this long; it must exceed JOIN_TOKEN_MAX_SECONDS.
SIGNING_KEY_GRACE_SECONDS = env_int("SIGNING_KEY_GRACE_SECONDS", 24 * 3600)
# Anonymous meetings at /new/: the tenant they belong to, and when an idle one expires.
ANONYMOUS_TENANT = env_str("ANONYMOUS_TENANT", "demo")
ANONYMOUS_ROOM_IDLE_HOURS = env_int("ANONYMOUS_ROOM_IDLE_HOURS", 24)
# Fixed-window rate limits per client address ("count/seconds"), counted in the cache (Redis when shared).
RATE_LIMIT_ANONYMOUS_CREATE = env_str("RATE_LIMIT_ANONYMOUS_CREATE", "10/3600")
RATE_LIMIT_ANONYMOUS_JOIN = env_str("RATE_LIMIT_ANONYMOUS_JOIN", "60/60")
# Wrong access codes, on the join page and the API together: per room and client address, and per room
# (whoever tries). Past either, every code for the room is refused (429) until its window ends, right or not.
RATE_LIMIT_ACCESS_CODE_ADDRESS = env_str("RATE_LIMIT_ACCESS_CODE_ADDRESS", "5/60")
RATE_LIMIT_ACCESS_CODE_ROOM = env_str("RATE_LIMIT_ACCESS_CODE_ROOM", "50/3600")
# The request header carrying the client address when a proxy sits in front (e.g. HTTP_X_REAL_IP).
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "")
# Serve /bench/bare (a view without database, the benchmark's baseline); on with DEBUG.
BENCH_VIEWS = env_bool("BENCH_VIEWS", DEBUG)
# A query on a tenant-owned model outside a tenant scope raises (tenants/scoping.py); off: logged, answered.
TENANT_SCOPES_STRICT = env_bool("TENANT_SCOPES_STRICT", DEBUG)
# Sessions: "django.contrib.sessions.backends.cached_db" reads them from the cache (Redis) and saves a
# database round trip on every signed-in request, joins included.
# With Redis the default is cached_db: sessions (SAML session data included) stay in the database and are read
# from Redis, one round trip instead of a query on every signed-in request.
SESSION_ENGINE = env_str(
    "SESSION_ENGINE",
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db",
)

# Live streams (meetings/streams, README "Live streams"): the RTMP address Jibri publishes to (the stream's
# path
# and `?key=<secret>` are appended), where nginx serves HLS (same site: the viewing pass is a cookie), how
# long a
# viewing pass lasts, and how many seconds a process keeps a stream's access rules before reading them again.
STREAM_RTMP_URL = env_str("STREAM_RTMP_URL", "rtmp://127.0.0.1:1935/live")
STREAM_HLS_URL = env_str("STREAM_HLS_URL", "/hls/")
STREAM_PASS_SECONDS = env_int("STREAM_PASS_SECONDS", 6 * 3600)
STREAM_RULES_SECONDS = env_int("STREAM_RULES_SECONDS", 5)
