"""What a separate API asks of the authorization server: how often, after a key rotation, and when it is down.

jwks mode fetches the metadata and the JWKS once, then verifies with no call, fetching the JWKS
again on an unknown ``kid`` (RFC 7517 §4.5), and keeps its last good keys while the server is
unreachable. Introspection mode (RFC 7662) asks once per token per ``CACHE_SECONDS``, once per
``INACTIVE_CACHE_SECONDS`` for a token it was told is inactive, and answers 503
``temporarily_unavailable`` when it cannot ask, never accepting an unchecked token. The calls are
counted by a proxy that is the servers' ``OAUTH_ISSUER`` (``remote_apis.CountingProxy``).
"""

import re
import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from .instances import SharedSetup, shared_setup
from .remote_apis import CountingProxy, RemoteAPI, assert_invalid_token, counting_proxy, issue, served_api

AUDIENCE = "https://invoices.example"
INACTIVE_CACHE_SECONDS = 2
REFETCH_SECONDS = 1  # resource_server.jwks: an unknown kid fetches the JWKS again at most this often
INTROSPECT, JWKS = "/oauth/introspect", "/.well-known/jwks.json"


@dataclass
class Servers:
    setup: SharedSetup
    reader: dict
    resource: dict  # introspection credentials of the introspection-mode APIs


@dataclass
class Deployment:
    """One authorization server behind its counting proxy, with a jwks-mode and an introspection-mode API."""

    proxy: CountingProxy
    server_url: str
    jwks: RemoteAPI
    introspection: RemoteAPI


@pytest.fixture(scope="module")
def servers():
    with shared_setup(OAUTH_AUDIENCE=AUDIENCE) as setup:
        yield Servers(
            setup=setup,
            reader=setup.create_client("reader", "--scopes", "read"),
            resource=setup.create_client("invoices-api", "--resource-server"),
        )


def deploy(servers: Servers, proxy: CountingProxy, stack: ExitStack) -> Deployment:
    """Start a server whose issuer is proxy, and the two remote-mode APIs that trust it."""
    server = servers.setup.start(env={"OAUTH_ISSUER": proxy.url})
    proxy.upstream = server.url
    common = {"RESOURCE_ISSUER": proxy.url, "RESOURCE_AUDIENCE": AUDIENCE}
    jwks_api = stack.enter_context(served_api(servers.setup.folder, RESOURCE_MODE="jwks", **common))
    introspection_api = stack.enter_context(served_api(
        servers.setup.folder, RESOURCE_MODE="introspection", **common,
        RESOURCE_CLIENT_ID=servers.resource["client_id"], RESOURCE_CLIENT_SECRET=servers.resource["client_secret"],
        RESOURCE_CACHE_SECONDS="60", RESOURCE_INACTIVE_CACHE_SECONDS=str(INACTIVE_CACHE_SECONDS),
    ))
    return Deployment(proxy, server.url, jwks_api, introspection_api)


@pytest.fixture(scope="module")
def deployment(servers):
    with counting_proxy() as proxy, ExitStack() as stack:
        yield deploy(servers, proxy, stack)


def test_a_warm_jwks_mode_api_verifies_with_no_call_to_the_server(servers, deployment):
    first, second = issue(deployment.server_url, servers.reader), issue(deployment.server_url, servers.reader)
    assert deployment.jwks.call("/invoices", first).status_code == 200
    assert deployment.proxy.count(JWKS) >= 1
    before = deployment.proxy.total()
    for token in (first, second, first):  # a token seen before, and one it has not seen, of a known key
        assert deployment.jwks.call("/invoices", token).status_code == 200
    assert deployment.proxy.total() == before


def test_introspection_mode_asks_once_for_a_token_and_then_answers_from_its_cache(servers, deployment):
    token = issue(deployment.server_url, servers.reader)
    before = deployment.proxy.count(INTROSPECT)
    assert deployment.introspection.call("/invoices", token).status_code == 200
    assert deployment.proxy.count(INTROSPECT) == before + 1
    total = deployment.proxy.total()
    for _ in range(5):
        assert deployment.introspection.call("/invoices", token).status_code == 200
    assert deployment.proxy.total() == total


def test_an_unknown_token_costs_at_most_one_introspection_per_inactive_cache_seconds(deployment):
    garbage = secrets.token_urlsafe(32)
    before = deployment.proxy.count(INTROSPECT)
    started = time.monotonic()
    for _ in range(30):
        assert_invalid_token(deployment.introspection.call("/invoices", garbage))
    elapsed = time.monotonic() - started
    asked = deployment.proxy.count(INTROSPECT) - before
    assert 1 <= asked <= 1 + int(elapsed // INACTIVE_CACHE_SECONDS)

    time.sleep(INACTIVE_CACHE_SECONDS)  # the inactive answer is forgotten: asked again
    before = deployment.proxy.count(INTROSPECT)
    assert_invalid_token(deployment.introspection.call("/invoices", garbage))
    assert deployment.proxy.count(INTROSPECT) == before + 1


def kids_published(server_url: str) -> set[str]:
    return {key["kid"] for key in requests.get(f"{server_url}{JWKS}", timeout=10).json()["keys"]}


def rotate(setup: SharedSetup) -> str:
    """Run ``rotatekeys``; return the kid that signs from now on."""
    return re.search(r"Signing key (\S+) \(", setup.manage("rotatekeys")).group(1)


def test_after_a_rotation_a_token_of_a_key_the_api_has_not_seen_is_accepted_after_one_jwks_fetch(servers, deployment):
    old_token = issue(deployment.server_url, servers.reader)
    assert deployment.jwks.call("/invoices", old_token).status_code == 200
    warmed = time.monotonic()
    known = kids_published(deployment.server_url)  # no newer than the API's copy
    # The next key is published ahead of each rotation, so one rotation would sign with a key the
    # API already holds; after two, the signing key was published after the API's last fetch.
    rotate(servers.setup)
    signing_kid = rotate(servers.setup)
    new_token = issue(deployment.server_url, servers.reader)
    assert jwt.get_unverified_header(new_token)["kid"] == signing_kid
    assert signing_kid not in known
    time.sleep(max(0.0, warmed + REFETCH_SECONDS + 0.1 - time.monotonic()))

    fetches = deployment.proxy.count(JWKS)
    response = deployment.jwks.call("/invoices", new_token)
    assert response.status_code == 200, response.text
    assert deployment.proxy.count(JWKS) == fetches + 1
    assert deployment.jwks.call("/invoices", old_token).status_code == 200  # its key is still published


def forged_token(genuine: str) -> str:
    """The claims of genuine, signed with a key of the test's own under a kid no server has."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "unknown-kid", "typ": "at+jwt"})


def test_while_the_server_is_down_jwks_mode_verifies_with_its_keys_and_introspection_mode_answers_503(servers):
    """A deployment of its own: this test stops its server."""
    with counting_proxy() as proxy, ExitStack() as stack:
        down = deploy(servers, proxy, stack)
        known = issue(down.server_url, servers.reader)
        for api in (down.jwks, down.introspection):
            assert api.call("/invoices", known).status_code == 200  # keys fetched; answer cached
        warmed = time.monotonic()
        unseen = issue(down.server_url, servers.reader)

        server = next(instance for instance in servers.setup.instances if instance.url == down.server_url)
        server.process.terminate()
        server.process.wait(timeout=30)
        proxy.close()  # its port refuses connections now, as the server's would

        for token in (known, unseen):
            response = down.jwks.call("/invoices", token)
            assert response.status_code == 200, response.text
        time.sleep(max(0.0, warmed + REFETCH_SECONDS + 0.1 - time.monotonic()))
        # An unknown kid: a refetch, which fails; perhaps the key the server rotated to, so "try again".
        response = down.jwks.call("/invoices", forged_token(known))
        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable", response.text
        assert "JWKS refresh failed, still verifying with the keys fetched before" in down.jwks.log()

        assert down.introspection.call("/invoices", known).status_code == 200
        for _ in range(3):
            response = down.introspection.call("/invoices", unseen)
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "temporarily_unavailable"
        assert "token introspection unavailable" in down.introspection.log()
        for api in (down.jwks, down.introspection):
            assert "Traceback" not in api.log()
