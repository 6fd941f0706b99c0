"""System checks for the security settings, so a typo fails at start-up rather than per request."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.urls import NoReverseMatch, reverse

from audit.context import parse_networks

from .encryption import decrypt_private_key, is_encrypted
from .models import KeyRole, SigningKey
from .protocol.throttling import RateLimit

# run_checks(tags=[SIGNING_KEYS]) is what each server process runs at start-up (oauthserver.wsgi).
SIGNING_KEYS = "signing_keys"


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


@register(SIGNING_KEYS)
def check_signing_keys_decrypt(app_configs, **kwargs) -> list[Error]:
    """The keys that sign now and after the next rotation decrypt with this configuration.

    Only where tokens are issued (the token endpoint is routed): verifying needs no private key.
    One query for at most two rows and a Fernet decryption each. Without a database or before
    ``migrate`` there is nothing to check yet; unencrypted keys are for migration tokens.0002.
    """
    if not _issues_tokens():
        return []
    try:
        stored = list(SigningKey.objects.filter(role__in=[KeyRole.ACTIVE, KeyRole.NEXT]).values_list("kid", "private_key"))
    except DatabaseError:
        return []
    errors = []
    for kid, private_key in stored:
        if not is_encrypted(private_key):
            continue
        try:
            decrypt_private_key(private_key)
        except ImproperlyConfigured:
            errors.append(Error(
                f"Signing key {kid} cannot be decrypted with OAUTH_KEY_ENCRYPTION_KEY, SECRET_KEY or "
                "SECRET_KEY_FALLBACKS: every token request would fail.",
                hint="After changing SECRET_KEY, list the previous one in SECRET_KEY_FALLBACKS (comma-separated); "
                "after changing OAUTH_KEY_ENCRYPTION_KEY, keep the previous key after the new one. "
                "docs/security.md: Rotating SECRET_KEY.",
                id="oauth.E004",
            ))
    return errors


def _issues_tokens() -> bool:
    try:
        reverse("token")
    except NoReverseMatch:
        return False
    return True
