"""Settings of the separate API project: one ``OAUTH_RESOURCE_SERVER`` block and nothing of the server's.

``RESOURCE_MODE`` (jwks, introspection or database), ``RESOURCE_ISSUER`` (in jwks mode, several issuers
separated by spaces), ``RESOURCE_AUDIENCE``
(``RESOURCE_SANDBOX_AUDIENCE`` optional) and, for introspection, ``RESOURCE_CLIENT_ID`` and
``RESOURCE_CLIENT_SECRET`` come from the environment; so do the cache times the tests shorten.
Database mode takes the server's database as ``RESOURCE_DATABASE_URL`` (or a SQLite file,
``RESOURCE_DATABASE``) and its ``VAR_DIR`` as ``RESOURCE_VAR_DIR``.
"""

import os

import environ

SECRET_KEY = "remote-api-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.remote_api.urls"
WSGI_APPLICATION = "tests.remote_api.wsgi.application"
USE_TZ = True
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "resource_server": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}

MODE = os.environ.get("RESOURCE_MODE", "jwks")

if MODE == "database":
    # A project deployed next to the server: its apps and database, its issuer settings.
    INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "clients", "tokens", "audit"]
    DATABASE_URL = os.environ.get("RESOURCE_DATABASE_URL") or f"sqlite:///{os.environ['RESOURCE_DATABASE']}"
    DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
    OAUTH_ISSUER = os.environ["RESOURCE_ISSUER"]
    OAUTH_AUDIENCE = os.environ.get("RESOURCE_AUDIENCE", OAUTH_ISSUER)
    OAUTH_SANDBOX_AUDIENCE = ""
    OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 86400
    OAUTH_KEY_CACHE_SECONDS = 30
    OAUTH_TOKEN_STATE_CACHE_SECONDS = 30
    OAUTH_REVOCATION_POLL_SECONDS = 1
    VAR_DIR = os.environ["RESOURCE_VAR_DIR"]
    OAUTH_RESOURCE_SERVER = {"MODE": "database"}
else:
    # No database at all: any query would fail loudly.
    INSTALLED_APPS = ["rest_framework"]
    DATABASES = {}
    OAUTH_RESOURCE_SERVER = {
        "MODE": MODE,
        "ISSUER": os.environ["RESOURCE_ISSUER"].split(),  # a list of one is that one issuer
        "AUDIENCE": os.environ["RESOURCE_AUDIENCE"],
        "SANDBOX_AUDIENCE": os.environ.get("RESOURCE_SANDBOX_AUDIENCE", ""),
        "ALGORITHMS": os.environ.get("RESOURCE_ALGORITHMS", "RS256").split(","),
        "CACHE_SECONDS": float(os.environ.get("RESOURCE_CACHE_SECONDS", "60")),
        "INACTIVE_CACHE_SECONDS": float(os.environ.get("RESOURCE_INACTIVE_CACHE_SECONDS", "5")),
        "TIMEOUT": 2,
    }
    if MODE == "introspection":
        OAUTH_RESOURCE_SERVER["CLIENT_ID"] = os.environ["RESOURCE_CLIENT_ID"]
        OAUTH_RESOURCE_SERVER["CLIENT_SECRET"] = os.environ["RESOURCE_CLIENT_SECRET"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["resource_server.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["resource_server.RequiredScopes"],
    "EXCEPTION_HANDLER": "resource_server.handle_exception",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
