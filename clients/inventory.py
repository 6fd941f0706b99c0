"""The operator's list of registered clients: one row per consumer key, across realms.

What ``listclients`` shows. It reads no secret hash: the columns are named one by one, so
nothing secret can reach a terminal or a script that reads the list.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from .models import KeyPair

# Everything a row shows, read in one query whatever the number of clients.
_FIELDS = (
    "client_id",
    "environment",
    "created_at",
    "application__name",
    "application__is_active",
    "application__is_resource_server",
    "application__scopes",
    "application__token_format",
    "application__realm__name",
    "application__realm__default_token_format",
)


@dataclass(frozen=True, slots=True)
class ClientListing:
    """One key pair (``client_id``) of an application, as an operator sees it in a list.

    ``token_format`` is the format its tokens get: the application's own, else its realm's
    default, else ``OAUTH_DEFAULT_TOKEN_FORMAT``. ``is_active`` is the application's switch
    (a disabled application's clients are ``invalid_client``). ``created_at`` is the key pair's.
    """

    client_id: str
    application: str
    realm: str
    environment: str
    is_active: bool
    is_resource_server: bool
    scopes: str
    token_format: str
    created_at: datetime


def list_clients(*, realm_id: int | None = None) -> list[ClientListing]:
    """Every key pair of the realm (of all realms when None), by realm, application name and environment.

    One query whatever the number of clients: the key pairs joined to their applications and realms.
    """
    key_pairs = KeyPair.objects.order_by("application__realm__name", "application__name", "environment", "client_id")
    if realm_id is not None:
        key_pairs = key_pairs.filter(application__realm_id=realm_id)
    listings = []
    for (client_id, environment, created_at, name, active, resource_server, scopes, token_format, realm,
         realm_token_format) in key_pairs.values_list(*_FIELDS):
        listings.append(ClientListing(
            client_id=client_id, application=name, realm=realm, environment=environment, is_active=active,
            is_resource_server=resource_server, scopes=scopes, created_at=created_at,
            # As the grant decides it (KnownRealm.token_policy, grant_client_credentials): read here with
            # the rows, so the list needs no other query and no realm this process has not seen.
            token_format=token_format or realm_token_format or settings.OAUTH_DEFAULT_TOKEN_FORMAT,
        ))
    return listings
