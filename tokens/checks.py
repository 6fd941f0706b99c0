"""System checks for the security settings, so a typo fails at start-up rather than per request."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register

from .protocol.throttling import RateLimit, parse_networks


@register()
def check_security_settings(app_configs, **kwargs) -> list[Error]:
    """``OAUTH_TOKEN_RATE_LIMIT``, ``OAUTH_TRUSTED_PROXIES`` and ``OAUTH_KEY_ENCRYPTION_KEY`` parse."""
    errors = []
    try:
        RateLimit.parse(settings.OAUTH_TOKEN_RATE_LIMIT)
    except ValueError as error:
        errors.append(Error(str(error), hint="For example 100/minute, 10/s or 5000/hour.", id="oauth.E001"))
    try:
        parse_networks(settings.OAUTH_TRUSTED_PROXIES)
    except ValueError as error:
        errors.append(Error(f"OAUTH_TRUSTED_PROXIES: {error}", hint="Addresses or CIDR ranges.", id="oauth.E002"))
    for key in settings.OAUTH_KEY_ENCRYPTION_KEY:
        try:
            Fernet(key.strip())
        except ValueError:
            errors.append(
                Error("OAUTH_KEY_ENCRYPTION_KEY holds a value that is not a Fernet key.", id="oauth.E003")
            )
    return errors
