"""Revoking every token of an application or of one key pair (portal, admin, disabling, "Revoke keys").

One UPDATE of the client's ``tokens_not_before`` (as Keycloak's "not before"): every token whose
``iat`` is before it is refused, JWTs included, though they are not stored one by one.
"""

import time
from datetime import timedelta

from django.utils import timezone

from clients.models import Application, KeyPair
from clients.services import revoke_keys, revoke_tokens
from tests.conftest import introspect


def issue(request_token, keys) -> str:
    response = request_token(keys)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def works(api_client, token: str) -> bool:
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_revoke_tokens_of_an_application_ends_only_its_tokens(make_keys, make_application, request_token, api_client):
    application = make_application("billing")
    production, sandbox = make_keys(application), make_keys(application, environment="sandbox")
    other = make_keys(make_application("other"))
    mine = [issue(request_token, keys) for keys in (production, production, sandbox)]
    theirs = issue(request_token, other)
    gateway = make_keys(make_application("gateway", is_resource_server=True))

    revoke_tokens(application=application)

    assert not any(works(api_client, token) for token in mine)
    assert all(introspect(api_client, gateway, token) == {"active": False} for token in mine)
    assert works(api_client, theirs) and introspect(api_client, gateway, theirs)["active"] is True
    application.refresh_from_db()
    assert application.tokens_not_before is not None


def test_revoke_tokens_of_one_key_pair_leaves_the_other_environment(make_keys, make_application, request_token, api_client):
    application = make_application("billing")
    production, sandbox = make_keys(application), make_keys(application, environment="sandbox")
    production_token, sandbox_token = issue(request_token, production), issue(request_token, sandbox)

    revoke_tokens(application=application, key_pair=KeyPair.objects.get(client_id=sandbox.client_id))

    assert not works(api_client, sandbox_token)
    assert works(api_client, production_token)


def test_a_token_issued_after_revoke_all_works_even_within_the_same_second(make_keys, request_token, api_client):
    keys = make_keys()
    old = issue(request_token, keys)
    revoke_tokens(application=Application.objects.get())
    revoked_at = Application.objects.get().tokens_not_before.timestamp()
    new = issue(request_token, keys)  # asked at once: waits for the next whole second rather than be born revoked
    assert time.time() >= int(revoked_at) + 1
    assert works(api_client, new) and not works(api_client, old)


def test_a_wait_beyond_a_second_is_not_taken(make_keys, request_token, monkeypatch):
    # Another host's clock ahead of ours: no request waits for it.
    keys = make_keys()
    issue(request_token, keys)
    Application.objects.update(tokens_not_before=timezone.now() + timedelta(seconds=30))
    KeyPair.objects.get().save()  # tells this process the client changed
    waits = []
    monkeypatch.setattr("tokens.services.time.sleep", waits.append)
    issue(request_token, keys)
    assert waits == []


def test_revoke_keys_ends_the_keys_and_every_token_issued_with_them(make_keys, make_application, request_token, api_client):
    application = make_application("billing")
    production, sandbox = make_keys(application), make_keys(application, environment="sandbox")
    production_token, sandbox_token = issue(request_token, production), issue(request_token, sandbox)

    revoke_keys(key_pair=KeyPair.objects.get(client_id=production.client_id))

    assert not works(api_client, production_token)
    assert request_token(production).status_code == 401
    assert works(api_client, sandbox_token)
