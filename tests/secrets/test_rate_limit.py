"""A token rate limit per application, falling back to ``OAUTH_TOKEN_RATE_LIMIT`` (RFC 6585 §4).

Counted per realm and client id in the shared cache; past it, 429 ``temporarily_unavailable``
with ``Retry-After``.
"""

import pytest
from django.core.exceptions import ValidationError

from clients.models import Application
from clients.services import create_realm
from tokens import throttling


@pytest.fixture
def frozen(monkeypatch):
    now = [6_000_000.0 + 30]  # 30 s before the minute ends
    monkeypatch.setattr(throttling, "clock", lambda: now[0])
    return now


def test_an_applications_own_limit_applies_and_others_follow_the_server(make_keys, make_application, request_token,
                                                                         settings, frozen):
    settings.OAUTH_TOKEN_RATE_LIMIT = "5/minute"
    strict = make_keys(make_application("strict", token_rate_limit="2/minute"))
    ordinary = make_keys(make_application("ordinary"))
    assert [request_token(strict).status_code for _ in range(3)] == [200, 200, 429]
    refused = request_token(strict)
    assert refused.json()["error"] == "temporarily_unavailable" and refused["Retry-After"] == "30"
    assert [request_token(ordinary).status_code for _ in range(6)] == [200] * 5 + [429]
    frozen[0] += 30  # the next minute
    assert request_token(strict).status_code == 200


def test_an_applications_limit_applies_when_the_server_has_none(make_keys, make_application, request_token, frozen):
    keys = make_keys(make_application("strict", token_rate_limit="1/minute"))
    assert [request_token(keys).status_code for _ in range(2)] == [200, 429]
    assert {request_token(make_keys(make_application("free"))).status_code for _ in range(5)} == {200}


def test_a_looser_own_limit_overrides_the_servers(make_keys, make_application, request_token, settings, frozen):
    settings.OAUTH_TOKEN_RATE_LIMIT = "1/minute"
    keys = make_keys(make_application("busy", token_rate_limit="3/minute"))
    assert [request_token(keys).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_changed_limit_is_seen_at_once(make_keys, make_application, request_token, frozen):
    application = make_application("strict", token_rate_limit="1/minute")
    keys = make_keys(application)
    assert [request_token(keys).status_code for _ in range(2)] == [200, 429]
    application.token_rate_limit = "10/minute"
    application.save()  # post_save: every process reads the client again
    assert request_token(keys).status_code == 200


def test_the_same_client_is_counted_per_realm(make_keys, make_application, request_token, frozen, monkeypatch):
    keys = make_keys(make_application("strict", token_rate_limit="1/minute"))
    counted = []
    real = throttling._count_token_request
    monkeypatch.setattr(throttling, "_count_token_request", lambda key, rate: (counted.append(key), real(key, rate)))
    request_token(keys)
    assert counted == [f"default:{keys.client_id}"]


@pytest.mark.parametrize("value", ["lots", "0/minute", "off", "100/fortnight"])
def test_a_malformed_limit_is_refused_by_the_model(make_application, value):
    application = make_application("billing")
    application.token_rate_limit = value
    with pytest.raises(ValidationError) as refused:
        application.full_clean()
    assert "token_rate_limit" in refused.value.message_dict
    assert Application.objects.get().token_rate_limit == ""


def test_a_realms_application_is_limited_at_its_realms_endpoint(make_keys, make_application, request_token, frozen):
    alpha = create_realm(name="alpha")
    keys = make_keys(make_application("strict", token_rate_limit="1/minute", realm=alpha))
    path = "/realms/alpha/oauth/token"
    answers = [request_token(keys, path=path) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 429]
    assert answers[1]["Retry-After"] == "30" and answers[1].json()["error"] == "temporarily_unavailable"
