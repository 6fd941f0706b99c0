"""RFC 7662 §2.2 with RFC 8707: introspection reports ``aud`` as issued, for JWTs and for opaque tokens (their record)."""

import pytest

from clients.models import Application
from tests.audiences.conftest import BILLING, FILES
from tests.conftest import introspect
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(make_keys, make_application):
    return make_keys(make_application("gateway", is_resource_server=True))


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
@pytest.mark.parametrize(("resources", "aud"), [
    ([BILLING], BILLING),
    ([BILLING, FILES], [BILLING, FILES]),
    ([], "http://testserver"),
])
def test_introspection_reports_the_audience_as_issued(make_keys, ask, api_client, gateway, settings, token_format,
                                                      resources, aud):
    settings.OAUTH_AUDIENCE = "http://testserver"
    keys = make_keys(audiences=f"{BILLING} {FILES}", token_format=token_format)
    response = ask(keys, *[("resource", value) for value in resources])
    assert response.status_code == 200, response.content
    answer = introspect(api_client, gateway, response.json()["access_token"])
    assert answer["active"] is True and answer["aud"] == aud


def test_an_opaque_token_keeps_its_audiences_in_its_record(make_keys, ask):
    keys = make_keys(audiences=f"{BILLING} {FILES}", token_format="opaque")
    assert ask(keys, ("resource", FILES), ("resource", BILLING)).status_code == 200
    assert AccessToken.objects.get().audience == f"{FILES} {BILLING}"


def test_an_opaque_record_from_before_audiences_reads_as_the_realms_own(make_keys, ask, api_client, gateway, settings):
    keys = make_keys(token_format="opaque")
    token = ask(keys).json()["access_token"]
    AccessToken.objects.update(audience="")  # as migration 0009 leaves older rows
    assert introspect(api_client, gateway, token)["aud"] == settings.OAUTH_AUDIENCE


def test_a_token_for_an_audience_taken_from_its_application_is_inactive(make_keys, ask, api_client, gateway):
    keys = make_keys(audiences=f"{BILLING} {FILES}")
    token = ask(keys, ("resource", BILLING)).json()["access_token"]
    application = Application.objects.get(key_pairs__client_id=keys.client_id)
    application.audiences = FILES
    application.save()
    assert introspect(api_client, gateway, token) == {"active": False}
