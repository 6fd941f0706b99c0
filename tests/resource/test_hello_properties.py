"""Property-based requests to the protected resource (RFC 6750 §3): /api/hello keeps its error
descriptions and challenges in the characters RFC 6749 §5.2 allows, and never answers 5xx."""

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.endpoints.test_properties import ALLOWED, CHALLENGE, as_wsgi_text, hostile, methods


def test_no_request_gets_a_resource_answer_outside_the_allowed_characters(make_keys, request_token, api_client):
    keys = make_keys(scopes="read write")
    token = request_token(keys, scope="read").json()["access_token"]  # GET passes, POST lacks "write"

    @given(
        method=methods,
        authorization=st.one_of(
            st.none(),
            st.just(f"Bearer {token}"),
            st.builds(lambda text: "Bearer " + text, hostile | st.text(max_size=30)).map(as_wsgi_text),
            st.builds(lambda a, b: f"Bearer {a} {b}", hostile, hostile).map(as_wsgi_text),
        ),
    )
    @hypothesis_settings(
        max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(method, authorization):
        headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
        response = api_client.generic(method, "/api/hello", **headers)
        assert response.status_code < 500
        if response.status_code >= 400:
            answer = response.json()
            assert ALLOWED.fullmatch(answer["error_description"]), answer
            assert ALLOWED.fullmatch(answer.get("scope", "")), answer
        if "WWW-Authenticate" in response:
            assert CHALLENGE.fullmatch(response["WWW-Authenticate"]), response["WWW-Authenticate"]

    holds()
