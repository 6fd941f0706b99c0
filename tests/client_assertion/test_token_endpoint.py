"""private_key_jwt at the token endpoint (RFC 7523 §2.2 and §3): what authenticates, and what is invalid_client.

Every failure must look exactly like a wrong secret sent in the body (RFC 6749 §5.2): 401, the
same body, no challenge; only the audit row says what failed.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from clients.services import create_realm, set_application_active
from tests.conftest import basic_auth

from .conftest import ISSUER, TOKEN_ENDPOINT

WRONG_SECRET = {"error": "invalid_client", "error_description": "Client authentication failed."}


def failure_reason(client_id: str) -> str:
    event = AuditEvent.objects.filter(action=AuditAction.CLIENT_AUTH_FAILED, client_id=client_id).latest("id")
    return event.details["reason"]


def assert_looks_like_a_wrong_secret(response):
    assert response.status_code == 401
    assert response.json() == WRONG_SECRET
    assert "WWW-Authenticate" not in response  # as client_secret_post: the client did not use the header


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"])
def test_an_assertion_signed_with_the_registered_key_gets_a_token(algorithm, make_signer, register, post_assertion):
    signer = make_signer(algorithm)
    client_id = register(signer)
    response = post_assertion(signer.assertion(client_id))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert (claims["client_id"], claims["sub"], claims["iss"]) == (client_id, client_id, ISSUER)


def test_the_issuer_is_an_accepted_audience_and_so_is_an_array_holding_it(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    assert post_assertion(signer.assertion(client_id, audience=ISSUER)).status_code == 200
    assert post_assertion(signer.assertion(client_id, audience=["https://other.example", ISSUER])).status_code == 200


def test_a_matching_client_id_in_the_body_is_fine(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    assert post_assertion(signer.assertion(client_id), client_id=client_id).status_code == 200


def hs256_with_the_public_key(signer, client_id):
    """The classic algorithm confusion: HMAC keyed with the public key's PEM, which anyone has."""
    pem = signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT, "exp": now + 60, "jti": "confused"}
    header = {"alg": "HS256", "kid": signer.kid}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def alg_none(signer, client_id):
    now = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT, "exp": now + 60, "jti": "unsigned"}
    return jwt.encode(payload, None, algorithm="none", headers={"kid": signer.kid})


FAILURES = {
    "wrong_key": (lambda s, other, cid: other.assertion(cid, headers={"kid": s.kid}), "assertion_bad_signature"),
    "unknown_kid": (lambda s, other, cid: other.assertion(cid), "assertion_unknown_key"),
    "wrong_aud": (lambda s, other, cid: s.assertion(cid, audience="https://evil.example/oauth/token"),
                  "assertion_wrong_audience"),
    "introspection_aud_at_token": (lambda s, other, cid: s.assertion(cid, audience=f"{ISSUER}/oauth/introspect"),
                                   "assertion_wrong_audience"),
    "expired": (lambda s, other, cid: s.assertion(cid, now=int(time.time()) - 600), "assertion_expired"),
    "exp_too_far": (lambda s, other, cid: s.assertion(cid, exp=int(time.time()) + 3600), "assertion_exp_too_far_ahead"),
    "no_exp": (lambda s, other, cid: s.assertion(cid, exp=None), "assertion_missing_exp"),
    "iat_in_future": (lambda s, other, cid: s.assertion(cid, iat=int(time.time()) + 120), "assertion_iat_in_future"),
    "no_jti": (lambda s, other, cid: s.assertion(cid, jti=None), "assertion_missing_jti"),
    "empty_jti": (lambda s, other, cid: s.assertion(cid, jti=""), "assertion_missing_jti"),
    "alg_none": (lambda s, other, cid: alg_none(s, cid), "assertion_algorithm_not_allowed"),
    "hs256_public_key": (lambda s, other, cid: hs256_with_the_public_key(s, cid), "assertion_algorithm_not_allowed"),
    "rs384": (lambda s, other, cid: jwt.encode({"iss": cid, "sub": cid, "aud": TOKEN_ENDPOINT,
                                                 "exp": int(time.time()) + 60, "jti": "x"},
                                                make_rsa(), algorithm="RS384", headers={"kid": s.kid}),
              "assertion_algorithm_not_allowed"),
}


def make_rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_bad_assertion_is_the_wrong_secret_answer(case, make_signer, register, post_assertion):
    signer, other = make_signer("ES256"), make_signer("ES256")
    client_id = register(signer)
    build, reason = FAILURES[case]
    response = post_assertion(build(signer, other, client_id))
    assert_looks_like_a_wrong_secret(response)
    assert failure_reason(client_id) == reason


def test_the_body_equals_a_wrong_secret_of_a_secret_client(make_keys, api_client, make_signer, register, post_assertion):
    keys = make_keys(name="secret-client")
    wrong = api_client.post("/oauth/token", {"grant_type": "client_credentials", "client_id": keys.client_id,
                                             "client_secret": "nope"}, format="json")
    signer = make_signer()
    bad = post_assertion(signer.assertion(register(signer), jti=None))
    assert (wrong.status_code, wrong.content) == (bad.status_code, bad.content)


def test_a_jti_is_accepted_once(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    assertion = signer.assertion(client_id)
    assert post_assertion(assertion).status_code == 200
    assert_looks_like_a_wrong_secret(post_assertion(assertion))
    assert failure_reason(client_id) == "assertion_replayed"
    # The same jti in a fresh assertion is the same replay (the jti is what is remembered).
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    assert_looks_like_a_wrong_secret(post_assertion(signer.assertion(client_id, jti=jti)))


def test_another_clients_key_does_not_sign_for_this_one(make_signer, register, post_assertion):
    mine, theirs = make_signer(), make_signer()
    client_id = register(mine, name="mine")
    register(theirs, name="theirs")
    response = post_assertion(theirs.assertion(client_id))  # their kid: not registered for this client
    assert_looks_like_a_wrong_secret(response)
    assert failure_reason(client_id) == "assertion_unknown_key"


def test_another_realms_client_is_unknown_here(make_signer, register, post_assertion, db):
    alpha = create_realm(name="alpha")
    signer = make_signer()
    client_id = register(signer, realm=alpha)
    # Signed for the default realm's token endpoint, sent there: the client lives in alpha.
    assert_looks_like_a_wrong_secret(post_assertion(signer.assertion(client_id)))
    assert failure_reason(client_id) == "other_realm"
    # At home, with alpha's token endpoint as aud, it works; the default realm's URL is not alpha's.
    home = f"{ISSUER}/realms/alpha/oauth/token"
    assert post_assertion(signer.assertion(client_id, audience=home), path="/realms/alpha/oauth/token").status_code == 200
    wrong_aud = post_assertion(signer.assertion(client_id), path="/realms/alpha/oauth/token")
    assert_looks_like_a_wrong_secret(wrong_aud)
    assert failure_reason(client_id) == "assertion_wrong_audience"


def test_an_assertion_with_a_secret_is_two_methods(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    for extra in ({"client_secret": "whatever"},):
        response = post_assertion(signer.assertion(client_id), **extra)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    with_basic = post_assertion(signer.assertion(client_id), headers={"HTTP_AUTHORIZATION": basic_auth(client_id, "x")})
    assert (with_basic.status_code, with_basic.json()["error"]) == (400, "invalid_request")


def test_a_secret_client_cannot_use_an_assertion_and_a_signed_client_has_no_secret(
    make_keys, make_signer, register, post_assertion, request_token, api_client
):
    keys = make_keys(name="secret-client")
    signer = make_signer()
    # A secret client that somehow had keys: still only its secret works.
    assert_looks_like_a_wrong_secret(post_assertion(signer.assertion(keys.client_id)))
    assert failure_reason(keys.client_id) == "auth_method_not_registered"
    client_id = register(signer)
    for secret in ("", "!", "no such client"):
        response = api_client.post("/oauth/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret}, format="json")
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_wrong_assertion_type_or_a_missing_assertion_is_invalid_client(make_signer, register, api_client):
    signer = make_signer()
    client_id = register(signer)
    assertion = signer.assertion(client_id)
    for fields in (
        {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "client_assertion": assertion},
        {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
        {"client_assertion": assertion},
        {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
         "client_assertion": assertion, "client_id": "someone-else"},
    ):
        response = api_client.post("/oauth/token", {"grant_type": "client_credentials", **fields}, format="json")
        assert_looks_like_a_wrong_secret(response)


def test_a_disabled_application_is_refused(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    set_application_active(application=KeyPair.objects.get(client_id=client_id).application, is_active=False)
    assert_looks_like_a_wrong_secret(post_assertion(signer.assertion(client_id)))
    assert failure_reason(client_id) == "application_disabled"


def test_the_metadata_offers_private_key_jwt_and_its_algorithms(client, db):
    body = client.get("/.well-known/oauth-authorization-server").json()
    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        assert "private_key_jwt" in body[f"{endpoint}_auth_methods_supported"]
        assert "client_secret_jwt" not in body[f"{endpoint}_auth_methods_supported"]
        assert body[f"{endpoint}_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"]


def test_the_audit_never_holds_the_assertion(make_signer, register, post_assertion):
    signer = make_signer()
    client_id = register(signer)
    assertion = signer.assertion(client_id, audience="https://evil.example")
    post_assertion(assertion)
    for event in AuditEvent.objects.all():
        assert assertion not in str(event.details) and assertion.split(".")[2] not in str(event.details)
