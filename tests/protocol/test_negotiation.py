"""RFC 9110 §12.5.1: choosing the response format from ``format``, then ``Accept``, else JSON.

No HTTP here: ``select_renderer`` and ``preferred_media_type`` with the OAuth renderers, and the
same choice in fresh interpreters with different hash seeds.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokens.negotiation import MAX_ACCEPT_LENGTH, MAX_ACCEPT_RANGES, preferred_media_type, select_renderer
from tokens.renderers import OAUTH_RENDERERS

ROOT = Path(__file__).resolve().parents[2]
OFFERED = tuple(renderer.media_type for renderer in OAUTH_RENDERERS)


def chosen(accept: str, requested_format: str | None = None) -> str:
    return select_renderer(OAUTH_RENDERERS, requested_format, accept).format


@pytest.mark.parametrize(
    "accept, expected",
    [
        # q-values decide
        ("application/xml;q=0.1, application/json;q=1.0", "json"),
        ("application/json;q=0.1, application/xml", "xml"),
        ("application/json;q=0.5, application/x-www-form-urlencoded;q=0.6, application/xml;q=0.4", "urlencoded"),
        ("application/json; q=0.999, application/xml; q=1.000", "xml"),
        ("*/*;q=0.1, application/xml;q=0.2", "xml"),
        ("text/html, application/xml;q=0.9, */*;q=0.8", "xml"),  # a browser's header
        # q=0: not acceptable, and the most specific range decides a type's quality
        ("application/xml;q=0, */*", "json"),
        ("*/*, application/xml;q=0", "json"),
        ("application/json;q=0, */*", "urlencoded"),
        ("application/json;q=0, application/x-www-form-urlencoded;q=0, */*", "xml"),
        ("application/json;q=0, application/*;q=0.5", "urlencoded"),
        ("application/*;q=0, application/xml", "xml"),
        ("application/xml;charset=utf-8;q=0, application/*", "json"),
        # equal quality: the more specific range, then the server's order (JSON, urlencoded, XML)
        ("*/*, application/xml", "xml"),
        ("application/*, application/x-www-form-urlencoded", "urlencoded"),
        ("application/*;q=0.5, application/xml;q=0.5", "xml"),
        ("application/json, application/xml", "json"),
        ("application/xml, application/json", "json"),
        ("application/xml, application/x-www-form-urlencoded", "urlencoded"),
        ("application/x-www-form-urlencoded;q=0.5, application/xml;q=0.5", "urlencoded"),
        ("application/xml;charset=utf-8, application/json", "xml"),  # the example in docs/tokens.md
        # parameters other than q name the same type
        ("application/xml; charset=utf-8", "xml"),
        ("application/json; charset=utf-8, application/xml;q=0.5", "json"),
        # a comma inside a quoted-string (RFC 9110 §5.6.4) does not end the range
        ('application/json;q=0.5, application/xml;foo="a,b";q=0.1', "json"),
        ('application/xml;foo="a,b";q=0.1, application/json;q=0.5', "json"),
        ('application/xml;foo="a, b", application/json;q=0.5', "xml"),
        ('application/json;q=0.5, application/xml;foo="a\\",b";q=0.1', "json"),  # an escaped quote
        ('application/json;q=0.5, application/xml;foo=",";q=0, */*;q=0.9', "urlencoded"),
        # case, spaces, empty elements
        ("Application/XML", "xml"),
        ("application/xml;Q=0, */*", "json"),
        (" , application/xml ,, ", "xml"),
        # nothing acceptable, or nothing said: JSON, never a 406
        ("", "json"),
        ("*/*", "json"),
        ("text/html", "json"),
        ("application/json;q=0", "json"),
        ("application/json;q=0, application/x-www-form-urlencoded;q=0, application/xml;q=0", "json"),
        ("*/*;q=0", "json"),
    ],
)
def test_accept_header_chooses_the_format(accept, expected):
    assert chosen(accept) == expected


@pytest.mark.parametrize(
    "accept, expected",
    [
        # a q that is not an RFC 9110 §12.4.2 qvalue: the range says nothing
        ("application/xml;q=abc", "json"),
        ("application/xml;q=2", "json"),
        ("application/xml;q=1e9", "json"),
        ("application/xml;q=-1", "json"),
        ("application/xml;q=nan", "json"),
        ("application/xml;q=inf", "json"),
        ("application/xml;q=0.0001", "json"),
        ("application/xml;q=", "json"),
        ("application/json;q=abc, application/xml;q=0.5", "xml"),
        # not a media range at all
        (",,,", "json"),
        (";;;", "json"),
        ("application", "json"),
        ("/xml", "json"),
        ("*/xml", "json"),
        ("xml/*", "json"),
        ("\x00\x01", "json"),
        ("application/xml; q*=bogus''1", "json"),  # Django's parser raises on this RFC 2231 charset
        ('application/xml;foo="never closed', "xml"),
        ("åpplication/xml, application/xml;q=0.3", "xml"),
    ],
)
def test_malformed_ranges_are_skipped_never_raised(accept, expected):
    assert chosen(accept) == expected


def test_many_ranges_up_to_the_bound_are_read():
    accept = ", ".join(["text/html"] * (MAX_ACCEPT_RANGES - 1) + ["application/xml"])
    assert chosen(accept) == "xml"


def test_more_ranges_than_the_bound_disregard_the_header():
    accept = ", ".join(["text/html"] * MAX_ACCEPT_RANGES + ["application/xml"])
    assert preferred_media_type(accept, OFFERED) is None
    assert chosen(accept) == "json"


def test_commas_in_quoted_strings_do_not_count_as_ranges():
    quoted = 'application/xml;foo="' + "," * (2 * MAX_ACCEPT_RANGES) + '"'
    accept = ", ".join(["text/html"] * (MAX_ACCEPT_RANGES - 1) + [quoted])
    assert chosen(accept) == "xml"


def test_empty_elements_do_not_count_as_ranges():
    accept = ", ".join(["text/html"] * (MAX_ACCEPT_RANGES - 1) + ["application/xml"]) + "," * MAX_ACCEPT_RANGES
    assert chosen(accept) == "xml"


def test_a_q_0_in_a_disregarded_header_is_disregarded_too():
    accept = ", ".join(["text/html"] * MAX_ACCEPT_RANGES + ["application/json;q=0", "application/xml"])
    assert chosen(accept) == "json"


def test_an_over_long_header_is_disregarded():
    accept = "application/xml;" + "a" * MAX_ACCEPT_LENGTH + "=1"
    assert preferred_media_type(accept, OFFERED) is None
    assert chosen("application/xml;q=1;" + "x" * 1_000_000) == "json"


def test_format_parameter_beats_accept():
    assert chosen("application/xml", "urlencoded") == "urlencoded"
    assert chosen("application/x-www-form-urlencoded;q=0, application/xml", "urlencoded") == "urlencoded"


def test_unknown_format_falls_back_to_accept():
    assert chosen("application/xml", "yaml") == "xml"


# Ties inside one header: the old code read them from a set, whose order follows the hash seed.
TIED = [
    "application/json, application/xml",
    "application/xml, application/json",
    "application/xml, application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded, application/xml, application/json",
    "application/xml;q=0.1, application/json;q=1.0",
    "application/xml;charset=utf-8, application/json;charset=utf-8",
]
CHOOSE = (
    "import sys\n"
    "from tokens.negotiation import select_renderer\n"
    "from tokens.renderers import OAUTH_RENDERERS\n"
    "print(' '.join(select_renderer(OAUTH_RENDERERS, None, accept).format for accept in sys.argv[1:]))\n"
)


def test_the_choice_is_the_same_whatever_the_hash_seed():
    answers = {}
    for seed in ("0", "1", "2", "3", "4", "5"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "DJANGO_SETTINGS_MODULE": "oauthserver.settings"}
        run = subprocess.run(
            [sys.executable, "-c", CHOOSE, *TIED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
        answers[seed] = run.stdout.split()
    assert set(map(tuple, answers.values())) == {("json", "json", "urlencoded", "json", "json", "json")}, answers
