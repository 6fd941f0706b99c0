"""The three ways this side checks a token, behind one small protocol, and the one this process uses.

``jwks`` and ``introspection`` talk to the server over HTTP and import nothing of its models;
``database`` reads the server's tables, so it is imported only when configured (a project
without the server's apps installed could not import it at all).
"""

import threading
from typing import Protocol

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed

from tokens.protocol.dpop import DPoPProof
from tokens.protocol.formats import TokenClaims

from .config import SETTING, ResourceServerConfig, read_config
from .discovery import Discovery
from .introspection import IntrospectionVerifier
from .jwks import JWKSVerifier
from .transport import Transport


class TokenVerifier(Protocol):
    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this API may accept; ``InvalidToken`` or ``TemporarilyUnavailable`` otherwise."""
        ...

    def remember_proof(self, proof: DPoPProof, *, now: int) -> bool:
        """Record one use of a DPoP proof (RFC 9449 §11.1); False if it was used before."""
        ...


_lock = threading.Lock()
_current: tuple[ResourceServerConfig, TokenVerifier] | None = None


def current_verifier() -> tuple[ResourceServerConfig, TokenVerifier]:
    """The configuration and verifier of this process, built from ``OAUTH_RESOURCE_SERVER`` on first use."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                config = read_config(getattr(settings, SETTING, None), server_installed=apps.is_installed("tokens"))
                _current = (config, build_verifier(config))
    return _current


def build_verifier(config: ResourceServerConfig) -> TokenVerifier:
    """A verifier for config's mode, with its own caches and connection pool."""
    if config.mode == "database":
        from .database import DatabaseVerifier  # only where the server's apps are installed

        return DatabaseVerifier(issuers=config.issuers, audiences=tuple(config.audiences) if config.audience else ())
    transport = Transport(timeout=config.timeout)
    # METADATA_URL comes with a single issuer only (read_config).
    discoveries = [Discovery(issuer, transport, metadata_url=config.metadata_url) for issuer in config.issuers]
    if config.mode == "jwks":
        return JWKSVerifier(config, discoveries)
    [discovery] = discoveries  # introspection mode trusts one issuer (read_config)
    return IntrospectionVerifier(config, discovery, transport)


def forget_verifier(**kwargs) -> None:
    """Drop the verifier (and its caches), so the next request builds one from the settings again."""
    global _current
    if kwargs.get("setting") in (None, SETTING):
        _current = None


setting_changed.connect(forget_verifier)
