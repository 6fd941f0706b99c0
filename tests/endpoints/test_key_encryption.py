"""Signing keys at rest: Fernet-encrypted, so a copy of the database alone cannot mint tokens."""

import importlib
from datetime import timedelta

import jwt
import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from tokens.encryption import decrypt_private_key, derive_fernet_key, encrypt_private_key
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import KeyRole, SigningKey
from tokens.protocol.keys import generate_private_key_pem, public_jwk

encrypt_migration = importlib.import_module("tokens.migrations.0002_encrypt_signing_keys")


def create_signing_key(*, algorithm: str) -> SigningKey:
    """Store a key as the key store does, retired but still published, so several can coexist."""
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return SigningKey.objects.create(
        kid=jwk["kid"], algorithm=algorithm, private_key=encrypt_private_key(pem), public_jwk=jwk,
        role=KeyRole.RETIRED, published_until=timezone.now() + timedelta(hours=1),
    )


def test_a_new_signing_key_is_stored_encrypted(db):
    row = rotate_signing_key(algorithm="ES256")
    assert "PRIVATE KEY" not in row.private_key
    assert row.private_key.startswith("gAAAAA")  # a Fernet token
    assert decrypt_private_key(row.private_key).startswith("-----BEGIN PRIVATE KEY-----")


def test_tokens_are_signed_with_the_decrypted_key(make_keys, request_token):
    token = request_token(make_keys()).json()["access_token"]
    key = key_store.find(jwt.get_unverified_header(token)["kid"])
    claims = jwt.decode(token, key.public_key, algorithms=["RS256"], audience="http://127.0.0.1:8000")
    assert claims["iss"] == "http://127.0.0.1:8000"


def test_the_configured_key_encrypts(db, settings):
    configured = Fernet.generate_key()
    settings.OAUTH_KEY_ENCRYPTION_KEY = [configured.decode()]
    row = create_signing_key(algorithm="EdDSA")
    assert Fernet(configured).decrypt(row.private_key.encode()).startswith(b"-----BEGIN PRIVATE KEY-----")


def test_without_the_encryption_key_a_database_copy_is_useless(db, settings):
    settings.OAUTH_KEY_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    row = create_signing_key(algorithm="ES256")
    # Another installation: a different SECRET_KEY and no (or another) encryption key.
    settings.OAUTH_KEY_ENCRYPTION_KEY = []
    settings.SECRET_KEY = "another-installation-entirely-0123456789"
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        decrypt_private_key(row.private_key)


def test_keys_made_before_the_variable_was_set_still_decrypt(db, settings):
    row = create_signing_key(algorithm="ES256")  # encrypted with the key derived from SECRET_KEY
    settings.OAUTH_KEY_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    assert decrypt_private_key(row.private_key).startswith("-----BEGIN")


def test_a_rotated_secret_key_still_decrypts_through_the_fallbacks(db, settings):
    old = settings.SECRET_KEY
    row = create_signing_key(algorithm="ES256")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-brand-new-secret-key-0123456789abcdef", [old]
    assert decrypt_private_key(row.private_key).startswith("-----BEGIN")


def test_a_planted_plain_pem_key_is_refused(db):
    planted = SigningKey.objects.create(
        kid="planted", algorithm="ES256", private_key=generate_private_key_pem("ES256"), public_jwk={}
    )
    with pytest.raises(ImproperlyConfigured):
        decrypt_private_key(planted.private_key)


def test_a_malformed_encryption_key_is_a_clear_configuration_error(settings):
    settings.OAUTH_KEY_ENCRYPTION_KEY = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        encrypt_private_key("x")


def test_the_migration_encrypts_existing_plain_keys_and_can_undo_it(db):
    pem = generate_private_key_pem("ES256")
    plain = SigningKey.objects.create(kid="old", algorithm="ES256", private_key=pem, public_jwk={}, role=KeyRole.RETIRED)
    already = create_signing_key(algorithm="ES256")
    encrypt_migration.encrypt_keys(apps, None)
    plain.refresh_from_db()
    assert plain.private_key != pem and decrypt_private_key(plain.private_key) == pem
    assert SigningKey.objects.get(pk=already.pk).private_key == already.private_key  # not twice
    encrypt_migration.decrypt_keys(apps, None)
    plain.refresh_from_db()
    assert plain.private_key == pem


def test_the_derived_key_depends_on_the_secret_key():
    assert derive_fernet_key("one") != derive_fernet_key("two")
    Fernet(derive_fernet_key("one"))  # a valid Fernet key
