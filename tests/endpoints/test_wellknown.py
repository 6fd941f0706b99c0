"""RFC 8414 metadata, RFC 7517 JWKS, key rotation, and /healthz."""

import json

import jwt
import pytest

from clients.models import Scope, ScopeVisibility
from tokens.models import SigningKey


def test_metadata_names_our_endpoints(api_client, settings, make_application):
    make_application(scopes="read write")
    Scope.objects.filter(name__in=["read", "write"]).update(visibility=ScopeVisibility.PUBLIC)
    settings.OAUTH_ISSUER = "https://auth.example.com"
    body = api_client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == "https://auth.example.com"
    assert body["token_endpoint"] == "https://auth.example.com/oauth/token"
    assert body["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
    assert body["introspection_endpoint"] == "https://auth.example.com/oauth/introspect"
    assert body["revocation_endpoint"] == "https://auth.example.com/oauth/revoke"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    assert body["scopes_supported"] == ["read", "write"]


# The document as the server published it before realms, for this issuer and scope registry: the
# realm ``default`` must keep it byte for byte (CONTRACT.md "Realms").
HISTORIC_METADATA = (
    b'{"issuer": "https://auth.example.com", "token_endpoint": "https://auth.example.com/oauth/token", '
    b'"jwks_uri": "https://auth.example.com/.well-known/jwks.json", '
    b'"introspection_endpoint": "https://auth.example.com/oauth/introspect", '
    b'"revocation_endpoint": "https://auth.example.com/oauth/revoke", "grant_types_supported": ["client_credentials"], '
    b'"response_types_supported": [], "scopes_supported": ["read"], '
    b'"token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"], '
    b'"introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"], '
    b'"revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"], '
    b'"access_token_signing_alg_values_supported": ["RS256"], '
    # Issue 15 added private_key_jwt (RFC 7523) and the algorithms its assertions may use.
    b'"token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"], '
    b'"introspection_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"], '
    b'"revocation_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"], '
    # and DPoP (RFC 9449 §5.1), after every historic member:
    b'"dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"]}'
)


def test_metadata_of_the_default_realm_is_the_historic_document_byte_for_byte(client, settings, make_application):
    make_application(scopes="read write")
    Scope.objects.filter(name="read").update(visibility=ScopeVisibility.PUBLIC)
    settings.OAUTH_ISSUER = "https://auth.example.com"
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.content == HISTORIC_METADATA
    assert response["Content-Type"] == "application/json"


def test_jwks_of_the_default_realm_is_the_historic_document_byte_for_byte(client, db):
    """The keys' stored JWKs in a "keys" array, and nothing of the realm they now belong to."""
    response = client.get("/.well-known/jwks.json")
    keys = list(SigningKey.objects.select_related("realm").order_by("-created_at", "-id"))
    assert {key.realm.name for key in keys} == {"default"}
    expected = json.dumps({"keys": [key.public_jwk for key in keys]}).encode()
    assert response.content == expected
    assert all(set(jwk) == {"kty", "n", "e", "kid", "alg", "use"} for jwk in response.json()["keys"])
    assert (response["Content-Type"], response["Cache-Control"]) == ("application/json", "public, max-age=60")


def test_metadata_lists_public_scopes_only(api_client, make_application):
    """RFC 8414 §2 scopes_supported: a restricted scope is granted by operators, not advertised."""
    make_application(scopes="read payments:admin")
    Scope.objects.create(name="write", visibility=ScopeVisibility.PUBLIC)
    Scope.objects.create(name="internal:audit", description="Restricted, held by nobody yet")
    body = api_client.get("/.well-known/oauth-authorization-server").json()
    assert body["scopes_supported"] == ["write"]


def test_jwks_is_made_on_first_use_and_public_only(api_client, db):
    response = api_client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    # The active key and the next one, published ahead (tests/endpoints/test_key_rotation.py).
    assert len(keys) == 2
    assert all(key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key for key in keys)
    assert {key["kid"] for key in keys} == set(SigningKey.objects.values_list("kid", flat=True))


def test_issued_jwt_verifies_against_the_jwks(api_client, make_keys, request_token, settings):
    token = request_token(make_keys()).json()["access_token"]
    jwks = jwt.PyJWKSet.from_dict(api_client.get("/.well-known/jwks.json").json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=settings.OAUTH_AUDIENCE, issuer=settings.OAUTH_ISSUER)
    assert claims["scope"] == "read"


@pytest.mark.parametrize("algorithm, kty", [("ES256", "EC"), ("EdDSA", "OKP"), ("Ed25519", "OKP")])
def test_algorithm_setting_switches_the_signing_key(api_client, make_keys, request_token, settings, algorithm, kty):
    settings.OAUTH_JWT_ALGORITHM = algorithm
    token = request_token(make_keys()).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    jwk = next(k for k in api_client.get("/.well-known/jwks.json").json()["keys"] if k["kid"] == header["kid"])
    assert jwk["kty"] == kty
    # PyJWT's PyJWK knows only the older name for an Ed25519 JWK; the key is the same.
    public = jwt.PyJWK(jwk, algorithm="EdDSA" if kty == "OKP" else None).key
    claims = jwt.decode(token, public, algorithms=[algorithm], audience=settings.OAUTH_AUDIENCE)
    assert claims["client_id"]
    metadata = api_client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["access_token_signing_alg_values_supported"] == [algorithm]


def test_healthz_answers_ok_when_the_database_does(api_client, db):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(api_client, db, monkeypatch):
    from django.db import DatabaseError, connection

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("down")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken_cursor)
        response = api_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
