"""Signing key rotation "from now on" (CONTRACT, rotatekeys): next key published ahead, retired keys kept.

RFC 7517 §5 (the JWK Set), RFC 8414 §2 (``access_token_signing_alg_values_supported``).
"""

import importlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.db import OperationalError
from django.utils import timezone

from tokens import keystore
from tokens.keystore import (
    KeyRotationConflict,
    KeyStore,
    key_store,
    retired_key_published_until,
    rotate_signing_key,
)
from tokens.models import KeyRole, SigningKey
from tokens.protocol.formats import CLOCK_SKEW_SECONDS
from tokens.services import clear_tokens, validate_access_token


def published_kids(api_client) -> list[str]:
    return [key["kid"] for key in api_client.get("/.well-known/jwks.json").json()["keys"]]


def kid_of(response) -> str:
    return jwt.get_unverified_header(response.json()["access_token"])["kid"]


def test_a_fresh_install_signs_with_one_key_and_publishes_the_next_ahead(api_client, make_keys, request_token):
    signing_kid = kid_of(request_token(make_keys()))
    roles = dict(SigningKey.objects.values_list("kid", "role"))
    assert roles[signing_kid] == KeyRole.ACTIVE
    assert sorted(roles.values()) == [KeyRole.ACTIVE, KeyRole.NEXT]
    assert set(published_kids(api_client)) == set(roles)


def test_the_key_that_takes_over_was_published_before_the_rotation(api_client, make_keys, request_token):
    keys = make_keys()
    old_kid = kid_of(request_token(keys))
    published_before = set(published_kids(api_client))
    rotated = rotate_signing_key()
    new_kid = kid_of(request_token(keys))
    assert new_kid == rotated.kid != old_kid
    assert new_kid in published_before
    published_after = set(published_kids(api_client))
    # The old key stays for its tokens, and a new next key is published ahead of the next rotation.
    assert published_after >= {old_kid, new_kid} and len(published_after) == 3
    assert SigningKey.objects.get(role=KeyRole.NEXT).kid not in published_before


def test_tokens_signed_before_a_rotation_stay_valid_until_they_expire(make_keys, request_token):
    keys = make_keys()
    token = request_token(keys, validity_period=600).json()["access_token"]
    rotate_signing_key()
    rotate_signing_key()  # twice: the token's key is now two keys behind
    assert validate_access_token(token).client_id == keys.client_id
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    last_second = datetime.fromtimestamp(exp - 1, UTC)
    assert validate_access_token(token, now=last_second).client_id == keys.client_id


def test_a_retired_key_stays_published_from_its_last_possible_signature_plus_the_longest_lifetime(db, settings):
    settings.OAUTH_KEY_CACHE_SECONDS, settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 30, 3600
    first = rotate_signing_key()
    rotate_signing_key()
    retired = SigningKey.objects.get(pk=first.pk)
    assert retired.role == KeyRole.RETIRED
    # A process may sign with it until its copy of the keys is OAUTH_KEY_CACHE_SECONDS old.
    assert retired.published_until == retired.retired_at + timedelta(seconds=30 + 3600 + CLOCK_SKEW_SECONDS)
    assert retired_key_published_until(retired.retired_at) == retired.published_until


def test_a_retired_key_leaves_the_jwks_and_the_database_once_due(api_client, db):
    old = rotate_signing_key()
    rotate_signing_key()
    assert old.kid in published_kids(api_client)
    SigningKey.objects.filter(pk=old.pk).update(published_until=timezone.now() - timedelta(seconds=1))
    key_store.invalidate()
    assert old.kid not in published_kids(api_client) and len(published_kids(api_client)) == 2
    assert clear_tokens().signing_keys == 1
    assert not SigningKey.objects.filter(pk=old.pk).exists()


def test_another_worker_of_the_host_signs_with_the_new_key_at_once(db, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.VAR_DIR, settings.OAUTH_KEY_CACHE_SECONDS = tmp_path, 3600
    other_worker = KeyStore()  # another process's copy: it never hears of this one's invalidate()
    before = other_worker.active_key().kid
    with django_capture_on_commit_callbacks(execute=True):
        rotated = rotate_signing_key()
    assert rotated.kid != before
    assert other_worker.active_key().kid == rotated.kid
    assert other_worker.find(before) is not None  # still published, for its tokens


def test_without_an_announcement_a_worker_still_rereads_the_keys_within_the_cache_bound(db, settings):
    now = [0.0]
    settings.OAUTH_KEY_CACHE_SECONDS = 30
    worker = KeyStore(clock=lambda: now[0])
    first = worker.active_key().kid
    rotated = rotate_signing_key()  # under the test's transaction: the announcement never runs
    now[0] = 29.0
    assert worker.active_key().kid == first
    now[0] = 30.0
    assert worker.active_key().kid == rotated.kid


def test_keys_made_before_roles_get_a_next_key_on_first_use(db):
    active = rotate_signing_key()
    SigningKey.objects.filter(role=KeyRole.NEXT).delete()  # as the migration leaves an old install
    key_store.invalidate()
    assert key_store.active_key().kid == active.kid
    assert SigningKey.objects.filter(role=KeyRole.NEXT).count() == 1


def test_changing_the_algorithm_setting_rotates_to_a_key_of_that_algorithm(api_client, make_keys, request_token, settings):
    keys = make_keys()
    rsa_kid = kid_of(request_token(keys))
    settings.OAUTH_JWT_ALGORITHM = "ES256"
    header = jwt.get_unverified_header(request_token(keys).json()["access_token"])
    assert header["alg"] == "ES256"
    roles = {key.kid: (key.role, key.algorithm) for key in SigningKey.objects.all()}
    assert roles[rsa_kid] == (KeyRole.RETIRED, "RS256")
    assert roles[header["kid"]] == (KeyRole.ACTIVE, "ES256")
    # The RS256 key that waited never signed: it is gone, and the new next key is ES256 too.
    assert sorted(role for role, _ in roles.values()) == [KeyRole.ACTIVE, KeyRole.NEXT, KeyRole.RETIRED]
    assert all(algorithm == "ES256" for role, algorithm in roles.values() if role != KeyRole.RETIRED)
    metadata = api_client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["access_token_signing_alg_values_supported"] == ["RS256", "ES256"]


def test_the_metadata_lists_only_the_algorithms_of_published_keys(api_client, db, settings):
    settings.OAUTH_JWT_ALGORITHM = "Ed25519"
    metadata = api_client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["access_token_signing_alg_values_supported"] == ["Ed25519"]
    jwks = api_client.get("/.well-known/jwks.json").json()["keys"]
    assert {(key["kty"], key["crv"], key["alg"]) for key in jwks} == {("OKP", "Ed25519", "Ed25519")}


def test_only_one_key_can_be_active_or_next(db):
    from django.db import IntegrityError, transaction

    rotate_signing_key()
    active = SigningKey.objects.get(role=KeyRole.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(kid="x", algorithm="RS256", private_key=active.private_key, public_jwk={}, role=KeyRole.ACTIVE)


def test_verifying_never_decrypts_a_private_key(make_keys, request_token, settings, monkeypatch):
    token = request_token(make_keys()).json()["access_token"]
    key_store.invalidate()

    def refuse(*args, **kwargs):
        raise AssertionError("a private key was decrypted to verify a token")

    monkeypatch.setattr("tokens.keystore.decrypt_private_key", refuse)
    fresh = KeyStore()
    monkeypatch.setitem(keystore._key_stores, "default", fresh)
    assert validate_access_token(token).scope == "read"
    assert fresh.published_keys()


def test_the_migration_makes_the_newest_unretired_key_active_and_keeps_retired_ones_published(db, settings):
    from django.apps import apps

    migration = importlib.import_module("tokens.migrations.0004_signing_key_roles")
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 3600
    now = timezone.now()

    def old_row(kid: str, *, created: timedelta, retired: timedelta | None = None) -> SigningKey:
        # As keys were stored before roles: no role to speak of (the column's placeholder here).
        row = SigningKey.objects.create(kid=kid, algorithm="RS256", private_key="x", public_jwk={}, role=KeyRole.RETIRED)
        SigningKey.objects.filter(pk=row.pk).update(created_at=now - created, retired_at=retired and now - retired)
        return row

    old_row("a", created=timedelta(days=2), retired=timedelta(hours=2))
    old_row("b", created=timedelta(days=1))  # unretired, but an older key than c
    old_row("c", created=timedelta(hours=1))
    migration.assign_roles(apps, None)
    rows = {row.kid: row for row in SigningKey.objects.all()}
    assert rows["c"].role == KeyRole.ACTIVE and rows["c"].activated_at == rows["c"].created_at
    assert rows["a"].role == rows["b"].role == KeyRole.RETIRED
    assert rows["a"].published_until == rows["a"].retired_at + timedelta(hours=1)  # as before the migration
    assert rows["b"].retired_at == rows["c"].created_at  # superseded when the newer key was made


class _InterleavedLock:
    """A lock that runs meanwhile() just before its first acquisition: another thread's turn."""

    def __init__(self, lock, meanwhile) -> None:
        self._lock, self._meanwhile = lock, meanwhile

    def __enter__(self):
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def test_a_slow_read_of_the_keys_never_replaces_a_newer_one(db, settings):
    """Two threads of one process (gthread) re-read the keys at once: the one that read first finishes last."""
    now = [0.0]
    settings.OAUTH_KEY_CACHE_SECONDS = 30
    worker = KeyStore(clock=lambda: now[0])
    first = worker.active_key().kid
    now[0] = 30.0  # due for a re-read; the rotation below is another host's, announced to nobody
    rotated = []

    def another_thread_reads_after_a_rotation() -> None:
        rotated.append(rotate_signing_key().kid)
        assert worker.active_key().kid == rotated[0]

    worker._lock = _InterleavedLock(worker._lock, another_thread_reads_after_a_rotation)
    worker.published_keys()  # read the keys before the rotation, installs them after the other thread
    assert rotated and rotated[0] != first
    assert worker.active_key().kid == rotated[0]


def test_a_rotation_that_loses_a_deadlock_to_another_is_a_conflict_not_an_error(db, monkeypatch):
    # PostgreSQL resolves two first-use rotations waiting on each other's key by failing one
    # (SQLSTATE 40P01): a 503 on a fresh install's first concurrent token requests, until this.
    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    def deadlocked(*args, **kwargs):
        raise OperationalError("deadlock detected") from DeadlockDetected()

    monkeypatch.setattr(keystore, "_rotate", deadlocked)
    with pytest.raises(KeyRotationConflict):
        rotate_signing_key()

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(keystore, "_rotate", locked)
    with pytest.raises(OperationalError):  # any other failure is not a lost race
        rotate_signing_key()


def test_threads_of_one_process_rotate_once_on_first_use(db, monkeypatch):
    rotations = []
    real = keystore.rotate_signing_key
    monkeypatch.setattr(keystore, "rotate_signing_key", lambda **kwargs: rotations.append(1) or real(**kwargs))
    store = KeyStore()
    store.active_key()
    store._rotate_on_first_use()  # as a second thread that saw no key before the first made it
    assert len(rotations) == 1
    assert SigningKey.objects.filter(role="active").count() == 1
