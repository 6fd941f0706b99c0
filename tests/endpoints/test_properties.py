"""Property-based attacks on the OAuth endpoints (RFC 6749 §5.2, RFC 7662 §2.3, RFC 7009 §2.2).

Hypothesis throws arbitrary bodies (with a Content-Length, a lying one, or chunked), content
types, encodings, repeated parameters in the body and the query string, Accept and Authorization
values, methods, and quotes, backslashes, non-ASCII letters, control characters and line
separators in every field the server may echo. Whatever arrives: never a 5xx, always a body in the
negotiated format with an RFC error code whose description (and any challenge) stays in the
characters §5.2 allows, and nothing written to the database unless a token was issued (the audit
trail of failed authentications aside, which is the point of it). The resource side (/api/hello,
RFC 6750 §3) is resource/test_hello_properties.py. Accept headers with
q-values get the format that RFC 9110 §12.5.1, written out plainly below, says they should.
"""

import base64
import io
import json
import re
from urllib.parse import parse_qsl, urlencode
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from audit.models import AuditAction, AuditEvent
from clients.models import Application, ClientSecret, KeyPair
from tests.conftest import basic_auth, chunked, issued_count
from tokens.models import AccessToken, SigningKey
from tokens.openapi import ERROR_CODES  # the codes the schema documents

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded", "application/xml")
FIELDS = ["grant_type", "client_id", "client_secret", "scope", "format", "validity_period", "token", "token_type_hint"]
VALUES = ["client_credentials", "read", "read write", "admin", "json", "xml", "urlencoded", "-1", "0", "1e3", "", " "]

# RFC 6749 §5.2: what error_description may hold; a challenge's quoted values stay in it too.
ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
CHALLENGE = re.compile(r'(Basic|Bearer) realm="[a-z]+"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*')
# Characters a description must not carry as they are, drawn far more often than st.text would.
HOSTILE_CHARACTERS = '"\\\u00e9\u00ff\u65e5\U0001f600\u2028\u2029\x00\x01\t\n\r\x7f\x85\ufeff'

hostile = st.text(alphabet=st.sampled_from(HOSTILE_CHARACTERS) | st.characters(codec="ascii"), min_size=1, max_size=12)
names = st.sampled_from(FIELDS) | st.text(max_size=12) | hostile
values = st.sampled_from(VALUES) | st.text(max_size=40) | hostile
pairs = st.lists(st.tuples(names, values), max_size=8)  # names repeat freely

RANGES = ["*/*", "application/*", *MEDIA_TYPES, "text/*", "text/html", "image/png", "Application/XML"]
RANGE_PARAMETERS = ["", ";charset=utf-8", "; level=1", ';foo="a,b"', '; foo=", q=0"']
Q_TEXTS = ["0", "0.0", "0.", "0.001", "0.1", "0.5", "0.50", "0.999", "1", "1.", "1.0", "1.000"]
NOT_Q_TEXTS = ["2", "-1", "abc", "0.1234", "1.5", "", "1e-1", ".5", "1e999", "nan"]


@st.composite
def accept_headers(draw):
    """Accept values of up to 6 media ranges, with and without parameters and (valid or not) q."""
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        media_range = draw(st.sampled_from(RANGES)) + draw(st.sampled_from(RANGE_PARAMETERS))
        q = draw(st.none() | st.sampled_from(Q_TEXTS) | st.sampled_from(NOT_Q_TEXTS))
        if q is not None:
            media_range += draw(st.sampled_from([";q=", "; q=", ";Q="])) + q
        parts.append(media_range)
    return draw(st.sampled_from([", ", ",", " , ,"])).join(parts)


def reference_media_type(accept: str) -> str:
    """What RFC 9110 §12.5.1 asks of us for the headers above, written independently of the server.

    A type's quality is the highest q of the most specific ranges matching it (parameters other
    than q make a range more specific); q=0 or no matching range: not acceptable; a q outside the
    §12.4.2 grammar voids its range. Best quality, then specificity, then JSON, urlencoded, XML;
    JSON when nothing is acceptable.
    """
    ranges = []  # (media range, specificity, quality)
    # a comma followed by an even number of quotes is outside every quoted-string (no escapes generated)
    for part in re.split(r',(?=[^"]*(?:"[^"]*"[^"]*)*$)', accept):
        media_range, *parameters = [piece.strip() for piece in part.split(";")]
        fields = {name.strip().lower(): value.strip() for name, _, value in (p.partition("=") for p in parameters)}
        quality = qvalue(fields.pop("q", "1"))
        if "/" not in media_range or quality is None:
            continue
        media_range = media_range.lower()
        specificity = 0 if media_range == "*/*" else 1 if media_range.endswith("/*") else 3 if fields else 2
        ranges.append((media_range, specificity, quality))
    scores = []
    for index, offered in enumerate(MEDIA_TYPES):
        matching = sorted(
            (specificity, quality)
            for media_range, specificity, quality in ranges
            if media_range in ("*/*", offered) or (media_range.endswith("/*") and offered.startswith(media_range[:-1]))
        )
        if matching and matching[-1][1] > 0:
            scores.append((-matching[-1][1], -matching[-1][0], index, offered))
    return min(scores)[3] if scores else "application/json"


def qvalue(text: str) -> float | None:
    whole, _, fraction = text.partition(".")
    if len(fraction) > 3 or any(digit not in "0123456789" for digit in fraction):
        return None
    if whole == "0":
        return float(f"0.{fraction or 0}")
    return 1.0 if whole == "1" and set(fraction) <= {"0"} else None


def as_wsgi_text(text: str) -> str:
    """What a WSGI server hands over for these bytes on the wire: UTF-8 read as latin-1 (PEP 3333)."""
    return text.encode("utf-8").decode("latin-1")


methods = st.sampled_from(["POST", "POST", "POST", "GET", "DELETE"]) | hostile.map(as_wsgi_text)


def json_object(fields: list[tuple[str, str]]) -> bytes:
    """A JSON object that keeps repeated names (json.dumps of a dict would merge them)."""
    members = ", ".join(f"{json.dumps(name)}: {json.dumps(value)}" for name, value in fields)
    return ("{" + members + "}").encode()


@st.composite
def bodies(draw, credentials, valid):
    """A (content type, body bytes) pair: forms, JSON, other types, broken encodings."""
    fields = draw(pairs)
    if draw(st.booleans()):  # often carry the real client's credentials in the body too
        fields += [("client_id", credentials[0]), ("client_secret", credentials[1])]
    kind = draw(st.sampled_from(["valid", "valid", "form", "json", "json-other", "raw", "empty", "echoed", "echoed"]))
    if kind == "valid":  # a well-formed request with unknown extra parameters (to be ignored)
        extra = draw(st.lists(st.tuples(st.text(min_size=1, max_size=8).filter(lambda n: n not in FIELDS), values)))
        return "application/x-www-form-urlencoded", urlencode([*valid, *extra]).encode()
    if kind == "echoed":  # what the server names in a description: a grant type, a repeated or non-text name
        name = draw(hostile)
        echoed = [pair for pair in valid if pair[0] != "grant_type"]
        echoed += [("grant_type", draw(hostile)), (name, draw(values))]
        echoed += [(name, "again")] * draw(st.integers(0, 1))
        if draw(st.booleans()):
            return "application/x-www-form-urlencoded", urlencode(echoed).encode()
        if draw(st.booleans()):  # a number where text belongs, or an escape that spells a lone surrogate
            echoed.append((draw(hostile), draw(st.sampled_from([1.5, True, None, "\ud800", "\udfff"]))))
        return "application/json", json_object(echoed)
    if kind == "form":
        encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
        body = urlencode(fields).encode(encoding, "replace")
    elif kind == "json":
        broken = st.sampled_from(["\ud800", "a\x00b", "\udfff\ud800"])
        fields += draw(st.lists(st.tuples(st.sampled_from(FIELDS) | hostile, broken)))
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
        "issued": issued_count(),
        "token_rows": AccessToken.objects.count(),
        "applications": list(Application.objects.values_list("id", "is_active", "scopes")),
        "key_pairs": list(KeyPair.objects.values_list("id", "secret_updated_at")),
        "secrets": list(ClientSecret.objects.order_by("id").values_list("id", "secret_hash", "expires_at")),
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
        query=st.sampled_from(["", "format=xml", "format=yaml"]) | query_strings(credentials, token),
        method=st.just("POST") | st.just("POST") | methods,  # mostly POST, so that tokens get issued too
        content_length=st.sampled_from([None, None, "0", "-1", "abc", "+5", "99999999", "short", "long", "chunked"]),
        forwarded_for=st.none() | st.text(max_size=40).filter(lambda text: "\n" not in text and "\r" not in text),
    )
    @hypothesis_settings(
        max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(body, authorization, accept, query, method, content_length, forwarded_for):
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
        response = api_client.generic(method, url, payload, content_type=content_type, **headers)
        after = database_state()

        statuses.add(response.status_code)
        assert response.status_code < 500
        assert response["Cache-Control"] == "no-store"
        answer = read_body(response)
        if response.status_code >= 400:
            assert answer["error"] in ERROR_CODES, answer
            assert answer["error_description"]
            assert ALLOWED.fullmatch(answer["error_description"]), answer
        if "WWW-Authenticate" in response:
            assert CHALLENGE.fullmatch(response["WWW-Authenticate"]), response["WWW-Authenticate"]
            assert keys.client_secret not in response.content.decode("utf-8", "replace")
        issued = path == "/oauth/token" and response.status_code == 200
        if issued:
            assert answer["token_type"] == "Bearer" and answer["access_token"]
        if path == "/oauth/introspect" and response.status_code == 200:
            assert answer["active"] in (True, False, "true", "false")
        assert after["issued"] == before["issued"] + (1 if issued else 0)
        revoked_one = path == "/oauth/revoke" and response.status_code == 200
        assert after["token_rows"] - before["token_rows"] in ((0, 1) if issued or revoked_one else (0,))
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

    # A valid request explicitly: what the generator draws shifts with the code's own string
    # constants (Hypothesis mixes them in), and success must be checked whatever it draws.
    valid_request = {"body": ("application/x-www-form-urlencoded", urlencode(valid).encode()),
                     "authorization": basic_auth(*credentials), "accept": "", "query": "", "method": "POST",
                     "content_length": None, "forwarded_for": None}
    example(**valid_request)(holds)()
    assert {200, 400, 401} <= statuses, statuses  # the generator reached success and both failure kinds


def test_reference_agrees_with_the_rfc_examples():
    assert reference_media_type("application/xml;q=0, */*") == "application/json"
    assert reference_media_type("application/xml;q=0.1, application/json;q=1.0") == "application/json"
    assert reference_media_type("*/*, application/xml") == "application/xml"
    assert reference_media_type("application/json;q=0, */*") == "application/x-www-form-urlencoded"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_q_valued_accept_headers_get_the_format_rfc_9110_asks_for(path, api_client, db):
    answered = set()

    @given(accept=accept_headers())
    @hypothesis_settings(
        max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def holds(accept):
        cache.clear()
        response = api_client.post(
            path, "grant_type=client_credentials&token=x", content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT=accept,
        )
        assert response.status_code == 401  # no client authentication: invalid_client in every case
        assert response["Content-Type"].split(";")[0] == reference_media_type(accept), accept
        assert read_body(response)["error"] == "invalid_client"
        answered.add(reference_media_type(accept))

    holds()
    assert answered == set(MEDIA_TYPES)  # the generator reached every format


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
    keys = make_keys(is_resource_server=True, audiences=" ".join(RESOURCES))  # resource is checked (RFC 8707)
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
        tokens_before, revoked_before = issued_count(), revoked_rows.count()
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
            assert issued_count() == tokens_before and not revoked
            outcomes.add("refused")
            return
        assert response.status_code == 200, answer
        if path == "/oauth/token":
            assert answer["token_type"] == "Bearer"
            assert issued_count() == tokens_before + 1
        elif path == "/oauth/introspect":
            assert answer["active"] in (True, "true")
        else:
            assert revoked
            outcomes.add("revoked")
        outcomes.add("accepted")

    holds()
    assert {"refused", "accepted"} <= outcomes, outcomes
