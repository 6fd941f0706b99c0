"""The WSGI application gunicorn serves; each process refuses to start when it could not sign tokens."""

import os

from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauthserver.settings")
application = get_wsgi_application()

# gunicorn runs no system checks. A signing key this configuration cannot decrypt (a rotated
# SECRET_KEY without SECRET_KEY_FALLBACKS) would make every token request fail; a worker that
# fails to boot stops gunicorn, with the check's message, instead.
_errors = [error for error in run_checks(tags=["signing_keys"]) if error.is_serious()]
connections.close_all()  # with --preload this ran in the master: workers must not share its connection
if _errors:
    raise ImproperlyConfigured("\n".join(f"{error.msg} {error.hint}" for error in _errors))
