"""The plain throttling rules: rate strings, fixed windows, and whose address a request is."""

import pytest

from tokens.protocol.errors import TooManyRequests
from audit.context import client_address, parse_networks
from tokens.protocol.throttling import LockoutPolicy, RateLimit, seconds_until


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/minute", RateLimit(100, 60)),
        ("10/s", RateLimit(10, 1)),
        ("500/5m", RateLimit(500, 300)),
        (" 7 / hour ", RateLimit(7, 3600)),
        ("1000/day", RateLimit(1000, 86400)),
    ],
)
def test_rate_strings_are_read(text, expected):
    assert RateLimit.parse(text) == expected


@pytest.mark.parametrize("text", ["", "off", "none", "0"])
def test_empty_or_off_means_no_limit(text):
    assert RateLimit.parse(text) is None


@pytest.mark.parametrize("text", ["100", "100/fortnight", "0/minute", "a/minute", "100/0m"])
def test_a_malformed_rate_is_a_clear_error(text):
    with pytest.raises(ValueError, match="Rate limit"):
        RateLimit.parse(text)


def test_the_window_index_and_the_seconds_left_in_it():
    rate = RateLimit(5, 60)
    assert rate.window(120.0) == (2, 60)
    assert rate.window(179.2) == (2, 1)
    assert rate.window(179.9) == (2, 1)  # never 0: Retry-After 0 would invite a hot loop


def test_retry_after_rounds_up_and_is_at_least_one():
    assert seconds_until(100.2, 90.0) == 11
    assert seconds_until(90.0, 90.0) == 1
    assert TooManyRequests(retry_after=0).headers == {"Retry-After": "1"}


def test_a_lockout_policy_with_zero_threshold_or_window_is_off():
    assert LockoutPolicy(10, 300).enabled
    assert not LockoutPolicy(0, 300).enabled and not LockoutPolicy(10, 0).enabled


PROXIES = parse_networks(["10.0.0.0/8", "::1", " "])


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a trusted proxy: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote 6.6.6.6 itself
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),  # only proxies: the farthest one
        ("10.0.0.2", "", "10.0.0.2"),
        ("::1", "garbage, 198.51.100.1", "198.51.100.1"),
        ("::1", "not-an-ip", "not-an-ip"),
    ],
)
def test_forwarded_for_is_read_from_the_right_through_trusted_proxies(remote, forwarded, expected):
    assert client_address(remote, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_never_counts():
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"
