"""Hypothesis over ``resource`` values (RFC 8707 §2): never a 500; a token only for an allowed absolute URI, else invalid_target."""

from urllib.parse import urlencode

import jwt
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.audiences.conftest import BILLING, FILES
from tests.conftest import basic_auth
from tokens.protocol.audiences import is_audience_uri

pytestmark = pytest.mark.django_db

resources = st.one_of(
    st.sampled_from([BILLING, FILES, f"{BILLING}#x", "urn:x:y", "", " ", "%", "https://", "https:%zz"]),
    st.text(max_size=300),
    st.text(alphabet="htps:/#?%[]@!$&'()*+,;=.-_~aZ09 \x00\u00e9", max_size=40),
    st.builds(lambda tail: f"https://{tail}", st.text(max_size=60)),
)


def test_any_resource_values_never_give_a_500(make_keys, api_client):
    keys = make_keys(audiences=f"{BILLING} {FILES}")
    authorization = basic_auth(keys.client_id, keys.client_secret)

    @given(values=st.lists(resources, max_size=4), as_json=st.booleans())
    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def holds(values, as_json):
        pairs = [("grant_type", "client_credentials"), *[("resource", value) for value in values]]
        if as_json:
            body, content_type = {"grant_type": "client_credentials", "resource": values[0] if values else ""}, "json"
            response = api_client.post("/oauth/token", body, format=content_type, HTTP_AUTHORIZATION=authorization)
            values = values[:1]
        else:
            response = api_client.post("/oauth/token", urlencode(pairs), content_type="application/x-www-form-urlencoded",
                                       HTTP_AUTHORIZATION=authorization)
        assert response.status_code in (200, 400), response.content
        named = [value for value in values if value]
        if response.status_code == 200:
            assert all(value in (BILLING, FILES) for value in named)
            aud = jwt.decode(response.json()["access_token"], options={"verify_signature": False})["aud"]
            wanted = list(dict.fromkeys(named))
            assert aud == (wanted[0] if len(wanted) == 1 else wanted) if wanted else isinstance(aud, str)
        else:
            error = response.json()["error"]
            assert error in ("invalid_target", "invalid_request"), response.content
            if error == "invalid_request":  # a value the body cannot carry (a NUL, a lone surrogate...)
                assert any(not value.isprintable() or "\x00" in value for value in named)
            else:
                assert any(not is_audience_uri(value) or value not in (BILLING, FILES) for value in named)

    holds()
