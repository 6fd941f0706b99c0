"""RFC 9449 §5 and §6 at the token endpoint: bound tokens, invalid proofs, replays, require_dpop, introspection, metadata."""

from urllib.parse import urlencode

import jwt
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from requests_oauth2client import DPoPKey

from clients.services import create_realm
from tests.conftest import basic_auth, introspect
from tokens.models import AccessToken, UsedDPoPProof

from .conftest import ISSUER, TOKEN_ENDPOINT, claims_of, forged_proof, proof, require_dpop


def test_a_valid_proof_gets_a_dpop_token_bound_to_its_key(make_keys, dpop_token, dpop_key, without_shared_cache):
    keys = make_keys()
    response = dpop_token(keys, proof(dpop_key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.dpop_jkt}
    assert UsedDPoPProof.objects.count() == 1  # no shared cache in these tests: the database remembers it


def test_without_a_proof_the_token_is_a_bearer_token_as_before(make_keys, dpop_token):
    body = dpop_token(make_keys(), None).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])


def test_an_opaque_token_keeps_its_binding_in_its_record_and_introspection_says_so(make_keys, dpop_token, dpop_key, api_client):
    keys = make_keys(token_format="opaque")
    body = dpop_token(keys, proof(dpop_key)).json()
    assert body["token_type"] == "DPoP"
    assert AccessToken.objects.get().jkt == dpop_key.dpop_jkt
    resource_server = make_keys(name="inventory-api", is_resource_server=True)
    answer = introspect(api_client, resource_server, body["access_token"])
    assert answer["active"] is True
    assert (answer["token_type"], answer["cnf"]) == ("DPoP", {"jkt": dpop_key.dpop_jkt})


def test_introspection_of_a_bound_jwt_gives_cnf_and_an_unbound_one_none(make_keys, dpop_token, dpop_key, api_client):
    keys = make_keys()
    bound = dpop_token(keys, proof(dpop_key)).json()["access_token"]
    plain = dpop_token(keys, None).json()["access_token"]
    resource_server = make_keys(name="inventory-api", is_resource_server=True)
    assert introspect(api_client, resource_server, bound)["cnf"] == {"jkt": dpop_key.dpop_jkt}
    answer = introspect(api_client, resource_server, plain)
    assert answer["token_type"] == "Bearer" and "cnf" not in answer


@pytest.mark.parametrize(
    "make_proof",
    [
        lambda key: proof(key, htm="GET"),
        lambda key: proof(key, htu=ISSUER + "/oauth/introspect"),
        lambda key: proof(key, htu="http://evil.example/oauth/token"),
        lambda key: forged_proof(key, iat=1),
        lambda key: forged_proof(key, header={"typ": "JWT"}),
        lambda key: "not-a-proof",
        lambda key: proof(key) + ", " + proof(key),  # two DPoP headers, as a WSGI server joins them
    ],
    ids=["htm", "htu-endpoint", "htu-host", "stale-iat", "typ", "garbage", "two-headers"],
)
def test_an_invalid_proof_is_400_invalid_dpop_proof_and_no_token(make_keys, dpop_token, dpop_key, make_proof):
    response = dpop_token(make_keys(), make_proof(dpop_key))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert "access_token" not in response.json()
    assert response["Cache-Control"] == "no-store"


def test_a_replayed_proof_is_refused(make_keys, dpop_token, dpop_key):
    keys = make_keys()
    value = proof(dpop_key)
    assert dpop_token(keys, value).status_code == 200
    again = dpop_token(keys, value)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_dpop_proof", "error_description": "The DPoP proof was used before: make a new one for each request."}


def test_a_proof_is_remembered_only_once_the_client_authenticated(make_keys, dpop_token, dpop_key, api_client):
    keys = make_keys()
    value = proof(dpop_key)
    wrong = api_client.post("/oauth/token", urlencode({"grant_type": "client_credentials"}),
                            content_type="application/x-www-form-urlencoded",
                            HTTP_AUTHORIZATION=basic_auth(keys.client_id, "wrong"), HTTP_DPOP=value)
    assert wrong.status_code == 401 and UsedDPoPProof.objects.count() == 0
    assert dpop_token(keys, value).status_code == 200


def test_the_trailing_slash_endpoint_takes_its_own_url(make_keys, dpop_token, dpop_key):
    response = dpop_token(make_keys(), proof(dpop_key, htu=TOKEN_ENDPOINT + "/"), path="/oauth/token/")
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"


def test_htu_is_built_from_oauth_issuer_not_the_host_header(make_keys, dpop_token, dpop_key, settings):
    settings.OAUTH_ISSUER = "https://auth.example.com"
    keys = make_keys()
    assert dpop_token(keys, proof(dpop_key, htu="http://testserver/oauth/token")).status_code == 400
    assert dpop_token(keys, proof(dpop_key, htu="https://AUTH.example.com:443/oauth/token")).status_code == 200


def test_a_realms_token_endpoint_wants_its_own_url(make_keys, dpop_token, dpop_key):
    keys = make_keys(realm=create_realm(name="alpha"))
    assert dpop_token(keys, proof(dpop_key), path="/realms/alpha/oauth/token").status_code == 400
    response = dpop_token(keys, proof(dpop_key, htu=ISSUER + "/realms/alpha/oauth/token"), path="/realms/alpha/oauth/token")
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["iss"] == ISSUER + "/realms/alpha"


def test_an_application_requiring_dpop_is_refused_without_a_proof(make_keys, dpop_token, dpop_key):
    keys = make_keys()
    require_dpop(keys)
    response = dpop_token(keys, None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "DPoP" in response.json()["error_description"]
    assert dpop_token(keys, proof(dpop_key)).json()["token_type"] == "DPoP"


def test_metadata_lists_the_dpop_algorithms(api_client, db):
    body = api_client.get("/.well-known/oauth-authorization-server").json()
    assert body["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"]


def test_cleartokens_drops_used_proofs_past_their_time(make_keys, dpop_token, dpop_key, without_shared_cache):
    from datetime import timedelta

    from django.utils import timezone

    from tokens.services import clear_tokens

    dpop_token(make_keys(), proof(dpop_key))
    clear_tokens()
    assert UsedDPoPProof.objects.count() == 1  # still within its window
    clear_tokens(now=timezone.now() + timedelta(minutes=2))
    assert UsedDPoPProof.objects.count() == 0


def test_with_a_shared_cache_a_replay_is_caught_there_without_a_row(make_keys, dpop_token, dpop_key, settings, redis_server):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_server.url, "KEY_PREFIX": "dpop-test"}}
    keys = make_keys()
    value = proof(dpop_key)
    assert dpop_token(keys, value).status_code == 200
    assert dpop_token(keys, value).json()["error"] == "invalid_dpop_proof"
    assert UsedDPoPProof.objects.count() == 0


_KEY = DPoPKey.generate(alg="ES256")


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200),
    st.builds(lambda h, c: forged_proof(_KEY, header=h, **c),
              st.dictionaries(st.sampled_from(["typ", "jwk"]), st.one_of(st.none(), st.integers(), st.text(max_size=8)), max_size=2),
              # Never a valid value: no string (a jti may be any), no integer near now (an iat).
              st.dictionaries(st.sampled_from(["htm", "htu", "iat", "jti"]),
                              st.one_of(st.none(), st.integers(max_value=10**6), st.lists(st.booleans(), max_size=2)),
                              min_size=1, max_size=3)),
))
def test_a_malformed_proof_never_gets_a_token_nor_a_500(make_keys, dpop_token, value):
    keys = make_keys(name="fuzzed")
    response = dpop_token(keys, value)
    assert response.status_code == 400, response.content
    assert response.json()["error"] in ("invalid_dpop_proof", "invalid_request")
    assert "access_token" not in response.json()


def test_createclient_require_dpop_registers_an_application_that_needs_a_proof(dpop_token, db):
    import io
    import json

    from django.core.management import call_command

    from clients.models import Application

    out = io.StringIO()
    call_command("createclient", "sensor-fleet", "--require-dpop", stdout=out)
    printed = json.loads(out.getvalue())
    assert Application.objects.get(name="sensor-fleet").require_dpop is True

    class Keys:
        client_id, client_secret = printed["client_id"], printed["client_secret"]

    assert dpop_token(Keys, None).json()["error"] == "invalid_request"


def test_the_portal_toggles_require_dpop(client, django_user_model, make_application):
    from clients.models import Application

    owner = django_user_model.objects.create_user("dev", password="pw-1234-long")
    application = make_application("mine", scopes="read", owner=owner)
    client.force_login(owner)
    page = client.get(f"/portal/applications/{application.pk}/edit/")
    assert b'name="require_dpop"' in page.content
    response = client.post(f"/portal/applications/{application.pk}/edit/", {
        "name": "mine", "description": "", "scopes": ["read"], "default_scopes": ["read"],
        "client_credentials_enabled": "on", "token_format": "", "token_lifetime": "", "require_dpop": "on",
    })
    assert response.status_code == 302, response.content
    assert Application.objects.get(pk=application.pk).require_dpop is True
    assert b"Required: tokens are bound" in client.get(f"/portal/applications/{application.pk}/").content
