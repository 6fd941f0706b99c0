"""Hypothesis over client assertions (RFC 7523 §3): whatever is sent, never a 500 and never a token for a bad one.

Assertions are built from a valid one by changing a claim or the whole payload (signed again with
the client's key, so that the claim checks are reached), the header, the signature or the
encoding, or are arbitrary text. A token is issued exactly when an independent reading of
RFC 7523 §3 says the claims are good; anything unsigned or badly signed never gets one.
"""

import base64
import json
import math
import time

import jwt
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from .conftest import ISSUER, TOKEN_ENDPOINT

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]


def claims_are_good(payload, client_id: str, now: float) -> bool:
    """RFC 7523 §3 as this server applies it, written apart from the code under test."""
    if not isinstance(payload, dict):
        return False

    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) < 1e11

    aud = payload.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return (
        payload.get("iss") == client_id and payload.get("sub") == client_id
        and any(value in (ISSUER, TOKEN_ENDPOINT) for value in audiences if isinstance(value, str))
        and number(payload.get("exp")) and now - 30 < payload["exp"] <= now + 330
        and all(name not in payload or (number(payload[name]) and payload[name] <= now + 30) for name in ("iat", "nbf"))
        and isinstance(payload.get("jti"), str) and 0 < len(payload["jti"]) <= 256
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_no_assertion_breaks_the_token_endpoint(make_signer, register, post_assertion):
    signer = make_signer("ES256")
    client_id = register(signer)
    issued = []

    @given(
        change=st.sampled_from(["none", "claim", "drop", "header", "signature", "payload_json", "text", "segments"]),
        claim=st.sampled_from(CLAIMS),
        value=json_values,
        text=st.text(max_size=300),
    )
    @example(change="none", claim="jti", value=None, text="")
    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def holds(change, claim, value, text):
        cache.clear()  # no lockout across examples: each is judged on its own
        header_b64, payload_b64, signature = signer.assertion(client_id).split(".")
        payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
        if change in ("claim", "drop", "payload_json"):
            if change == "claim":
                payload[claim] = value
            elif change == "drop":
                payload.pop(claim, None)
            else:
                payload = value
            signed = jwt.api_jws.encode(json.dumps(payload).encode(), signer.private_key, algorithm="ES256",
                                        headers={"kid": signer.kid})
            header_b64, payload_b64, signature = signed.split(".")
        elif change == "header":
            header_b64 = b64(json.dumps({"alg": value, "kid": signer.kid}).encode())
        elif change == "signature":
            signature = b64(text.encode("utf-8", "surrogatepass"))[:86] or "AA"
        assertion = f"{header_b64}.{payload_b64}.{signature}"
        if change == "text":
            assertion = text
        elif change == "segments":
            assertion = ".".join([header_b64, payload_b64, signature, text])
        response = post_assertion(assertion)
        assert response.status_code < 500
        body = response.json()
        if change in ("none", "claim", "drop", "payload_json") and claims_are_good(payload, client_id, time.time()):
            assert response.status_code == 200, body
            issued.append(body["access_token"])
        else:
            assert "access_token" not in body
            assert (response.status_code, body["error"]) in ((401, "invalid_client"), (400, "invalid_request")), body

    holds()
    assert issued  # the unchanged assertion did get a token: the property is not vacuous
