"""RFC 6749 §3.1/§3.2 (one value per parameter, empty means absent) and RFC 8707 §2 (``resource``)."""

import pytest

from tokens.protocol.errors import InvalidRequest
from tokens.protocol.params import MULTI_VALUED, QUERY_PARAMETERS, collect_params


def test_repeated_parameter_is_invalid_request():
    with pytest.raises(InvalidRequest, match="scope"):
        collect_params([("scope", "read"), ("scope", "write")])


def test_repeated_parameter_with_the_same_value_is_invalid_request():
    with pytest.raises(InvalidRequest, match="format"):
        collect_params([("format", "json"), ("grant_type", "client_credentials"), ("format", "json")])


def test_an_empty_copy_still_counts_as_a_repeat():
    with pytest.raises(InvalidRequest, match="format"):
        collect_params([("format", ""), ("format", "xml")])


def test_empty_parameter_counts_as_absent():
    params = collect_params([("scope", ""), ("grant_type", "client_credentials")])
    assert dict(params) == {"grant_type": "client_credentials"}
    assert "scope" not in params and params.get("scope") is None


def test_resource_is_the_one_parameter_that_may_repeat():
    assert MULTI_VALUED == {"resource"}
    params = collect_params([("resource", "https://a.example"), ("scope", "read"), ("resource", "https://b.example")])
    assert params.getlist("resource") == ("https://a.example", "https://b.example")
    assert dict(params) == {"scope": "read"}  # the mapping holds single values only


def test_an_empty_resource_counts_as_absent():
    assert collect_params([("resource", ""), ("resource", "https://a.example")]).getlist("resource") == ("https://a.example",)
    assert collect_params([]).getlist("resource") == ()


def test_getlist_of_a_single_valued_parameter():
    assert collect_params([("scope", "read")]).getlist("scope") == ("read",)
    assert collect_params([]).getlist("scope") == ()


def test_only_format_is_read_from_a_query_string():
    assert QUERY_PARAMETERS == {"format"}


def test_the_repr_names_parameters_but_never_shows_values():
    params = collect_params([("client_secret", "s3cr3t-value"), ("resource", "https://a.example")])
    assert "s3cr3t-value" not in repr(params) and "https://a.example" not in repr(params)
    assert "client_secret" in repr(params)
