"""What the application page says of its key pairs' secrets and of its token rate limit.

Never a secret's value or digest: a secret is named by its label (``clients.secret_store``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clients.models import Application, ClientSecret
from tokens.protocol.throttling import RateLimit

# A live secret that stops within this is announced at the top of the page.
EXPIRY_WARNING = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SecretRow:
    """One secret as the page lists it."""

    environment: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    live: bool
    expires_soon: bool


def describe_secrets(application: Application, *, now: datetime | None = None) -> dict[str, list[SecretRow]]:
    """The application's secrets by environment, newest first (one query)."""
    now = now or timezone.now()
    rows: dict[str, list[SecretRow]] = {}
    secrets = ClientSecret.objects.filter(key_pair__application=application).values_list(
        "key_pair__environment", "label", "created_at", "expires_at", "last_used_at")
    for environment, label, created_at, expires_at, last_used_at in secrets:
        live = expires_at is None or now < expires_at
        rows.setdefault(environment, []).append(SecretRow(
            environment, label, created_at, expires_at, last_used_at, live,
            expires_soon=live and expires_at is not None and expires_at - now <= EXPIRY_WARNING,
        ))
    return rows


@dataclass(frozen=True, slots=True)
class RateLimitShown:
    """The token rate limit in effect for the application's client ids, and whose it is."""

    text: str
    own: bool


def rate_limit_in_effect(application: Application) -> RateLimitShown | None:
    """Its own limit, else the server's ``OAUTH_TOKEN_RATE_LIMIT``; None when neither limits."""
    if application.token_rate_limit:
        return RateLimitShown(_describe(application.token_rate_limit), own=True)
    try:
        server = RateLimit.parse(settings.OAUTH_TOKEN_RATE_LIMIT)
    except ValueError:  # refused at start-up by the system checks
        return None
    return RateLimitShown(_describe(settings.OAUTH_TOKEN_RATE_LIMIT), own=False) if server else None


def _describe(text: str) -> str:
    try:
        rate = RateLimit.parse(text)
    except ValueError:  # the model refuses such a value; one written around it is shown as it is
        return text
    if rate is None:
        return text
    unit = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(rate.period)
    return f"{rate.limit} per {unit}" if unit else f"{rate.limit} per {rate.period} seconds"
