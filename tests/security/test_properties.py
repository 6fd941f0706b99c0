"""Property-based attacks on the OAuth endpoints (RFC 6749 §5.2, RFC 7662 §2.3, RFC 7009 §2.2).

Hypothesis throws arbitrary bodies (with a Content-Length, a lying one, or chunked), content
types, encodings, repeated parameters in the body and the query string, Accept and Authorization
values. Whatever arrives: never a 5xx, always a body in the negotiated format with
an RFC error code, and nothing written to the database unless a token was issued (the audit trail
of failed authentications aside, which is the point of it).
"""

import base64
import io
import json
from urllib.parse import parse_qsl, urlencode
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from audit.models import AuditAction, AuditEvent
from clients.models import Application, KeyPair
from tests.conftest import basic_auth, chunked
from tokens.models import AccessToken, SigningKey
from tokens.openapi import ERROR_CODES  # the codes the schema documents

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded", "application/xml")
FIELDS = ["grant_type", "client_id", "client_secret", "scope", "format", "validity_period", "token", "token_type_hint"]
VALUES = ["client_credentials", "read", "read write", "admin", "json", "xml", "urlencoded", "-1", "0", "1e3", "", " "]

names = st.sampled_from(FIELDS) | st.text(max_size=12)
values = st.sampled_from(VALUES) | st.text(max_size=40)
pairs = st.lists(st.tuples(names, values), max_size=8)  # names repeat freely


@st.composite
def bodies(draw, credentials, valid):
    """A (content type, body bytes) pair: forms, JSON, other types, broken encodings."""
    fields = draw(pairs)
    if draw(st.booleans()):  # often carry the real client's credentials in the body too
        fields += [("client_id", credentials[0]), ("client_secret", credentials[1])]
    kind = draw(st.sampled_from(["valid", "valid", "form", "json", "json-other", "raw", "empty"]))
    if kind == "valid":  # a well-formed request with unknown extra parameters (to be ignored)
        extra = draw(st.lists(st.tuples(st.text(min_size=1, max_size=8).filter(lambda n: n not in FIELDS), values)))
        return "application/x-www-form-urlencoded", urlencode([*valid, *extra]).encode()
    if kind == "form":
        encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
        body = urlencode(fields).encode(encoding, "replace")
    elif kind == "json":
        fields += draw(st.lists(st.tuples(st.sampled_from(FIELDS), st.sampled_from(["\ud800", "a\x00b", "\udfff\ud800"]))))
        body = json.dumps(dict(fields) if draw(st.booleans()) else fields).encode()
    elif kind == "json-other":
        body = json.dumps(draw(st.recursive(st.none() | st.integers() | st.text(), st.lists, max_leaves=5))).encode()
    elif kind == "raw":
        body = draw(st.binary(max_size=200))
    else:
        body = b""
    content_type = draw(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
                "application/json",
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/xml",
                "",
            ]
        )
        | st.text(max_size=30)
    )
    return content_type, body


@st.composite
def authorizations(draw, credentials):
    client_id, client_secret = credentials
    return draw(
        st.one_of(
            st.none(),
            st.just(basic_auth(client_id, client_secret)),
            st.just(basic_auth(client_id, client_secret)),  # twice: the valid client is drawn more often
            st.just(basic_auth(client_id, client_secret + "x")),
            st.builds(lambda a, b: basic_auth(a, b), st.text(max_size=20), st.text(max_size=20)),
            st.builds(lambda raw: "Basic " + base64.b64encode(raw).decode(), st.binary(max_size=40)),
            st.builds(lambda text: "Bearer " + text, st.text(max_size=30)),
            st.text(max_size=60).filter(lambda text: "\n" not in text and "\r" not in text),
        )
    )


@st.composite
def query_strings(draw, credentials, token):
    """A query string: ``format`` (often repeated), and credentials or tokens that must be ignored."""
    name = st.sampled_from(["format", "format", "client_id", "client_secret", "token", "grant_type", "scope"])
    value = st.sampled_from(["", "json", "xml", "urlencoded", "yaml", *credentials, token, "client_credentials"])
    return urlencode(draw(st.lists(st.tuples(name, value), min_size=1, max_size=4)))


def read_body(response) -> dict[str, str]:
    """Parse the answer by its Content-Type, which must be one of the three formats."""
    if response.status_code == 200 and response.request["PATH_INFO"] == "/oauth/revoke":
        assert response.content == b""  # RFC 7009 §2.2: nothing to say
        return {}
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in MEDIA_TYPES, response["Content-Type"]
    if media_type == "application/json":
        return json.loads(response.content)
    if media_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(response.content.decode("ascii"), keep_blank_values=True))
    root = ElementTree.fromstring(response.content)
    assert root.tag == "oauth"
    return {child.tag: child.text or "" for child in root}


def database_state():
    return {
        "tokens": AccessToken.objects.count(),
        "applications": list(Application.objects.values_list("id", "is_active", "scopes")),
        "key_pairs": list(KeyPair.objects.values_list("id", "secret_hash")),
        "signing_keys": SigningKey.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_request_breaks_an_oauth_endpoint(path, make_keys, api_client):
    keys = make_keys(is_resource_server=True)
    credentials = (keys.client_id, keys.client_secret)
    warm = api_client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(*credentials),
    )
    assert warm.status_code == 200  # the signing key now exists: issuing writes only the token row
    token = warm.json()["access_token"]
    valid = [("grant_type", "client_credentials")] if path == "/oauth/token" else [("token", token)]
    statuses = set()

    @given(
        body=bodies(credentials, valid),
        authorization=authorizations(credentials),
        accept=st.sampled_from(["", "*/*", "application/xml", "application/x-www-form-urlencoded", "text/html"])
        | st.text(max_size=30),
        query=st.sampled_from(["", "format=xml"]) | query_strings(credentials, token),
        content_length=st.sampled_from([None, None, "0", "-1", "abc", "+5", "99999999", "short", "long", "chunked"]),
        forwarded_for=st.none() | st.text(max_size=40).filter(lambda text: "\n" not in text and "\r" not in text),
    )
    @hypothesis_settings(
        max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(body, authorization, accept, query, content_length, forwarded_for):
        cache.clear()  # each example starts with no lockout counts
        content_type, payload = body
        headers = {"HTTP_ACCEPT": accept}
        if content_length == "chunked":  # no Content-Length: the body as gunicorn de-chunks it
            headers.update(chunked(payload))
            payload = b""
        elif content_length is not None:  # a Content-Length that lies, or is not a number
            lengths = {"short": str(max(0, len(payload) - 3)), "long": str(len(payload) + 5)}
            headers["CONTENT_LENGTH"] = lengths.get(content_length, content_length)
            if content_length == "long":  # the connection ends first: a short read, which FakePayload forbids
                headers["wsgi.input"] = io.BytesIO(payload)
        if forwarded_for is not None:
            headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
        if authorization is not None:
            headers["HTTP_AUTHORIZATION"] = authorization
        url = f"{path}?{query}" if query else path
        before = database_state()
        response = api_client.generic("POST", url, payload, content_type=content_type, **headers)
        after = database_state()

        statuses.add(response.status_code)
        assert response.status_code < 500
        assert response["Cache-Control"] == "no-store"
        answer = read_body(response)
        if response.status_code >= 400:
            assert answer["error"] in ERROR_CODES, answer
            assert answer["error_description"]
            assert keys.client_secret not in response.content.decode("utf-8", "replace")
        issued = path == "/oauth/token" and response.status_code == 200
        if issued:
            assert answer["token_type"] == "Bearer" and answer["access_token"]
        if path == "/oauth/introspect" and response.status_code == 200:
            assert answer["active"] in (True, False, "true", "false")
        assert after["tokens"] == before["tokens"] + (1 if issued else 0)
        assert (after["applications"], after["key_pairs"], after["signing_keys"]) == (
            before["applications"],
            before["key_pairs"],
            before["signing_keys"],
        )
        new_events = AuditEvent.objects.order_by("-id")[: after["audit"] - before["audit"]]
        allowed = {AuditAction.CLIENT_AUTH_FAILED} | ({AuditAction.TOKEN_ISSUED} if issued else set())
        if path == "/oauth/revoke" and response.status_code == 200:
            allowed.add(AuditAction.TOKEN_REVOKED)  # revoking the client's own token is a write
        assert {event.action for event in new_events} <= allowed

    holds()
    assert {200, 400, 401} <= statuses, statuses  # the generator reached success and both failure kinds


# RFC 6749 §3.2 across the query string and the body: a name read twice is refused, whatever else.

ANSWER_TYPES = {"json": "application/json", "xml": "application/xml", "urlencoded": "application/x-www-form-urlencoded"}
RESOURCES = ["https://api.example.com", "https://files.example.com"]


@st.composite
def repeatable_requests(draw, path, token):
    """Body and query pairs of a valid request, names drawn from a pool so that some repeat."""
    formats = st.sampled_from(list(ANSWER_TYPES))
    if path == "/oauth/token":
        pool = [st.just(("grant_type", "client_credentials")), st.just(("scope", "read")), st.just(("validity_period", "60"))]
        body = [("grant_type", "client_credentials")]
    else:
        pool = [st.just(("token", token)), st.just(("token_type_hint", "access_token"))]
        body = [("token", token)]
    pool += [st.tuples(st.just("format"), formats), st.tuples(st.just("resource"), st.sampled_from(RESOURCES)), st.just(("x", "1"))]
    body += draw(st.lists(st.one_of(pool), max_size=4))
    body = draw(st.permutations(body))
    # In a query string only format is read: the rest, repeated or not, must change nothing.
    ignored = st.sampled_from(["client_secret", "token", "grant_type", "scope", "resource"])
    query = draw(st.lists(st.tuples(st.just("format"), formats) | st.tuples(ignored, st.sampled_from(["a", "b", ""])), max_size=3))
    return body, query


def encode_body(pairs: list[tuple[str, str]], kind: str) -> tuple[str, bytes]:
    if kind == "json":  # an object with repeated keys, as a careless client may write it
        return "application/json", ("{" + ",".join(f"{json.dumps(n)}:{json.dumps(v)}" for n, v in pairs) + "}").encode()
    return "application/x-www-form-urlencoded", urlencode(pairs).encode()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_parameter_given_twice_is_refused_with_nothing_issued(path, make_keys, api_client):
    keys = make_keys(is_resource_server=True)
    authorization = basic_auth(keys.client_id, keys.client_secret)

    def new_token() -> str:
        answer = api_client.post(
            "/oauth/token", "grant_type=client_credentials", content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=authorization,
        )
        assert answer.status_code == 200
        return answer.json()["access_token"]

    tokens = {"current": new_token()}
    outcomes = set()

    @given(
        request=st.data(),
        kind=st.sampled_from(["form", "json"]),
        framing=st.sampled_from(["length", "chunked"]),
        accept=st.sampled_from(["", "application/xml", "application/x-www-form-urlencoded"]),
    )
    @hypothesis_settings(
        max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(request, kind, framing, accept):
        if path == "/oauth/revoke" and "revoked" in outcomes:
            tokens["current"] = new_token()  # the last example revoked it
            outcomes.discard("revoked")
        token = tokens["current"]
        body, query = request.draw(repeatable_requests(path, token))
        read = [*[pair for pair in query if pair[0] == "format"], *body]
        names = [name for name, _ in read if name != "resource"]
        repeated = {name for name in names if names.count(name) > 1}
        formats = [value for name, value in read if name == "format"]
        answer_format = formats[0] if len(formats) == 1 else {"": "json", "application/xml": "xml"}.get(accept, "urlencoded")

        content_type, payload = encode_body(body, kind)
        framed = {**chunked(payload)} if framing == "chunked" else {}
        url = f"{path}?{urlencode(query)}" if query else path
        revoked_rows = AccessToken.objects.filter(revoked_at__isnull=False)
        tokens_before, revoked_before = AccessToken.objects.count(), revoked_rows.count()
        response = api_client.generic(
            "POST", url, b"" if framed else payload, content_type=content_type,
            HTTP_AUTHORIZATION=authorization, HTTP_ACCEPT=accept, **framed,
        )

        assert response["Content-Type"].split(";")[0] == ANSWER_TYPES[answer_format] or (
            path == "/oauth/revoke" and response.status_code == 200
        )
        answer = read_body(response)
        revoked = revoked_rows.count() > revoked_before
        if repeated:
            assert response.status_code == 400, answer
            assert answer["error"] == "invalid_request"
            assert "more than once" in answer["error_description"]
            assert any(name in answer["error_description"] for name in repeated)
            assert AccessToken.objects.count() == tokens_before and not revoked
            outcomes.add("refused")
            return
        assert response.status_code == 200, answer
        if path == "/oauth/token":
            assert answer["token_type"] == "Bearer"
            assert AccessToken.objects.count() == tokens_before + 1
        elif path == "/oauth/introspect":
            assert answer["active"] in (True, "true")
        else:
            assert revoked
            outcomes.add("revoked")
        outcomes.add("accepted")

    holds()
    assert {"refused", "accepted"} <= outcomes, outcomes
