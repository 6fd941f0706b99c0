"""A separate API project protected by ``resource_server``, in each mode, against a live server.

RFC 6750 §3.1 as the API answers it: a live token of this issuer (or of one of the issuers a
jwks-mode API lists) and audience is accepted; an expired, forged, tampered, sandbox,
other-audience or other-issuer token is 401 ``invalid_token``;
a missing scope is 403 ``insufficient_scope``. A revoked token is refused in introspection and
database modes and still accepted in jwks mode until its ``exp``: the documented trade-off of
verifying locally. The remote modes load nothing of the server's models and hold none of its
secrets; database mode reads its database but never decrypts a private key.
"""

import base64
import json
import time
from contextlib import ExitStack
from dataclasses import dataclass

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa

from .instances import SharedSetup, eventually, shared_setup
from .remote_apis import (
    CountingProxy,
    RemoteAPI,
    assert_invalid_token,
    counting_proxy,
    introspect,
    issue,
    revoke,
    served_api,
)

MODES = ("jwks", "introspection", "database")
AUDIENCE = "https://invoices.example"  # the servers' OAUTH_AUDIENCE, so issuers alone tell their tokens apart
SANDBOX_AUDIENCE = f"{AUDIENCE}/sandbox"  # the servers' default for it
OTHER_ISSUER = "http://other-issuer.example"  # http: an https issuer makes the server redirect plain HTTP
CACHE_SECONDS = 1  # the introspection-mode API's: how long it may take a revoked token for live
SHORT_LIFETIME = 2


@dataclass
class World:
    setup: SharedSetup
    proxy: CountingProxy  # the issuer's URL, in front of the server
    server_url: str
    reader: dict  # scopes read and write, read by default
    sandbox_reader: dict  # the same application's sandbox keys
    opaque: dict
    resource: dict  # introspection credentials of the introspection-mode API
    short_token: str  # issued when the module starts, with a lifetime of SHORT_LIFETIME seconds


@pytest.fixture(scope="module")
def world():
    key_encryption_key = Fernet.generate_key().decode()  # the server's alone: no API is given it
    with counting_proxy() as proxy, shared_setup(
        OAUTH_ISSUER=proxy.url, OAUTH_AUDIENCE=AUDIENCE, OAUTH_KEY_ENCRYPTION_KEY=key_encryption_key
    ) as setup:
        reader = setup.create_client("reader", "--scopes", "read write", "--default-scopes", "read")
        short = setup.create_client("short", "--lifetime", str(SHORT_LIFETIME))
        server = setup.start()
        proxy.upstream = server.url
        short_token = issue(server.url, short)
        yield World(
            setup=setup,
            proxy=proxy,
            server_url=server.url,
            reader=reader,
            sandbox_reader=sandbox_keys(setup, "reader"),
            opaque=setup.create_client("opaque", "--token-format", "opaque"),
            resource=setup.create_client("invoices-api", "--resource-server"),
            short_token=short_token,
        )


def sandbox_keys(setup: SharedSetup, name: str) -> dict:
    """Sandbox keys for an application (as the admin's "Generate sandbox keys" action makes them)."""
    code = (
        "import json; from clients.models import Application; from clients.services import generate_keys; "
        f"keys = generate_keys(application=Application.objects.get(name={name!r}), environment='sandbox'); "
        "print(json.dumps({'client_id': keys.client_id, 'client_secret': keys.client_secret}))"
    )
    return json.loads(setup.manage("shell", "-c", code))


def api_variables(world: World, mode: str, *, audience: str = AUDIENCE) -> dict[str, str]:
    """The API project's whole configuration in mode: the issuer and audience, and what the mode needs."""
    variables = {"RESOURCE_MODE": mode, "RESOURCE_ISSUER": world.proxy.url, "RESOURCE_AUDIENCE": audience}
    if mode == "database":  # the server's database and host folder, none of its keys
        variables |= {"RESOURCE_DATABASE_URL": world.setup.env["DATABASE_URL"], "RESOURCE_VAR_DIR": world.setup.env["VAR_DIR"]}
    else:
        variables["RESOURCE_SANDBOX_AUDIENCE"] = f"{audience}/sandbox"  # as the servers derive theirs
    if mode == "introspection":
        variables |= {
            "RESOURCE_CLIENT_ID": world.resource["client_id"],
            "RESOURCE_CLIENT_SECRET": world.resource["client_secret"],
            "RESOURCE_CACHE_SECONDS": str(CACHE_SECONDS),
            "RESOURCE_INACTIVE_CACHE_SECONDS": str(CACHE_SECONDS),
        }
    return variables


@pytest.fixture(scope="module")
def apis(world) -> dict[str, RemoteAPI]:
    with ExitStack() as stack:
        yield {mode: stack.enter_context(served_api(world.setup.folder, **api_variables(world, mode))) for mode in MODES}


@pytest.fixture(scope="module")
def other_issuer_url(world) -> str:
    """A second server on the same database (so the same signing keys) with another OAUTH_ISSUER."""
    return world.setup.start(env={"OAUTH_ISSUER": OTHER_ISSUER}).url


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("mode", MODES)
def test_a_live_token_is_accepted_and_the_api_sees_its_client_scope_and_issuer(world, apis, mode):
    response = apis[mode].call("/invoices", issue(world.server_url, world.reader))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "client_id": world.reader["client_id"], "scope": "read", "iss": world.proxy.url, "env": "production",
    }


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_token_is_invalid_token(world, apis, mode):
    claims = claims_of(world.short_token)
    assert claims["exp"] - claims["iat"] == SHORT_LIFETIME
    time.sleep(max(0.0, claims["exp"] + 0.5 - time.time()))
    assert_invalid_token(apis[mode].call("/invoices", world.short_token))


@pytest.mark.parametrize("mode", MODES)
def test_a_sandbox_token_is_refused_at_invoices_and_accepted_where_the_view_opts_in(world, apis, mode):
    token = issue(world.server_url, world.sandbox_reader)
    assert (claims_of(token)["aud"], claims_of(token)["env"]) == (SANDBOX_AUDIENCE, "sandbox")
    assert_invalid_token(apis[mode].call("/invoices", token))
    response = apis[mode].call("/sandbox-invoices", token)
    assert response.status_code == 200, response.text
    assert response.json()["env"] == "sandbox"


@pytest.mark.parametrize("mode", MODES)
def test_an_api_of_another_audience_refuses_a_production_token(world, apis, mode):
    token = issue(world.server_url, world.reader)
    assert apis[mode].call("/invoices", token).status_code == 200  # the same token, at its own audience
    with served_api(world.setup.folder, **api_variables(world, mode, audience="https://payroll.example")) as other:
        assert_invalid_token(other.call("/invoices", token))


@pytest.mark.parametrize("mode", MODES)
def test_a_token_of_another_issuer_signed_with_the_same_keys_is_refused(world, apis, other_issuer_url, mode):
    token = issue(other_issuer_url, world.reader)
    ours = issue(world.server_url, world.reader)
    assert jwt.get_unverified_header(token)["kid"] == jwt.get_unverified_header(ours)["kid"]
    assert (claims_of(token)["iss"], claims_of(token)["aud"]) == (OTHER_ISSUER, AUDIENCE)
    assert introspect(world.server_url, world.resource, token) == {"active": False}
    assert_invalid_token(apis[mode].call("/invoices", token))


def test_a_jwks_api_trusting_two_issuers_accepts_each_and_refuses_a_third_without_a_call(world, other_issuer_url):
    with counting_proxy() as second_proxy:
        second = world.setup.start(env={"OAUTH_ISSUER": second_proxy.url})  # the same database, another issuer
        second_proxy.upstream = second.url
        variables = {**api_variables(world, "jwks"), "RESOURCE_ISSUER": f"{world.proxy.url} {second_proxy.url}"}
        with served_api(world.setup.folder, **variables) as api:
            for server_url, issuer in ((world.server_url, world.proxy.url), (second.url, second_proxy.url)):
                response = api.call("/invoices", issue(server_url, world.reader))
                assert response.status_code == 200, response.text
                assert response.json()["iss"] == issuer
            assert second_proxy.count("/.well-known/oauth-authorization-server") == 1  # its metadata, from its own URL
            calls = (world.proxy.total(), second_proxy.total())
            assert_invalid_token(api.call("/invoices", issue(other_issuer_url, world.reader)))
            assert (world.proxy.total(), second_proxy.total()) == calls  # an untrusted iss: no call at all


@pytest.mark.parametrize("mode", MODES)
def test_a_forged_or_tampered_token_is_invalid_token(world, apis, mode):
    genuine = issue(world.server_url, world.reader)
    kid = jwt.get_unverified_header(genuine)["kid"]
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_with_our_kid = jwt.encode(claims_of(genuine), own_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    forged_with_its_kid = jwt.encode(claims_of(genuine), own_key, algorithm="RS256", headers={"kid": "forger", "typ": "at+jwt"})
    header, payload, signature = genuine.split(".")
    widened = {**claims_of(genuine), "scope": "read write"}
    tampered = ".".join((header, base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=").decode(), signature))

    assert apis[mode].call("/invoices", genuine).status_code == 200
    for token in (forged_with_our_kid, forged_with_its_kid, tampered):
        assert_invalid_token(apis[mode].call("/invoices", token))
    assert apis[mode].call("/invoices", tampered, method="POST").status_code == 401


@pytest.mark.parametrize("mode", MODES)
def test_a_revoked_token_is_refused_except_in_jwks_mode_which_accepts_it_until_exp(world, apis, mode):
    token = issue(world.server_url, world.reader)
    assert apis[mode].call("/invoices", token).status_code == 200  # now remembered by the API
    revoke(world.server_url, world.reader, token)
    assert introspect(world.server_url, world.resource, token) == {"active": False}

    if mode == "jwks":  # the trade-off of verifying locally: no call to the server, so no news of revocations
        assert apis[mode].call("/invoices", token).status_code == 200
    else:
        # Introspection: once the answer is CACHE_SECONDS old. Database mode: at once on this host (the stamp file).
        assert eventually(lambda: apis[mode].call("/invoices", token).status_code == 401, within=CACHE_SECONDS + 2)
        assert_invalid_token(apis[mode].call("/invoices", token))


@pytest.mark.parametrize("mode", MODES)
def test_a_token_without_the_needed_scope_is_403_insufficient_scope(world, apis, mode):
    read_only = issue(world.server_url, world.reader)
    refused = apis[mode].call("/invoices", read_only, method="POST")
    assert refused.status_code == 403, refused.text
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="write"' in refused.headers["WWW-Authenticate"]
    read_write = issue(world.server_url, world.reader, scope="read write")
    assert apis[mode].call("/invoices", read_write, method="POST").status_code == 201


@pytest.mark.parametrize("mode", MODES)
def test_opaque_tokens_work_in_introspection_and_database_modes_and_not_in_jwks_mode(world, apis, mode):
    token = issue(world.server_url, world.opaque)
    assert token.count(".") != 2  # not a JWT
    response = apis[mode].call("/invoices", token)
    if mode == "jwks":
        assert_invalid_token(response)
    else:
        assert response.status_code == 200, response.text
        assert response.json()["client_id"] == world.opaque["client_id"]


SERVER_SECRETS = ("SECRET_KEY", "OAUTH_KEY_ENCRYPTION_KEY", "SECRET_KEY_FALLBACKS", "DATABASE_URL")
# What of the server's package a remote mode may load: the protocol rules and the error rendering.
ALLOWED_SERVER_MODULES = ("tokens", "tokens.exceptions")


@pytest.mark.parametrize("mode", ["jwks", "introspection"])
def test_a_remote_mode_loads_no_model_opens_no_database_and_holds_no_server_secret(world, apis, mode):
    api = apis[mode]
    assert api.call("/invoices", issue(world.server_url, world.reader)).status_code == 200
    assert api.call("/invoices", "not-a-token-at-all-but-long-enough").status_code == 401

    loaded = api.process_report()
    assert loaded["database_connections"] == []
    assert not [name for name in loaded["modules"] if name.split(".")[0] in ("clients", "audit", "cluster")]
    assert "tokens.models" not in loaded["modules"]
    assert {name for name in loaded["modules"] if not name.startswith("tokens.protocol")} <= set(ALLOWED_SERVER_MODULES)
    assert_no_server_secret(world, api)


def test_database_mode_verifies_without_the_key_encryption_key_and_with_another_secret_key(world, apis):
    """The signing keys are encrypted with the server's key-encryption key; the API has neither it nor SECRET_KEY."""
    api = apis["database"]
    assert world.setup.env["OAUTH_KEY_ENCRYPTION_KEY"]
    assert api.call("/invoices", issue(world.server_url, world.reader)).status_code == 200
    assert api.call("/invoices", issue(world.server_url, world.opaque)).status_code == 200
    assert "tokens.models" in api.process_report()["modules"]  # it did read the server's tables
    assert_no_server_secret(world, api)


def assert_no_server_secret(world: World, api: RemoteAPI) -> None:
    environment = api.environment()
    assert not set(SERVER_SECRETS) & set(environment)
    secrets = {world.setup.env[name] for name in ("SECRET_KEY", "OAUTH_KEY_ENCRYPTION_KEY")}
    assert not [name for name, value in environment.items() if any(secret in value for secret in secrets)]
