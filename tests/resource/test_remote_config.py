"""``OAUTH_RESOURCE_SERVER``, read into a policy: every mistake is ``ImproperlyConfigured`` naming its key.

The issuer is compared exactly with the metadata's and the tokens' ``iss`` (RFC 8414 §3.3, RFC 9068
§4), so a trailing "/" is dropped once, here; jwks mode may trust a list of issuers (realms), the
other remote mode one; the algorithms are a list the API chooses, never what a token names (RFC
8725 §3.1).
"""

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import ExceptionReporter

from resource_server.config import DEFAULTS, ResourceServerConfig, read_config

JWKS = {"MODE": "jwks", "ISSUER": "https://auth.example.com", "AUDIENCE": "https://invoices.example"}
INTROSPECTION = {**JWKS, "MODE": "introspection", "CLIENT_ID": "invoices-api", "CLIENT_SECRET": "hunter2-not-shown"}


def refused(value) -> str:
    with pytest.raises(ImproperlyConfigured) as error:
        read_config(value)
    return str(error.value)


def test_no_setting_is_database_mode():
    assert read_config(None) == ResourceServerConfig(mode="database")


def test_jwks_mode_takes_the_defaults():
    config = read_config(JWKS)
    assert config == ResourceServerConfig(
        mode="jwks", issuers=("https://auth.example.com",), audience="https://invoices.example", algorithms=("RS256",),
        cache_seconds=60, inactive_cache_seconds=5, cache_size=10_000, jwks_max_age=300, timeout=5,
    )
    assert config.metadata_url == "" and config.sandbox_audience == "" and config.client_id == ""
    assert config.audiences == ["https://invoices.example"]


def test_introspection_mode_keeps_its_credentials_and_hides_the_secret_in_repr():
    config = read_config(INTROSPECTION)
    assert (config.client_id, config.client_secret) == ("invoices-api", "hunter2-not-shown")
    assert "invoices-api" in repr(config)
    assert "hunter2-not-shown" not in repr(config) and "hunter2-not-shown" not in str(config)


def test_every_key_is_read():
    config = read_config({
        **INTROSPECTION, "METADATA_URL": "https://auth.example.com/meta", "SANDBOX_AUDIENCE": "https://invoices.example/sandbox",
        "ALGORITHMS": ["ES256", "RS256"], "CACHE_SECONDS": 30, "INACTIVE_CACHE_SECONDS": 2.5, "CACHE_SIZE": 7,
        "JWKS_MAX_AGE": 60, "TIMEOUT": 0.5,
    })
    assert config.metadata_url == "https://auth.example.com/meta"
    assert config.audiences == ["https://invoices.example", "https://invoices.example/sandbox"]
    assert config.algorithms == ("ES256", "RS256")
    assert (config.cache_seconds, config.inactive_cache_seconds, config.cache_size) == (30, 2.5, 7)
    assert (config.jwks_max_age, config.timeout) == (60, 0.5)


@pytest.mark.parametrize("issuer", ["https://auth.example.com/", "https://auth.example.com//"])
def test_a_trailing_slash_on_the_issuer_is_dropped(issuer):
    assert read_config({**JWKS, "ISSUER": issuer}).issuers == ("https://auth.example.com",)


def test_an_issuer_with_a_path_keeps_it():
    assert read_config({**JWKS, "ISSUER": "https://auth.example.com/realms/a/"}).issuers == ("https://auth.example.com/realms/a",)


def test_inactive_answers_are_never_kept_longer_than_active_ones():
    config = read_config({**INTROSPECTION, "CACHE_SECONDS": 3, "INACTIVE_CACHE_SECONDS": 10})
    assert (config.cache_seconds, config.inactive_cache_seconds) == (3, 3)


def test_database_mode_takes_only_mode():
    assert read_config({"MODE": "database"}) == ResourceServerConfig(mode="database")


def test_database_mode_may_name_the_audience_it_answers_to():
    config = read_config({"MODE": "database", "AUDIENCE": "https://api.example.com"})
    assert (config.audience, config.audiences) == ("https://api.example.com", ["https://api.example.com"])
    assert refused({"MODE": "database", "SANDBOX_AUDIENCE": "https://api.example.com/sandbox"}) == (
        "OAUTH_RESOURCE_SERVER['SANDBOX_AUDIENCE'] in database mode needs an AUDIENCE.")


@pytest.mark.parametrize("key", ["ALGORITHMS", "CACHE_SECONDS", "TIMEOUT", "METADATA_URL"])
def test_database_mode_refuses_the_remote_keys(key):
    message = refused({"MODE": "database", key: JWKS.get(key, DEFAULTS.get(key))})
    assert message == (
        "OAUTH_RESOURCE_SERVER in database mode takes only MODE, ISSUER, AUDIENCE, SANDBOX_AUDIENCE and PUBLIC_URL: the rest "
        "is the server's own settings."
    )


def test_a_setting_that_is_not_a_dict_is_refused():
    assert refused([("MODE", "jwks")]) == "OAUTH_RESOURCE_SERVER must be a dict."


@pytest.mark.parametrize("mode", [None, "", "JWKS", "remote", 1])
def test_a_bad_mode_names_the_modes(mode):
    value = {k: v for k, v in JWKS.items() if k != "MODE"} | ({"MODE": mode} if mode is not None else {})
    assert refused(value) == f"OAUTH_RESOURCE_SERVER['MODE'] must be one of jwks, introspection, database; it is {mode!r}."


def test_no_setting_is_database_mode_only_where_the_server_is_installed():
    assert read_config(None).mode == "database"
    with pytest.raises(ImproperlyConfigured, match=r"^OAUTH_RESOURCE_SERVER is not set: an API project names"):
        read_config(None, server_installed=False)


def test_the_client_secret_stays_out_of_error_reports(settings):
    settings.DEBUG = False  # what error e-mails and error trackers get (with DEBUG on, Django shows everything)
    secret = "s3cret-never-reported"
    try:
        read_config({**INTROSPECTION, "CLIENT_SECRET": secret, "TYPO": 1})
    except ImproperlyConfigured:
        frames = ExceptionReporter(None, *sys.exc_info()).get_traceback_data()["frames"]
    [frame] = [frame for frame in frames if frame["function"] == "read_config"]
    variables = dict(frame["vars"])
    assert "value" in variables and secret not in str(variables)


def test_database_mode_without_the_server_installed_says_so():
    with pytest.raises(ImproperlyConfigured, match=r"database mode needs the server's apps"):
        read_config({"MODE": "database"}, server_installed=False)


def test_keys_that_are_not_strings_are_refused():
    assert refused({**JWKS, 1: "x"}) == "OAUTH_RESOURCE_SERVER's keys must be strings."


def test_unknown_keys_are_named():
    message = refused({**JWKS, "ISUER": "https://auth.example.com", "CACHE_SECS": 5})
    assert message == "OAUTH_RESOURCE_SERVER has unknown keys: CACHE_SECS, ISUER."


@pytest.mark.parametrize(
    ("mode", "key"),
    [("jwks", "AUDIENCE"), ("introspection", "AUDIENCE"), ("introspection", "CLIENT_ID"), ("introspection", "CLIENT_SECRET")],
)
@pytest.mark.parametrize("absent", ["missing", "empty", "not a string"])
def test_a_key_the_mode_needs_is_required(mode, key, absent):
    value = dict(JWKS if mode == "jwks" else INTROSPECTION)
    if absent == "missing":
        del value[key]
    else:
        value[key] = "" if absent == "empty" else ["https://auth.example.com"]
    assert refused(value) == f"OAUTH_RESOURCE_SERVER['{key}'] is required in {mode} mode (a non-empty string)."


def test_jwks_mode_needs_no_client_credentials():
    assert read_config(JWKS).client_secret == ""


@pytest.mark.parametrize(
    "issuer",
    ["auth.example.com", "ftp://auth.example.com", "https://", "https://auth.example.com?realm=a",
     "https://auth.example.com#a", "/realms/a"],
)
def test_an_issuer_that_is_not_an_http_url_is_refused(issuer):
    message = refused({**JWKS, "ISSUER": issuer})
    assert message == f"OAUTH_RESOURCE_SERVER['ISSUER'] must be an http(s) URL without query or fragment; it is {issuer!r}."


def test_a_bad_metadata_url_is_refused_by_name():
    assert "['METADATA_URL'] must be an http(s) URL" in refused({**JWKS, "METADATA_URL": "file:///etc/passwd"})


@pytest.mark.parametrize("algorithms", ["RS256", ["HS256"], ["RS256", "none"], [], None, ["rs256"]])
def test_algorithms_must_be_a_list_of_signing_algorithms_this_server_uses(algorithms):
    message = refused({**JWKS, "ALGORITHMS": algorithms})
    assert message == (
        "OAUTH_RESOURCE_SERVER['ALGORITHMS'] must be a non-empty list of RS256, ES256, Ed25519, EdDSA; "
        f"it is {algorithms!r}."
    )


@pytest.mark.parametrize("key", ["CACHE_SECONDS", "INACTIVE_CACHE_SECONDS"])
@pytest.mark.parametrize("value", [-1, -0.5, "60", True, None, float("nan")])
def test_cache_seconds_must_be_a_number_of_at_least_zero(key, value):
    assert refused({**INTROSPECTION, key: value}) == f"OAUTH_RESOURCE_SERVER['{key}'] must be a number of seconds, at least 0."


@pytest.mark.parametrize(("key", "least", "value"), [("JWKS_MAX_AGE", 1, 0.5), ("TIMEOUT", 0.1, 0), ("TIMEOUT", 0.1, -5)])
def test_intervals_have_a_floor(key, least, value):
    assert refused({**JWKS, key: value}) == f"OAUTH_RESOURCE_SERVER['{key}'] must be a number of seconds, at least {least}."


@pytest.mark.parametrize("value", [0, -1, 1.5, "100", True])
def test_cache_size_is_a_whole_number_of_at_least_one(value):
    assert refused({**JWKS, "CACHE_SIZE": value}) == "OAUTH_RESOURCE_SERVER['CACHE_SIZE'] must be a whole number, at least 1."


@pytest.mark.parametrize("key", ["SANDBOX_AUDIENCE", "CLIENT_ID"])
def test_optional_text_keys_must_be_strings(key):
    assert refused({**JWKS, key: 42}) == f"OAUTH_RESOURCE_SERVER['{key}'] must be a string."


def test_the_secret_is_never_in_a_message():
    for value in ({**INTROSPECTION, "CACHE_SIZE": 0}, {**INTROSPECTION, "ISSUER": "nope"}, {**INTROSPECTION, "X": 1}):
        assert "hunter2-not-shown" not in refused(value)


# ISSUER: one issuer, or in jwks mode several (realms of one server, or servers), each an issuer
# identifier compared exactly; database mode may name the realms' issuers it trusts.

ALPHA, BETA = "https://auth.example.com/realms/alpha", "https://auth.example.com/realms/beta"


def test_jwks_mode_trusts_a_list_of_issuers_in_its_order():
    config = read_config({**JWKS, "ISSUER": [ALPHA, BETA + "/", "https://auth.example.com"]})
    assert config.issuers == (ALPHA, BETA, "https://auth.example.com")


def test_a_list_of_one_issuer_is_that_issuer():
    assert read_config({**JWKS, "ISSUER": [ALPHA]}) == read_config({**JWKS, "ISSUER": ALPHA})
    assert read_config({**INTROSPECTION, "ISSUER": (ALPHA,)}).issuers == (ALPHA,)


@pytest.mark.parametrize("mode", ["jwks", "introspection"])
@pytest.mark.parametrize("issuer", ["missing", "", [], None])
def test_a_remote_mode_requires_an_issuer(mode, issuer):
    value = dict(JWKS if mode == "jwks" else INTROSPECTION)
    if issuer == "missing":
        del value["ISSUER"]
    else:
        value["ISSUER"] = issuer
    several = ", or a non-empty list of them" if mode == "jwks" else ""
    assert refused(value) == f"OAUTH_RESOURCE_SERVER['ISSUER'] is required in {mode} mode: the issuer's URL{several}."


@pytest.mark.parametrize("issuer", [42, [ALPHA, None], [ALPHA, 1], [[ALPHA]], {ALPHA}, {"alpha": ALPHA}])
def test_an_issuer_that_is_not_a_url_or_a_list_of_urls_is_refused(issuer):
    assert refused({**JWKS, "ISSUER": issuer}) == (
        f"OAUTH_RESOURCE_SERVER['ISSUER'] must be an issuer's URL or a non-empty list of them; it is {issuer!r}."
    )


@pytest.mark.parametrize("bad", ["auth.example.com/realms/beta", "https://auth.example.com?realm=beta", ""])
def test_each_issuer_of_a_list_is_checked_as_one(bad):
    assert refused({**JWKS, "ISSUER": [ALPHA, bad]}) == (
        f"OAUTH_RESOURCE_SERVER['ISSUER'] must be an http(s) URL without query or fragment; it is {bad!r}."
    )


@pytest.mark.parametrize("issuers", [[ALPHA, ALPHA], [ALPHA, BETA, ALPHA + "/"]])
def test_an_issuer_named_twice_is_refused(issuers):
    assert refused({**JWKS, "ISSUER": issuers}) == f"OAUTH_RESOURCE_SERVER['ISSUER'] names {ALPHA!r} twice."


def test_metadata_url_goes_with_a_single_issuer_only():
    metadata = {"METADATA_URL": "https://auth.example.com/meta"}
    assert read_config({**JWKS, **metadata, "ISSUER": [ALPHA]}).metadata_url == "https://auth.example.com/meta"
    assert refused({**JWKS, **metadata, "ISSUER": [ALPHA, BETA]}) == (
        "OAUTH_RESOURCE_SERVER['METADATA_URL'] is for a single ISSUER: with several, each issuer's metadata is found "
        "from its own URL (RFC 8414 §3.1)."
    )


def test_introspection_mode_refuses_several_issuers_and_says_why():
    message = refused({**INTROSPECTION, "ISSUER": [ALPHA, BETA]})
    assert message == (
        "OAUTH_RESOURCE_SERVER['ISSUER'] in introspection mode is one issuer: CLIENT_ID and CLIENT_SECRET are a client "
        "of one realm, and a client authenticates only in its own realm. To trust several realms, use jwks mode."
    )
    assert "hunter2-not-shown" not in message


@pytest.mark.parametrize(
    ("issuer", "issuers"),
    [(None, ()), (ALPHA + "/", (ALPHA,)), ([ALPHA, BETA], (ALPHA, BETA)), (("https://auth.example.com",), ("https://auth.example.com",))],
)
def test_database_mode_trusts_the_realms_it_names_or_every_realm(issuer, issuers):
    value = {"MODE": "database"} | ({"ISSUER": issuer} if issuer is not None else {})
    assert read_config(value) == ResourceServerConfig(mode="database", issuers=issuers)


@pytest.mark.parametrize(
    ("issuer", "message"),
    [([], "must be an issuer's URL or a non-empty list of them; it is []."),
     ("", "must be an http(s) URL without query or fragment; it is ''."),
     ([ALPHA, ALPHA], f"names {ALPHA!r} twice.")],
)
def test_database_mode_checks_the_issuers_it_names(issuer, message):
    assert refused({"MODE": "database", "ISSUER": issuer}) == f"OAUTH_RESOURCE_SERVER['ISSUER'] {message}"
