"""RFC 9449 §4.3: checking a DPoP proof, with no database and no HTTP (tokens/protocol/dpop.py)."""

import base64
import json
import time

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from requests_oauth2client import DPoPKey

from tokens.protocol.dpop import (
    InvalidDPoPProof,
    access_token_hash,
    check_proof,
    normalize_url,
    read_proof_header,
)
from tokens.protocol.keys import thumbprint

from .conftest import TOKEN_ENDPOINT, ath, forged_proof, proof

URLS = {TOKEN_ENDPOINT}
_KEY = DPoPKey.generate(alg="ES256")


def check(value: str, *, method: str = "POST", urls=URLS, now: int | None = None, access_token: str | None = None):
    return check_proof(value, method=method, urls=urls, now=int(time.time()) if now is None else now, access_token=access_token)


def refused(value: str, **kwargs) -> str:
    with pytest.raises(InvalidDPoPProof) as caught:
        check(value, **kwargs)
    assert caught.value.error == "invalid_dpop_proof" and caught.value.status_code == 400
    return caught.value.description


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_a_client_librarys_proof_passes_and_names_its_keys_thumbprint(alg):
    key = DPoPKey.generate(alg=alg)
    checked = check(proof(key))
    assert checked.jkt == key.dpop_jkt == thumbprint(dict(key.public_jwk))
    assert (checked.htm, checked.htu) == ("POST", TOKEN_ENDPOINT)
    assert len(checked.replay_key) == 64 and checked.replay_key != checked.jkt


def test_ath_is_base64url_sha256_of_the_token():
    assert access_token_hash("abc.def") == ath("abc.def")
    key = DPoPKey.generate(alg="ES256")
    assert check(proof(key, access_token="abc.def"), access_token="abc.def").jkt == key.dpop_jkt


@pytest.mark.parametrize(
    "header, claims, reason",
    [
        ({"typ": "JWT"}, {}, "typ must be dpop+jwt"),
        ({"typ": None}, {}, "typ must be dpop+jwt"),
        ({"jwk": None}, {}, "needs jwk"),
        ({"jwk": "not an object"}, {}, "needs jwk"),
        ({}, {"htm": "GET"}, "htm is not this request's method"),
        ({}, {"htm": "post"}, "htm is not this request's method"),
        ({}, {"htu": "http://127.0.0.1:8000/oauth/introspect"}, "htu is not this request's URL"),
        ({}, {"htu": "https://127.0.0.1:8000/oauth/token"}, "htu is not this request's URL"),
        ({}, {"htu": 42}, "htu is not this request's URL"),
        ({}, {"iat": int(time.time()) - 3600}, "too old"),
        ({}, {"iat": int(time.time()) + 3600}, "too old or ahead"),
        ({}, {"iat": "now"}, "a number of seconds"),
        ({}, {"iat": True}, "a number of seconds"),
        ({}, {"iat": 1.5e9}, "too old"),
        ({}, {"jti": ""}, "needs a jti"),
        ({}, {"jti": "x" * 257}, "needs a jti"),
    ],
)
def test_a_proof_breaking_a_rule_is_refused_naming_the_rule(dpop_key, header, claims, reason):
    assert reason in refused(forged_proof(dpop_key, header=header, **claims))


def test_an_iat_with_a_fraction_of_a_second_is_a_numeric_date_too(dpop_key):
    """RFC 7519 §2 NumericDate, which RFC 9449 uses, may carry a fraction: time.time() as it is."""
    assert abs(check(forged_proof(dpop_key, iat=time.time())).iat - int(time.time())) <= 1


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_each_required_claim_is_required(dpop_key, claim):
    refused(forged_proof(dpop_key, drop=(claim,)))


def test_a_jwk_with_the_private_key_is_refused(dpop_key):
    jwk = {**dict(dpop_key.public_jwk), "d": dict(dpop_key.private_key)["d"]}
    assert "public key only" in refused(forged_proof(dpop_key, header={"jwk": jwk}))


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(dpop_key):
    other = DPoPKey.generate(alg="ES256")
    assert "Signature verification failed" in refused(forged_proof(dpop_key, header={"jwk": dict(other.public_jwk)}))


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384", "RS512"])
def test_only_asymmetric_algorithms_of_the_list_are_accepted(dpop_key, alg):
    value = forged_proof(dpop_key)
    head, body, signature = value.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    header["alg"] = alg
    forged_head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    assert "alg must be one of" in refused(f"{forged_head}.{body}.{signature if alg != 'none' else ''}")


def test_a_jwk_of_the_wrong_type_for_alg_is_refused():
    rsa = DPoPKey.generate(alg="RS256")
    ec = DPoPKey.generate(alg="ES256")
    assert "does not fit its alg" in refused(forged_proof(rsa, header={"jwk": dict(ec.public_jwk)}))


def test_ath_must_match_the_presented_token(dpop_key):
    assert "ath does not match" in refused(proof(dpop_key, access_token="one"), access_token="two")
    assert "ath does not match" in refused(proof(dpop_key), access_token="two")


@pytest.mark.parametrize(
    "htu",
    [
        "HTTP://127.0.0.1:8000/oauth/token",
        "http://127.0.0.1:8000/oauth/token?x=1",
        "http://127.0.0.1:8000/oauth/token#frag",
    ],
)
def test_htu_is_compared_after_normalization_without_query_and_fragment(dpop_key, htu):
    assert check(forged_proof(dpop_key, htu=htu)).htu == htu


@pytest.mark.parametrize(
    "url, normal",
    [
        ("HTTPS://API.Example.COM:443/Hello", "https://api.example.com/Hello"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a?b#c", "http://example.com:8080/a"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
        ("ftp://example.com/x", None),
        ("http://user:pw@example.com/x", None),
        ("http://example.com:99999/x", None),
        ("/relative", None),
    ],
)
def test_normalize_url(url, normal):
    assert normalize_url(url) == normal


@pytest.mark.parametrize("value, expected", [(None, None), ("  abc.def.ghi ", "abc.def.ghi")])
def test_one_dpop_header_is_read(value, expected):
    assert read_proof_header(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "a.b.c, d.e.f"])
def test_an_empty_header_or_several_are_refused(value):
    with pytest.raises(InvalidDPoPProof):
        read_proof_header(value)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.from_regex(r"[A-Za-z0-9_\-]{0,60}\.[A-Za-z0-9_\-]{0,60}\.[A-Za-z0-9_\-]{0,60}", fullmatch=True)))
def test_any_string_is_refused_as_invalid_dpop_proof_never_another_error(value):
    with pytest.raises(InvalidDPoPProof) as caught:
        check(value)
    assert set(caught.value.description) <= set(map(chr, [0x20, 0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)]))


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    header=st.dictionaries(st.sampled_from(["typ", "jwk", "kid", "x"]), st.one_of(st.none(), st.integers(), st.text(max_size=20), st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=4)), max_size=4),
    claims=st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath"]), st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20), st.lists(st.integers(), max_size=3)), max_size=5),
)
def test_proofs_with_garbled_members_are_refused_never_crash(header, claims):
    value = forged_proof(_KEY, header=header, **claims)
    try:
        check(value)
    except InvalidDPoPProof:
        return
    # Only a proof whose every member is right may pass: then it is the library's shape.
    assert claims.get("htm", "POST") == "POST" and header.get("typ", "dpop+jwt") == "dpop+jwt"
