"""RFC 6749 §3.3: scope strings."""

import pytest

from tokens.protocol.errors import InvalidScope
from tokens.protocol.scopes import format_scope, parse_scope, resolve_scope


def test_parse_splits_on_spaces_and_ignores_repeats():
    assert parse_scope("read  write read") == frozenset({"read", "write"})


@pytest.mark.parametrize("value", [None, ""])
def test_absent_scope_is_empty(value):
    assert parse_scope(value) == frozenset()


@pytest.mark.parametrize("value", ['re"ad', "read\twrite", "caf\u00e9", "a\\b"])
def test_characters_outside_scope_token_are_invalid_scope(value):
    with pytest.raises(InvalidScope):
        parse_scope(value)


def test_format_is_sorted_and_space_delimited():
    assert format_scope({"write", "read", "admin"}) == "admin read write"


def test_no_requested_scope_gives_the_defaults():
    granted = resolve_scope(frozenset(), allowed=frozenset({"read", "write"}), default=frozenset({"read"}))
    assert granted == {"read"}


def test_requested_subset_is_granted_as_asked():
    granted = resolve_scope(frozenset({"write"}), allowed=frozenset({"read", "write"}), default=frozenset({"read"}))
    assert granted == {"write"}


def test_any_unallowed_scope_is_refused_not_narrowed():
    with pytest.raises(InvalidScope, match="admin"):
        resolve_scope(frozenset({"read", "admin"}), allowed=frozenset({"read"}), default=frozenset())
