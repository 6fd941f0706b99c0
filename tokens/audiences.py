"""The audience (``aud``, RFC 9068 §2.2, RFC 7519 §4.1.3) a token carries: production and sandbox never share one.

Both environments share the issuer, the signing keys and the JWKS; what tells a sandbox token
apart, to any JOSE library that checks ``aud``, is its own audience. An API verifying against the
JWKS with the production audience therefore refuses sandbox tokens by itself.
"""

from django.conf import settings

from clients.models import Environment


def sandbox_audience() -> str:
    """``OAUTH_SANDBOX_AUDIENCE``, by default ``OAUTH_AUDIENCE`` followed by ``/sandbox``."""
    return settings.OAUTH_SANDBOX_AUDIENCE or f"{settings.OAUTH_AUDIENCE}/sandbox"


def token_audience(environment: str) -> str:
    """The ``aud`` of tokens issued to a key pair of the given environment."""
    return sandbox_audience() if environment == Environment.SANDBOX else settings.OAUTH_AUDIENCE


def accepted_audiences() -> list[str]:
    """Every audience this server's own resource side and introspection recognise as ours."""
    return [settings.OAUTH_AUDIENCE, sandbox_audience()]
