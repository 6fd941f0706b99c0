"""The audience (``aud``, RFC 9068 §2.2, RFC 8707) a token carries, and the ones this server's own resources answer to.

A token is for what its request named with ``resource``, else its application's default audience,
else its realm's own audience (``realm_audience``): ``OAUTH_AUDIENCE`` in the default realm (which
is ``OAUTH_ISSUER`` unless set, so existing deployments keep their audience), the realm's issuer in
any other. Production and sandbox never share one: a sandbox key pair's token carries the sandbox
variant of each (``OAUTH_SANDBOX_AUDIENCE`` for the default realm's own, else the URI followed by
``/sandbox``), so an API checking its audience with any JOSE library refuses sandbox tokens by itself.
"""

from django.conf import settings
from django.core.signals import setting_changed

from clients.models import Environment
from clients.realms import KnownRealm, realm_issuer
from clients.registry import Client

from .protocol.audiences import Audience, resolve_audience, sandbox_audiences, sandbox_variant

SANDBOX = Environment.SANDBOX.value  # a plain str: compared on every token request and check
# (production, sandbox) own audience of each realm by name: made of settings only, which change
# only in tests (cleared then), so reading them per token is not worth its microsecond.
_OWN: dict[str, tuple[str, str]] = {}


def sandbox_audience() -> str:
    """``OAUTH_SANDBOX_AUDIENCE``, by default ``OAUTH_AUDIENCE`` followed by ``/sandbox``: the default realm's sandbox audience."""
    return settings.OAUTH_SANDBOX_AUDIENCE or f"{settings.OAUTH_AUDIENCE}/sandbox"


def _own_audiences(realm: KnownRealm) -> tuple[str, str]:
    own = _OWN.get(realm.name)
    if own is None:
        if realm.is_default:
            own = (settings.OAUTH_AUDIENCE, sandbox_audience())
        else:
            issuer = realm_issuer(realm.name)
            own = (issuer, sandbox_variant(issuer))
        _OWN[realm.name] = own
    return own


def realm_audience(realm: KnownRealm, environment: str) -> str:
    """The ``aud`` of a token of realm for a key pair of environment that asks for no audience and has no default."""
    return _own_audiences(realm)[environment == SANDBOX]


def realm_audiences(realm: KnownRealm) -> tuple[str, str]:
    """The audiences this server's own resources (``/api/hello``) answer to for tokens of realm: its own, both environments."""
    return _own_audiences(realm)


def token_audience(*, realm: KnownRealm, client: Client, requested: tuple[str, ...]) -> Audience:
    """The ``aud`` of a token the client asks for with these ``resource`` values (RFC 8707 §2).

    Raises ``InvalidTarget`` for a requested audience the client's application is not allowed.
    """
    if not requested and not client.default_audience:
        return realm_audience(realm, client.environment)
    aud = resolve_audience(requested, allowed=client.audiences, default=client.default_audience, fallback="")
    return sandbox_audiences(aud) if client.environment == SANDBOX else aud


def issuable_audiences(realm: KnownRealm, client: Client) -> frozenset[str]:
    """Every audience a token of this client may carry now: its realm's own and its application's, in its environment."""
    own = realm_audience(realm, client.environment)
    if not client.audiences:
        return frozenset((own,))
    if client.environment == SANDBOX:
        return frozenset((own, *(sandbox_variant(audience) for audience in client.audiences)))
    return client.audiences | {own}


def _forget_own_audiences(*, setting: str, **kwargs) -> None:
    if setting in ("OAUTH_ISSUER", "OAUTH_AUDIENCE", "OAUTH_SANDBOX_AUDIENCE"):
        _OWN.clear()


setting_changed.connect(_forget_own_audiences)
