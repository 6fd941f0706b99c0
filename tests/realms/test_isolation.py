"""The isolation matrix (CONTRACT.md "Realms"): what belongs to realm A is, at realm B, as the unknown.

For each pair (default and alpha, alpha and beta), both ways, and tokens of both formats: A's
credentials at B's token endpoint are refused exactly as an unknown client's (RFC 6749 §5.2);
B's resource server introspecting A's token hears ``{"active": false}`` (RFC 7662 §2.2) and A's
resource server at B is ``invalid_client``; revoking A's token at B is 200 and revokes nothing
(RFC 7009 §2.2); B's JWKS holds none of A's keys (RFC 7517); B's metadata names B's issuer and
endpoints (RFC 8414 §3.3); a resource that trusts only B's issuer refuses A's token (RFC 6750 §3.1).
"""

import secrets

import jwt
import pytest

from audit.models import AuditAction, AuditEvent
from clients.models import DEFAULT_REALM, Scope, ScopeVisibility
from clients.services import IssuedKeys
from tests.conftest import is_revoked
from tokens.protocol.errors import InvalidToken
from tokens.protocol.formats import looks_like_jwt
from tokens.services import validate_access_token

from .conftest import INTROSPECT, JWKS, REVOKE, TOKEN, hello, introspect_at, issue, post_form

# (A, B): A's credentials and tokens are taken to B.
PAIRS = [("default", "alpha"), ("alpha", "default"), ("alpha", "beta"), ("beta", "alpha")]
FORMATS = ["jwt", "opaque"]
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed."}


@pytest.fixture(params=PAIRS, ids=lambda pair: "{}-at-{}".format(*pair))
def pair(request):
    return request.param


@pytest.fixture(params=FORMATS)
def token_format(request):
    return request.param


@pytest.fixture
def realms(make_realm, pair, token_format):
    """Realms A and B, each with a client whose tokens are of token_format, and a resource server."""
    return tuple(make_realm(name, token_format=token_format) for name in pair)


def unknown_keys() -> IssuedKeys:
    return IssuedKeys(secrets.token_urlsafe(16), secrets.token_urlsafe(32), "production")


@pytest.mark.parametrize("in_body", [False, True], ids=["basic", "post"])
def test_another_realms_client_is_refused_at_the_token_endpoint_exactly_as_an_unknown_one(
    api_client, realms, in_body
):
    a, b = realms
    foreign = post_form(api_client, b.url(TOKEN), a.client, in_body=in_body, grant_type="client_credentials")
    unknown = post_form(api_client, b.url(TOKEN), unknown_keys(), in_body=in_body, grant_type="client_credentials")
    assert foreign.status_code == unknown.status_code == 401
    assert foreign.json() == unknown.json() == INVALID_CLIENT
    challenge = None if in_body else 'Basic realm="oauth"'  # RFC 6749 §5.2: challenged after Basic only
    assert foreign.get("WWW-Authenticate") == unknown.get("WWW-Authenticate") == challenge
    assert "access_token" not in foreign.content.decode()
    refused = AuditEvent.objects.filter(action=AuditAction.CLIENT_AUTH_FAILED, client_id=a.client.client_id).get()
    assert refused.details == {"reason": "other_realm", **({} if b.name == DEFAULT_REALM else {"realm": b.name})}
    # The same credentials at their own realm: a token with A's issuer.
    token = issue(api_client, a)
    assert validate_access_token(token).iss == a.issuer


def test_introspection_at_another_realm_says_inactive_and_nothing_more(api_client, realms, token_format):
    a, b = realms
    token = issue(api_client, a)
    assert looks_like_jwt(token) is (token_format == "jwt")
    own = introspect_at(api_client, a, a.gateway, token)  # also warms what this process keeps of the token
    assert own.status_code == 200
    assert (own.json()["active"], own.json()["iss"], own.json()["client_id"]) == (True, a.issuer, a.client.client_id)

    other = introspect_at(api_client, b, b.gateway, token)
    assert other.status_code == 200
    assert other.json() == {"active": False}


def test_another_realms_resource_server_cannot_introspect_here(api_client, realms):
    a, b = realms
    token = issue(api_client, b)
    response = introspect_at(api_client, b, a.gateway, token)
    assert response.status_code == 401
    assert response.json() == INVALID_CLIENT
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert introspect_at(api_client, b, b.gateway, token).json()["active"] is True  # the token itself is fine


def test_revoking_a_token_at_another_realm_is_200_and_revokes_nothing(api_client, realms):
    a, b = realms
    token = issue(api_client, a)
    assert hello(api_client, token).status_code == 200  # kept warm by this process
    response = post_form(api_client, b.url(REVOKE), b.client, token=token)
    assert (response.status_code, response.content) == (200, b"")
    assert not is_revoked(token)
    assert introspect_at(api_client, a, a.gateway, token).json()["active"] is True
    still = hello(api_client, token)
    assert (still.status_code, still.json()["client_id"]) == (200, a.client.client_id)

    # A's own client at B's revocation endpoint is not a client there.
    refused = post_form(api_client, b.url(REVOKE), a.client, token=token)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert introspect_at(api_client, a, a.gateway, token).json()["active"] is True

    # At its own realm the same request revokes it: the two above were refused for their realm alone.
    assert post_form(api_client, a.url(REVOKE), a.client, token=token).status_code == 200
    assert introspect_at(api_client, a, a.gateway, token).json() == {"active": False}
    assert hello(api_client, token).status_code == 401


def published_kids(api_client, member) -> set[str]:
    response = api_client.get(member.url(JWKS))
    assert response.status_code == 200
    return {key["kid"] for key in response.json()["keys"]}


def test_each_realms_jwks_holds_only_its_own_keys(api_client, make_realm):
    members = [make_realm(name, token_format="jwt") for name in ("default", "alpha", "beta")]
    published = {member.name: published_kids(api_client, member) for member in members}
    for member in members:
        own = published[member.name]
        others = set().union(*(kids for name, kids in published.items() if name != member.name))
        assert len(own) == 2 and not own & others, member.name  # its active and next keys, nobody else's

        token = issue(api_client, member)
        kid = jwt.get_unverified_header(token)["kid"]
        assert kid in own and kid not in others
        # Verified with a JOSE library against its realm's JWKS.
        jwks = jwt.PyJWKSet.from_dict(api_client.get(member.url(JWKS)).json())
        claims = jwt.decode(token, jwks[kid].key, algorithms=["RS256"], options={"verify_aud": False})
        assert (claims["iss"], claims["client_id"]) == (member.issuer, member.client.client_id)


@pytest.mark.parametrize("name", ["default", "alpha", "beta"])
def test_each_realms_metadata_names_its_own_issuer_and_endpoints(api_client, make_realm, name):
    members = {other: make_realm(other) for other in ("default", "alpha", "beta")}
    for other in members.values():
        Scope.objects.create(realm=other.realm, name=f"{other.name}-docs", visibility=ScopeVisibility.PUBLIC)
    member = members[name]
    documents = [api_client.get(url) for url in member.metadata_urls()]
    assert {response.status_code for response in documents} == {200}
    document = documents[0].json()
    assert all(response.json() == document for response in documents)  # both places, one document
    assert document["issuer"] == member.issuer
    endpoints = ("token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri")
    assert [document[field] for field in endpoints] == [member.issuer + path for path in (TOKEN, INTROSPECT, REVOKE, JWKS)]
    urls = [value for value in document.values() if isinstance(value, str) and value.startswith("http")]
    assert len(urls) == 5 and all(url.startswith(member.issuer + "/") or url == member.issuer for url in urls)
    assert document["scopes_supported"] == [f"{name}-docs"]  # its public scope; no other realm's
    if name == DEFAULT_REALM:  # the other realms' issuers extend the default one's: none of their paths here
        assert not any("/realms/" in url for url in urls)


def test_a_token_is_invalid_where_only_another_realms_issuer_is_trusted(api_client, realms):
    a, b = realms
    token = issue(api_client, a)
    claims = validate_access_token(token, issuers=[a.issuer])
    assert (claims.iss, claims.client_id) == (a.issuer, a.client.client_id)
    with pytest.raises(InvalidToken):
        validate_access_token(token, issuers=[b.issuer])
    assert validate_access_token(token, issuers=[b.issuer, a.issuer]).client_id == a.client.client_id
    with pytest.raises(InvalidToken):
        validate_access_token(token, issuers=[])


def test_hello_accepts_every_enabled_realms_tokens(api_client, realms):
    for member in realms:
        response = hello(api_client, issue(api_client, member))
        assert response.status_code == 200, response.content
        assert response.json()["client_id"] == member.client.client_id
