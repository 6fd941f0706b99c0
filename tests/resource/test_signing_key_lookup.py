"""The server's own verification finds signing keys in the key store (RFC 8725 §3.1, RFC 7517 §5):
a token signed by an unknown key is refused, and so is one from a key that left the JWKS."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from tests.protocol.test_jwt_attacks import make_key, sign
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import SigningKey
from tokens.protocol.errors import InvalidToken
from tokens.protocol.formats import decode_jwt


def server_verify(token):
    return decode_jwt(
        token,
        find_key=key_store.find,
        issuer=settings.OAUTH_ISSUER,
        audience=settings.OAUTH_AUDIENCE,
        algorithms=[settings.OAUTH_JWT_ALGORITHM],
        now=int(timezone.now().timestamp()),
    )


def test_an_unknown_kid_stays_unknown_after_the_key_store_refreshes(make_keys, request_token, monkeypatch):
    token = request_token(make_keys()).json()["access_token"]
    forged = sign(jwt.decode(token, options={"verify_signature": False}), key=make_key())
    refreshes = []
    original = key_store._refresh
    monkeypatch.setattr(key_store, "_refresh", lambda: refreshes.append(1) or original())
    monkeypatch.setattr("tokens.keystore._MISS_REFRESH_SECONDS", 0.0)
    with pytest.raises(InvalidToken, match="unknown signing key"):
        server_verify(forged)
    assert refreshes  # the store looked again before refusing
    assert server_verify(token).jti


def test_a_token_from_a_key_that_left_the_jwks_is_refused(make_keys, request_token, client):
    token = request_token(make_keys()).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    rotate_signing_key()
    assert server_verify(token).jti  # retired but still published: its tokens may be live
    SigningKey.objects.filter(kid=kid).update(published_until=timezone.now() - timedelta(seconds=1))
    key_store.invalidate()
    assert kid not in {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    with pytest.raises(InvalidToken, match="unknown signing key"):
        server_verify(token)
