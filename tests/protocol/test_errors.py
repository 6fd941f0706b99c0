"""RFC 6749 §5.2 and RFC 6750 §3: the errors' wire shape, whatever text they were given.

``error_description`` (and RFC 6750's ``scope`` attribute) may hold only %x20-21 / %x23-5B /
%x5D-7E; ``invalid_client`` challenges with Basic only when the client used Basic or nothing.
"""

import re

import pytest

from tokens.protocol import errors
from tokens.protocol.errors import (
    InsufficientScope,
    InvalidClient,
    MethodNotAllowed,
    OAuthError,
    TooManyRequests,
    UnsupportedGrantType,
    sanitize_error_text,
)

ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
# A challenge whose quoted auth-params all stay inside the allowed set (no '"' or '\' to escape).
# Basic and Bearer name their realm; DPoP's (RFC 9449 §7.1) starts with its error.
CHALLENGE = re.compile(r'((Basic|Bearer) realm="[a-z]+"|DPoP error="[a-z_]+")(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*')

HOSTILE = [
    'x"y\\zé',
    '"',
    "\\",
    '\\"',
    "caf\u00e9 \u65e5\u672c \U0001f600",
    "line\nbreak\rreturn\ttab",
    "nul\x00 del\x7f c1\x85 esc\x1b",
    "separator\u2028paragraph\u2029",
    "lone \ud800 surrogate \udfff",
    "bom\ufeff zero\u200bwidth",
    'error="x", scope="admin"',
]


def all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


ERROR_TYPES = [OAuthError, *all_subclasses(OAuthError)]


def build(error_type: type, description: str | None) -> OAuthError:
    """An instance of any error type, with the extra arguments its constructor asks for."""
    if issubclass(error_type, MethodNotAllowed):
        return error_type(description, allowed="POST")
    if issubclass(error_type, TooManyRequests):
        return error_type(description, retry_after=5)
    if issubclass(error_type, InsufficientScope):
        return error_type("write", description)
    return error_type(description)


def assert_on_the_wire(error: OAuthError) -> None:
    assert ALLOWED.fullmatch(error.description), error.description
    assert ALLOWED.fullmatch(str(error))
    for value in error.as_dict().values():
        assert ALLOWED.fullmatch(value), value
    challenge = error.headers.get("WWW-Authenticate")
    if challenge is not None:
        assert CHALLENGE.fullmatch(challenge), challenge


def test_every_error_type_is_covered():
    assert {"InvalidClient", "InvalidToken", "MissingToken", "InsufficientScope", "TooManyRequests"} <= {
        error_type.__name__ for error_type in ERROR_TYPES
    }


@pytest.mark.parametrize("error_type", ERROR_TYPES, ids=lambda error_type: error_type.__name__)
@pytest.mark.parametrize("text", HOSTILE)
def test_any_description_is_confined_to_the_allowed_characters(error_type, text):
    assert_on_the_wire(build(error_type, f"The value '{text}' is refused."))


@pytest.mark.parametrize("error_type", ERROR_TYPES, ids=lambda error_type: error_type.__name__)
def test_the_default_descriptions_need_no_escaping(error_type):
    error = build(error_type, None)
    assert error.description == error_type.default_description
    assert "?" not in error.description


def test_each_character_outside_the_set_becomes_one_question_mark():
    error = UnsupportedGrantType("The grant type 'x\"y\\z\u00e9' is not supported.")
    assert error.description == "The grant type 'x?y?z?' is not supported."
    assert error.as_dict() == {"error": "unsupported_grant_type", "error_description": error.description}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, with (punctuation) & <angle> ~'quotes'~", "plain text, with (punctuation) & <angle> ~'quotes'~"),
        ("a\u2028b\u2029c", "a?b?c"),
        ("\ud800\udfff", "??"),
        ("\U0001f600", "?"),
        ("tab\there\r\n", "tab?here??"),
        ("", ""),
    ],
)
def test_sanitize_error_text_keeps_allowed_text_and_marks_the_rest(text, expected):
    assert sanitize_error_text(text) == expected


def test_a_description_set_after_construction_is_confined_too():
    error = OAuthError()
    error.description = 'late "edit" \\ \u00e9'
    assert error.description == "late ?edit? ? ?"


@pytest.mark.parametrize("text", HOSTILE)
def test_the_bearer_challenge_quotes_a_confined_description(text):
    error = errors.InvalidToken(f"bad {text}")
    challenge = error.headers["WWW-Authenticate"]
    assert CHALLENGE.fullmatch(challenge), challenge
    assert challenge == f'Bearer realm="api", error="invalid_token", error_description="{error.description}"'


@pytest.mark.parametrize("text", HOSTILE)
def test_the_insufficient_scope_attribute_is_confined_in_challenge_and_body(text):
    error = InsufficientScope(f"read {text}")
    assert ALLOWED.fullmatch(error.scope)
    assert error.as_dict()["scope"] == error.scope
    assert error.headers["WWW-Authenticate"].endswith(f', scope="{error.scope}"')
    assert CHALLENGE.fullmatch(error.headers["WWW-Authenticate"])


@pytest.mark.parametrize("method", ["client_secret_basic", "none"])
def test_invalid_client_challenges_with_basic_after_basic_or_no_credentials(method):
    error = InvalidClient(method=method)
    assert error.status_code == 401
    assert error.headers == {"WWW-Authenticate": 'Basic realm="oauth"'}


def test_invalid_client_after_body_credentials_is_401_without_a_challenge():
    error = InvalidClient(method="client_secret_post")
    assert error.status_code == 401
    assert error.headers == {}
    assert error.as_dict() == {"error": "invalid_client", "error_description": "Client authentication failed."}


def test_invalid_client_without_a_method_challenges():
    assert InvalidClient().headers == {"WWW-Authenticate": 'Basic realm="oauth"'}
