"""Any realm name in any realm URL: never a 5xx, never another realm's data (CONTRACT.md "Realms").

Hypothesis puts names into the path segment of every realm URL (token, introspection and
revocation POSTs, the JWKS, the metadata under the realm's prefix and after the well-known path,
RFC 8414 §3.1), as a client would send them on the wire: existing realms, the disabled one,
``default`` (served only at the historic paths), names that differ by case, space or encoding,
``..``, ``%2F``, long ones, Unicode, and made-up valid ones. Credentials and tokens come from any
of the three realms. A name that is no enabled realm is 404 with the OAuth body; an enabled one
answers with its own data only: another realm's credentials never get a token there, its JWKS
holds only its own keys, its metadata names only itself.
"""

from urllib.parse import quote, unquote

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from clients.services import update_realm
from tokens.services import validate_access_token

from .conftest import INTROSPECT, JWKS, METADATA, REVOKE, TOKEN, UNKNOWN_REALM, issue, post_form

SERVING = ("default", "alpha", "beta")
DISABLED = "gamma"
# Names as they appear in the URL (already percent-encoded where a client would encode them).
WIRE_NAMES = [
    "alpha", "beta", DISABLED, "default", "ALPHA", "Alpha", "alpha%20", "%20alpha", "alpha%0A", "%61lpha",
    "alph%C3%A1", "..", ".", "%2E%2E", "%2F", "alpha%2Fbeta", "alpha%2F..%2Fbeta", "%2e", "alpha%00", "%FF",
    "realms", "oauth", ".well-known", "a" * 41, "a" * 40, "b" * 5000, "-alpha", "alpha-", "alpha.", "%25",
    "%252F", "d%C3%A9fault", "\u0430lpha",  # the last one's first letter is Cyrillic
]
# Names of the serving realms, as they are and encoded, drawn as often as the rest together.
SERVING_ON_THE_WIRE = ["alpha", "beta", "%61lpha", "b%65ta", "%61%6C%70%68%61"]
segments = st.one_of(
    st.sampled_from(SERVING_ON_THE_WIRE),
    st.sampled_from(SERVING_ON_THE_WIRE),
    st.sampled_from(SERVING_ON_THE_WIRE),
    st.sampled_from(WIRE_NAMES),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True),  # valid names, made up
    st.text(min_size=1, max_size=60).map(lambda text: quote(text, safe="")),  # anything, encoded
    st.text(alphabet="abcdefgh%2F.-", min_size=1, max_size=12),  # raw, percent signs and all
)
ENDPOINTS = ["token", "introspect", "revoke", "jwks", "metadata", "metadata-after-well-known"]


def url_for(endpoint: str, segment: str) -> str:
    if endpoint == "metadata-after-well-known":
        return f"{METADATA}/realms/{segment}"
    path = {"token": TOKEN, "introspect": INTROSPECT, "revoke": REVOKE, "jwks": JWKS, "metadata": METADATA}[endpoint]
    return f"/realms/{segment}{path}"


def decoded(segment: str) -> str | None:
    """The realm name the server reads from the segment (Django decodes the path as UTF-8), None if not UTF-8."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None


@pytest.fixture
def world(make_realm, api_client):
    """Three serving realms and a disabled one, each with a client, a resource server, a live token and its kids."""
    members = {name: make_realm(name, token_format="jwt") for name in (*SERVING, DISABLED)}
    update_realm(realm=members[DISABLED].realm, enabled=False)
    tokens = {name: issue(api_client, members[name]) for name in SERVING}
    kids = {name: {key["kid"] for key in api_client.get(members[name].url(JWKS)).json()["keys"]} for name in SERVING}
    return members, tokens, kids


def test_no_realm_name_in_a_url_gets_a_5xx_or_another_realms_data(world, api_client):
    members, tokens, kids = world
    reached = set()

    @given(
        segment=segments,
        endpoint=st.sampled_from(ENDPOINTS),
        credentials_of=st.sampled_from(SERVING),
        token_of=st.sampled_from(SERVING),
    )
    @hypothesis_settings(
        max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(segment, endpoint, credentials_of, token_of):
        cache.clear()  # no lockout carried from one example to the next
        url = url_for(endpoint, segment)
        caller = members[credentials_of]
        if endpoint == "token":
            response = post_form(api_client, url, caller.client, grant_type="client_credentials")
        elif endpoint == "introspect":
            response = post_form(api_client, url, caller.gateway, token=tokens[token_of])
        elif endpoint == "revoke":
            response = post_form(api_client, url, caller.client, token=tokens[token_of])
        else:
            response = api_client.get(url)
        assert response.status_code < 500, (url, response.content[:200])

        name = decoded(segment)
        if name is not None and "/" in name:  # another path altogether: not a realm URL
            assert response.status_code == 404, url
            assert not any(issuer in response.content.decode() for issuer in (m.issuer for m in members.values()))
            reached.add("other path")
            return
        if name not in SERVING or name == "default":
            assert (response.status_code, response.json()) == (404, UNKNOWN_REALM), url
            reached.add("unknown")
            return
        realm = members[name]
        own = credentials_of == name
        reached.add(name)
        reached.add((name, endpoint, own))
        if endpoint == "token":
            if own:
                assert response.status_code == 200, response.content
                assert validate_access_token(response.json()["access_token"]).iss == realm.issuer
            else:
                assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
                assert "access_token" not in response.json()
        elif endpoint == "introspect":
            if not own:
                assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
            elif token_of == name:
                assert response.json()["active"] is True and response.json()["iss"] == realm.issuer
            else:
                assert (response.status_code, response.json()) == (200, {"active": False})
        elif endpoint == "revoke":
            if not own:
                assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
            else:
                assert (response.status_code, response.content) == (200, b"")
            if token_of != name or not own:  # nothing revoked: the token works at its own realm
                assert validate_access_token(tokens[token_of]).iss == members[token_of].issuer
            else:
                tokens[name] = issue(api_client, realm)  # revoked at its own realm: the next examples get a live one
        elif endpoint == "jwks":
            published = {key["kid"] for key in response.json()["keys"]}
            assert published == kids[name]
            assert not published & set().union(*(kids[other] for other in SERVING if other != name))
        else:
            document = response.json()
            assert document["issuer"] == realm.issuer
            assert document["token_endpoint"] == realm.issuer + TOKEN

    holds()
    # The generator reached every kind of answer: the unknown, another path, and every endpoint of
    # each realm other than the default, with its own credentials and (POSTs) another realm's.
    assert {"unknown", "other path"} <= reached, reached
    expected = {(name, endpoint, True) for name in ("alpha", "beta") for endpoint in ENDPOINTS}
    expected |= {(name, endpoint, False) for name in ("alpha", "beta") for endpoint in ("token", "introspect", "revoke")}
    assert expected <= reached, sorted(expected - reached)
