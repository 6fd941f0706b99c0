"""Registering a private_key_jwt key pair: public keys only, one source of keys, no secret (RFC 7523, RFC 7517)."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from clients.models import KeyPair
from clients.services import generate_keys, regenerate_secret, register_client_keys


def registering(make_application, **fields):
    return generate_keys(application=make_application(), auth_method="private_key_jwt", **fields)


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi"])
def test_a_private_rsa_member_is_refused(member, make_signer, make_application):
    signer = make_signer("RS256")
    private = RSAAlgorithm.to_jwk(signer.private_key, as_dict=True)
    jwk = {**signer.public_jwk, member: private[member]}
    with pytest.raises(ValidationError, match="public keys only"):
        registering(make_application, jwks={"keys": [jwk]})


def test_a_private_ec_key_and_a_symmetric_key_are_refused(make_signer, make_application):
    signer = make_signer("ES256")
    with pytest.raises(ValidationError, match="public keys only"):
        registering(make_application, jwks={"keys": [ECAlgorithm.to_jwk(signer.private_key, as_dict=True)]})
    with pytest.raises(ValidationError, match="symmetric"):
        registering(make_application, jwks={"keys": [{"kty": "oct", "kid": "s"}]})


@pytest.mark.parametrize("jwks, message", [
    ({}, "keys"),
    ({"keys": []}, "no signing key"),
    ({"keys": ["x"]}, "not a JSON object"),
    ({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}, "at least 2048 bits|not a valid"),
    ({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}, "not a valid|P-256"),
])
def test_a_set_that_is_not_usable_is_refused(jwks, message, make_application):
    with pytest.raises(ValidationError, match=message):
        registering(make_application, jwks=jwks)


def test_two_keys_with_one_kid_are_refused(make_signer, make_application):
    first, second = make_signer(kid="same"), make_signer(kid="same")
    with pytest.raises(ValidationError, match="kid"):
        registering(make_application, jwks={"keys": [first.public_jwk, second.public_jwk]})


def test_exactly_one_source_of_keys(make_signer, make_application):
    signer = make_signer()
    with pytest.raises(ValidationError, match="one of them"):
        registering(make_application, jwks=signer.jwks, jwks_uri="https://client.example/jwks.json")
    with pytest.raises(ValidationError, match="one of them"):
        registering(make_application)
    with pytest.raises(ValidationError, match="only for private_key_jwt"):
        generate_keys(application=make_application(name="other"), jwks=signer.jwks)


def test_a_signed_key_pair_has_no_secret_to_regenerate(make_signer, make_application):
    keys = registering(make_application, jwks=make_signer().jwks)
    key_pair = KeyPair.objects.get(client_id=keys.client_id)
    assert (keys.client_secret, key_pair.secrets.count()) == ("", 0)  # no secret at all
    with pytest.raises(ValidationError, match="no secret"):
        regenerate_secret(key_pair=key_pair)


def test_new_public_keys_take_over_at_once(make_signer, register, post_assertion):
    old, new = make_signer(), make_signer()
    client_id = register(old)
    assert post_assertion(old.assertion(client_id)).status_code == 200
    register_client_keys(key_pair=KeyPair.objects.get(client_id=client_id), jwks=new.jwks)
    assert post_assertion(old.assertion(client_id)).status_code == 401
    assert post_assertion(new.assertion(client_id)).status_code == 200


def created(*arguments) -> dict:
    out = io.StringIO()
    call_command("createclient", *arguments, stdout=out)
    return json.loads(out.getvalue())


def test_createclient_with_a_jwks_file_prints_no_secret(make_signer, tmp_path, db, post_assertion):
    signer = make_signer("EdDSA")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(signer.jwks))
    printed = created("signed", "--auth-method", "private_key_jwt", "--jwks-file", str(path))
    assert "client_secret" not in printed
    assert printed["token_endpoint_auth_method"] == "private_key_jwt"
    assert post_assertion(signer.assertion(printed["client_id"])).status_code == 200


def test_createclient_with_a_jwks_uri(db):
    printed = created("remote", "--auth-method", "private_key_jwt", "--jwks-uri", "https://client.example/jwks")
    assert KeyPair.objects.get(client_id=printed["client_id"]).jwks_uri == "https://client.example/jwks"


@pytest.mark.parametrize("arguments, message", [
    (["--auth-method", "private_key_jwt"], "--jwks-file or --jwks-uri"),
    (["--jwks-uri", "https://client.example/jwks"], "only with --auth-method private_key_jwt"),
    (["--auth-method", "private_key_jwt", "--jwks-uri", "http://client.example/jwks"], "https"),
])
def test_createclient_refuses_a_wrong_combination(arguments, message, db):
    with pytest.raises(CommandError, match=message):
        call_command("createclient", "x", *arguments)


def test_createclient_refuses_a_private_key_file(make_signer, tmp_path, db):
    signer = make_signer("RS256")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [RSAAlgorithm.to_jwk(signer.private_key, as_dict=True)]}))
    with pytest.raises(CommandError, match="public keys only"):
        call_command("createclient", "x", "--auth-method", "private_key_jwt", "--jwks-file", str(path))
    assert not KeyPair.objects.exists()


def test_regeneratesecret_refuses_a_private_key_jwt_client_in_one_line(make_signer, make_application):
    """It has no secret: a CommandError (exit 1, one line), not a traceback. Found by a fresh trial."""
    signer = make_signer("ES256")
    keys = registering(make_application, jwks={"keys": [signer.public_jwk]})
    with pytest.raises(CommandError, match="^This key pair authenticates with private_key_jwt: it has no secret.$"):
        call_command("regeneratesecret", keys.client_id, stdout=io.StringIO())
