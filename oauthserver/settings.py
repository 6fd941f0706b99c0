"""Settings for the authorization server: the only module that reads the environment."""

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Files of this host's processes: the SQLite database, the generated SECRET_KEY, and the stamp files
# by which one worker tells the others of a revocation or a key rotation at once. Every process of
# one host must share it (docs/configuration.md).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _secret_key() -> str:
    """Read SECRET_KEY, or generate it once into var/secret_key (never committed)."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Earlier SECRET_KEYs, comma-separated, while a rotation is under way: they still verify sessions
# and still decrypt the signing keys when OAUTH_KEY_ENCRYPTION_KEY is unset (docs/security.md, "Rotating SECRET_KEY").
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "oauthserver.admin_site.GuardedAdminConfig",  # django.contrib.admin, secret columns guarded
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "clients",
    "tokens",
    "audit",
    "api",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

WSGI_APPLICATION = "oauthserver.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is the zero-configuration default. WAL lets readers run beside the one writer, the busy
# timeout makes concurrent writers wait instead of failing with "database is locked", and
# IMMEDIATE transactions take the write lock up front so a read-then-write cannot deadlock.
# Connections persist across requests on every engine: opening one per request (and, for SQLite,
# checkpointing the WAL as the last connection closes) was half the cost of a token request.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # true: a persistent connection is checked (SELECT 1) before its first use in each request,
    # so a restarted database costs no failed request, at one more round trip on every request.
    # Off (Django's default): after a restart each worker answers one request 503
    # temporarily_unavailable (OAuth endpoints) and then reconnects.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "oauthserver",
            # A Redis that hangs costs a request this long at most (cluster/shared_cache.py), not forever.
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/portal/login/"
LOGIN_REDIRECT_URL = "/portal/"
LOGOUT_REDIRECT_URL = "/portal/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # RFC 9110 §12.5.1 q-values, the same rule as the OAuth endpoints, and no 406.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tokens.negotiation.QualityContentNegotiation",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "tokens.exceptions.handle_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OAuth 2.0 authorization server",
    "DESCRIPTION": "Client credentials grant (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009). "
    "The paths are the default realm's; every other realm serves the same endpoints and documents under "
    "/realms/{realm}/ (its metadata also at /.well-known/oauth-authorization-server/realms/{realm}).",
    "PREPROCESSING_HOOKS": ["tokens.openapi.only_default_realm_paths"],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "tokens.openapi.add_plain_views"],
}

# OAuth (names and defaults as in CONTRACT.md).
# make run passes SERVE_ORIGIN (from HOST/PORT) so a moved dev server names itself correctly.
OAUTH_ISSUER = env.str("OAUTH_ISSUER", default=env.str("SERVE_ORIGIN", default="http://127.0.0.1:8000")).rstrip("/")
OAUTH_AUDIENCE = env.str("OAUTH_AUDIENCE", default=OAUTH_ISSUER)
# aud of sandbox tokens; empty means OAUTH_AUDIENCE + "/sandbox". Never the same as OAUTH_AUDIENCE.
OAUTH_SANDBOX_AUDIENCE = env.str("OAUTH_SANDBOX_AUDIENCE", default="")
OAUTH_ACCESS_TOKEN_LIFETIME = env.int("OAUTH_ACCESS_TOKEN_LIFETIME", default=3600)
OAUTH_MAX_ACCESS_TOKEN_LIFETIME = env.int("OAUTH_MAX_ACCESS_TOKEN_LIFETIME", default=86400)
OAUTH_DEFAULT_TOKEN_FORMAT = env.str("OAUTH_DEFAULT_TOKEN_FORMAT", default="jwt")
OAUTH_JWT_ALGORITHM = env.str("OAUTH_JWT_ALGORITHM", default="RS256")
OAUTH_CLIENT_CREDENTIALS_ENABLED = env.bool("OAUTH_CLIENT_CREDENTIALS_ENABLED", default=True)
# Largest request body the OAuth endpoints read; anything larger is refused with 413 unread.
OAUTH_MAX_REQUEST_BYTES = env.int("OAUTH_MAX_REQUEST_BYTES", default=8192)
# How long a process trusts its in-memory copy of the signing keys before re-reading them.
OAUTH_KEY_CACHE_SECONDS = env.int("OAUTH_KEY_CACHE_SECONDS", default=30)
# How long a process trusts what it read of clients and of revoked tokens: without a shared cache
# (no REDIS_URL), the bound on a revocation reaching another host (tokens/caches.py, clients/registry.py).
OAUTH_TOKEN_STATE_CACHE_SECONDS = env.int("OAUTH_TOKEN_STATE_CACHE_SECONDS", default=30)
# With Redis: how often each process asks it whether any token was revoked since; the bound on a
# revocation reaching the other processes and instances (cluster/announcements.py). 0: ask every time.
OAUTH_REVOCATION_POLL_SECONDS = env.float("OAUTH_REVOCATION_POLL_SECONDS", default=1.0)

# Abuse resistance (docs/security.md). This many failed client authentications per client id or
# per source address within the window lock it out for the window: further wrong credentials get
# 429 with Retry-After, right ones still pass. Sign-ins count per (username, address), and per
# address up to OAUTH_SIGN_IN_ADDRESS_THRESHOLD; a locked sign-in is refused before the password
# is checked. 0 switches a lockout off.
OAUTH_LOCKOUT_THRESHOLD = env.int("OAUTH_LOCKOUT_THRESHOLD", default=10)
OAUTH_LOCKOUT_WINDOW = env.int("OAUTH_LOCKOUT_WINDOW", default=300)
OAUTH_SIGN_IN_ADDRESS_THRESHOLD = env.int("OAUTH_SIGN_IN_ADDRESS_THRESHOLD", default=5 * OAUTH_LOCKOUT_THRESHOLD)
# Tokens one client id may obtain per period, e.g. "100/minute"; empty (the default) means no limit.
OAUTH_TOKEN_RATE_LIMIT = env.str("OAUTH_TOKEN_RATE_LIMIT", default="")
# Live secrets one key pair may hold at once, while regenerations' grace periods run.
OAUTH_MAX_LIVE_SECRETS = env.int("OAUTH_MAX_LIVE_SECRETS", default=5)
# Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed; by default none: REMOTE_ADDR.
OAUTH_TRUSTED_PROXIES = env.list("OAUTH_TRUSTED_PROXIES", default=[])
# true: an audit row per issued token. By default issuance is logged (a JSON line on stdout) and
# counted per minute (tokens.usage), and a JWT request writes nothing.
OAUTH_AUDIT_TOKEN_ISSUANCE = env.bool("OAUTH_AUDIT_TOKEN_ISSUANCE", default=False)
# Seconds between two flushes of each process's issuance counts to the database; 0: every token.
OAUTH_USAGE_FLUSH_SECONDS = env.float("OAUTH_USAGE_FLUSH_SECONDS", default=5.0)
# Fernet keys (comma-separated, the first encrypts) for the signing keys at rest; derived from
# SECRET_KEY when unset.
OAUTH_KEY_ENCRYPTION_KEY = env.list("OAUTH_KEY_ENCRYPTION_KEY", default=[])

# /bench/ceiling, the benchmark's reference view: on only for the servers make bench starts.
BENCH_CEILING = env.bool("BENCH_CEILING", default=False)
# Its URLs: the project's, plus /bench/ceiling only then (oauthserver/bench_urls.py).
ROOT_URLCONF = "oauthserver.bench_urls" if BENCH_CEILING else "oauthserver.urls"

# Forms outside the OAuth endpoints (portal, admin): Django refuses larger bodies before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# HTTP hardening. nosniff, X-Frame-Options DENY, Referrer-Policy and the CSP are always on. Behind
# TLS (an https OAUTH_ISSUER) and with DEBUG off, cookies are Secure, HSTS is sent and plain HTTP
# is redirected; each can be set on its own. `make run` (http://127.0.0.1) keeps them off.
_BEHIND_TLS = OAUTH_ISSUER.startswith("https://") and not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_BEHIND_TLS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_BEHIND_TLS)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_BEHIND_TLS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _BEHIND_TLS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_BEHIND_TLS)
# The preload directive only consents to listing; nothing is listed until someone submits the domain.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_BEHIND_TLS)
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https, and only
# if that proxy always sets (and strips any client-sent) X-Forwarded-Proto.
if _proxy_ssl_header := env.tuple("SECURE_PROXY_SSL_HEADER", default=()):
    SECURE_PROXY_SSL_HEADER = _proxy_ssl_header
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# django-csp: portal and admin pages load only our own scripts, styles and images; no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Developer portal: self sign-up. On by default for local development (make run, plain HTTP);
# off by default when deployed behind TLS (an https OAUTH_ISSUER with DEBUG off).
PORTAL_SIGNUP_ENABLED = env.bool("PORTAL_SIGNUP_ENABLED", default=not _BEHIND_TLS)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "audit": {
            "class": "audit.log.StdoutHandler",
            "formatter": "message",
            "stream_name": env.str("AUDIT_LOG_STREAM", default="stdout"),
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Audit events: one JSON object per line on standard output (docs/security.md, "Audit trail").
    "loggers": {"oauthserver.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False}},
}
