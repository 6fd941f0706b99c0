"""Nothing secret reaches a log line, the standard streams, or an admin or portal page.

Runs the flows end to end (keys, tokens in both formats and all three encodings, introspection,
revocation, the protected resource, failed authentication, secret regeneration, key rotation,
then every admin page for every object and every portal page of the owner) and
searches everything produced for client secrets, secret hashes, tokens, token hashes and
private keys, in full and in telling fragments.
"""

import logging
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from audit.models import AuditAction, AuditEvent
from clients.models import ClientSecret, KeyPair
from clients.services import regenerate_secret
from tests.conftest import basic_auth
from tokens.encryption import decrypt_private_key
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import AccessToken, SigningKey


def token_from(response) -> str:
    media_type = response["Content-Type"].split(";")[0]
    if media_type == "application/json":
        return response.json()["access_token"]
    if media_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(response.content.decode()))["access_token"]
    return ElementTree.fromstring(response.content).find("access_token").text


def fragments(secret: str) -> set[str]:
    """The secret and, for long values, pieces of it that alone would still give it away."""
    pieces = {secret}
    if secret.count(".") == 2:  # a JWT: its signature is unique to it
        pieces.add(secret.rsplit(".", 1)[1])
    if "PRIVATE KEY" in secret:  # a PEM: each line of the base64 body
        pieces |= {line for line in secret.splitlines() if len(line) >= 40 and "-----" not in line}
    return pieces


def admin_pages(admin_client) -> dict[str, bytes]:
    pages = {"/admin/": admin_client.get("/admin/").content}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        try:
            changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        except NoReverseMatch:
            continue
        pages[changelist] = admin_client.get(changelist).content
        for obj in model.objects.all()[:5]:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            pages[change] = admin_client.get(change).content
    return pages


def portal_pages(client, owner) -> dict[str, bytes]:
    """Every page of the owner's portal, after the POST that showed a secret once (not kept)."""
    client.force_login(owner)
    pages = {"/portal/": client.get("/portal/").content}
    for application in owner.applications.all():
        for environment in ("production", "sandbox"):
            url = reverse("portal:keys", kwargs={"pk": application.pk, "environment": environment})
            pages[url] = client.get(url).content
        edit = reverse("portal:application-edit", kwargs={"pk": application.pk})
        pages[edit] = client.get(edit).content
    for url, content in pages.items():
        assert content, url
    return pages


@pytest.mark.django_db
def test_no_secret_token_or_private_key_leaks(
    make_keys, make_application, api_client, admin_client, client, django_user_model, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = set()

    owner = django_user_model.objects.create_user("dev", password="a long enough password 1")
    jwt_keys = make_keys(make_application("jwt-app", is_resource_server=True, owner=owner))
    opaque_keys = make_keys(make_application("opaque-app", token_format="opaque", owner=owner))
    secrets |= {jwt_keys.client_secret, opaque_keys.client_secret}
    tokens = []
    for keys in (jwt_keys, opaque_keys):
        for answer_format in ("json", "urlencoded", "xml"):
            response = api_client.post(
                "/oauth/token",
                f"grant_type=client_credentials&format={answer_format}",
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
            )
            assert response.status_code == 200
            tokens.append(token_from(response))
        body_auth = api_client.post(
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": keys.client_id, "client_secret": keys.client_secret},
            format="json",
        )
        assert body_auth.status_code == 200
        tokens.append(body_auth.json()["access_token"])
    secrets |= set(tokens)

    resource_server = basic_auth(jwt_keys.client_id, jwt_keys.client_secret)
    for token in tokens:
        answer = api_client.post(
            "/oauth/introspect", {"token": token}, format="json", HTTP_AUTHORIZATION=resource_server
        )
        assert answer.status_code == 200 and answer.json()["active"] is True
    for keys, token in ((jwt_keys, tokens[0]), (opaque_keys, tokens[-1])):
        revoked = api_client.post(
            "/oauth/revoke", {"token": token}, format="json", HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret)
        )
        assert revoked.status_code == 200
        hello = api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert hello.status_code == 401
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {tokens[1]}").status_code == 200

    wrong = "wrong-" + jwt_keys.client_secret[6:]
    secrets.add(wrong)
    refused = api_client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(jwt_keys.client_id, wrong),
    )
    assert refused.status_code == 401

    renewed = regenerate_secret(key_pair=KeyPair.objects.get(client_id=opaque_keys.client_id))
    secrets.add(renewed.client_secret)
    rotate_signing_key()
    key_store.invalidate()

    secrets |= set(ClientSecret.objects.values_list("secret_hash", flat=True))
    secrets |= set(AccessToken.objects.exclude(token_hash=None).values_list("token_hash", flat=True))
    for stored in SigningKey.objects.values_list("private_key", flat=True):
        secrets |= {stored, decrypt_private_key(stored)}

    pages = {**admin_pages(admin_client), **portal_pages(client, owner)}
    assert {"/admin/audit/auditevent/", "/admin/clients/application/", "/admin/tokens/signingkey/", "/portal/"} <= set(
        pages
    )
    produced = {
        "logs": "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records),
        **{f"page {url}": content.decode("utf-8", "replace") for url, content in pages.items()},
    }
    streams = capsys.readouterr()
    produced["stdout"], produced["stderr"] = streams.out, streams.err
    assert '"event":"token_issued"' in produced["stdout"]  # the audit log was captured
    portal_text = "".join(text for where, text in produced.items() if where.startswith("page /portal/"))
    assert jwt_keys.client_id in portal_text  # the pages do show the keys, only not the secrets

    leaks = [
        (where, piece[:12] + "...")
        for secret in secrets
        for piece in fragments(secret)
        for where, text in produced.items()
        if piece in text
    ]
    assert leaks == []


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["basic", "body"])
def test_a_secret_sent_as_the_client_id_or_username_is_stored_and_logged_nowhere(
    make_keys, api_client, admin_client, client, django_user_model, small_lockout, caplog, capsys, method
):
    """A client that swaps its id and secret, and a password typed into the username box (issue 11)."""
    caplog.set_level(logging.DEBUG)
    keys = make_keys(is_resource_server=True)
    swapped = (keys.client_secret, keys.client_id)  # id and secret the wrong way round

    def post(path, body):
        if method == "basic":
            return api_client.post(path, body, format="json", HTTP_AUTHORIZATION=basic_auth(*swapped))
        return api_client.post(path, {**body, "client_id": swapped[0], "client_secret": swapped[1]}, format="json")

    statuses = [post("/oauth/token", {"grant_type": "client_credentials"}).status_code for _ in range(4)]
    statuses += [post(path, {"token": "abc"}).status_code for path in ("/oauth/introspect", "/oauth/revoke")]
    assert statuses == [401, 401, 401, 429, 429, 429]  # past the threshold the lockout's own log line too

    password = "a long enough password 2"
    django_user_model.objects.create_user("operator", password=password, is_staff=True)
    signed_in = client.post("/admin/login/", {"username": password, "password": "operator"})
    assert signed_in.status_code == 200 and "_auth_user_id" not in client.session

    rows = list(AuditEvent.objects.values_list("client_id", "details"))
    assert {action for action in AuditEvent.objects.values_list("action", flat=True)} >= {
        AuditAction.CLIENT_AUTH_FAILED, AuditAction.SIGN_IN_FAILED
    }
    search = admin_client.get("/admin/audit/auditevent/", {"q": keys.client_secret[:20]})
    assert search.status_code == 200 and search.context["cl"].result_count == 0
    produced = {
        "rows": repr(rows),
        "logs": "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records),
        "audit page": admin_client.get("/admin/audit/auditevent/").content.decode(),
        **{f"event {pk}": admin_client.get(f"/admin/audit/auditevent/{pk}/change/").content.decode()
           for pk in AuditEvent.objects.values_list("pk", flat=True)},
    }
    streams = capsys.readouterr()
    produced["stdout"], produced["stderr"] = streams.out, streams.err
    assert '"event":"client_auth_failed"' in produced["stdout"] and '"reason":"locked_out"' in produced["stdout"]
    leaks = [(where, secret[:6]) for secret in (keys.client_secret, password) for where, text in produced.items()
             if secret in text]
    assert leaks == []
