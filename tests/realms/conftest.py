"""Fixtures of the realm tests: realms with a client and a resource server each, and requests to their endpoints.

``make_realm("alpha", ...)`` creates the realm (with any overrides) unless it is ``default``, and
registers in it a client (scopes ``read write``) and a resource-server client, whose keys the
returned ``Member`` holds with the realm's URLs as a client of it would write them.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from clients.models import DEFAULT_REALM, Realm, default_realm_pk
from clients.services import IssuedKeys, create_realm
from tests.conftest import basic_auth

ISSUER = "https://auth.example.com"
# The endpoints a client posts to and the documents it reads, relative to the realm's prefix.
TOKEN, INTROSPECT, REVOKE = "/oauth/token", "/oauth/introspect", "/oauth/revoke"
JWKS, METADATA = "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"
UNKNOWN_REALM = {"error": "invalid_request", "error_description": "No such realm."}


@dataclass(frozen=True)
class Member:
    """A realm as its clients see it: its name, issuer and path prefix, and the keys of two of its clients."""

    name: str
    realm: Realm
    client: IssuedKeys
    gateway: IssuedKeys  # a resource server: may introspect

    @property
    def prefix(self) -> str:
        return "" if self.name == DEFAULT_REALM else f"/realms/{self.name}"

    @property
    def issuer(self) -> str:
        return ISSUER + self.prefix

    def url(self, path: str) -> str:
        return self.prefix + path

    def metadata_urls(self) -> list[str]:
        """Where its RFC 8414 metadata is: under its prefix, and (other realms) with the path after the well-known one."""
        if self.name == DEFAULT_REALM:
            return [METADATA]
        return [self.url(METADATA), f"{METADATA}/realms/{self.name}"]


@pytest.fixture(autouse=True)
def issuer(settings) -> str:
    settings.OAUTH_ISSUER = ISSUER
    return ISSUER


@pytest.fixture
def make_realm(db, make_keys, make_application):
    """Create a realm (``default`` is there already) with a client of the given token format and a resource server."""

    def make(name: str, *, token_format: str = "", client_scopes: str = "read write", **realm_settings) -> Member:
        if name == DEFAULT_REALM:
            assert not realm_settings, "the default realm follows the server's settings"
            realm = Realm.objects.get(pk=default_realm_pk())
        else:
            realm = create_realm(name=name, **realm_settings)
        client = make_keys(make_application(
            f"{name}-client", scopes=client_scopes, default_scopes=client_scopes.split()[0],
            token_format=token_format, realm=realm,
        ))
        gateway = make_keys(make_application(f"{name}-gateway", is_resource_server=True, realm=realm))
        return Member(name, realm, client, gateway)

    return make


def post_form(api_client, path: str, keys: IssuedKeys | None, *, in_body: bool = False, **fields):
    """POST form fields to path, the client authenticated by Basic (or, ``in_body``, client_secret_post)."""
    headers = {}
    if keys is not None and in_body:
        fields.update(client_id=keys.client_id, client_secret=keys.client_secret)
    elif keys is not None:
        headers["HTTP_AUTHORIZATION"] = basic_auth(keys.client_id, keys.client_secret)
    return api_client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded", **headers)


def issue(api_client, member: Member, keys: IssuedKeys | None = None, **fields) -> str:
    """A token of member's realm, asked for at its own token endpoint by its client (or keys)."""
    response = post_form(api_client, member.url(TOKEN), keys or member.client, grant_type="client_credentials", **fields)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def introspect_at(api_client, member: Member, caller: IssuedKeys, token: str):
    return post_form(api_client, member.url(INTROSPECT), caller, token=token)


def hello(api_client, token: str):
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
