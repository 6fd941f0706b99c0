"""``reencryptkeys``: every signing key moves to the newest OAUTH_KEY_ENCRYPTION_KEY."""

from cryptography.fernet import Fernet

from tests.endpoints.test_key_encryption import create_signing_key
from tokens.encryption import decrypt_private_key
from tokens.keystore import key_store
from tokens.models import SigningKey


def test_reencryptkeys_moves_every_key_to_the_newest_encryption_key(db, settings):
    from io import StringIO

    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.OAUTH_KEY_ENCRYPTION_KEY = [old]
    rows = [create_signing_key(algorithm="ES256"), create_signing_key(algorithm="EdDSA")]
    settings.OAUTH_KEY_ENCRYPTION_KEY = [new, old]  # the new key first; the old one still decrypts
    out = StringIO()
    call_command("reencryptkeys", stdout=out)
    assert "Re-encrypted 2 signing key(s)" in out.getvalue()
    for row in rows:
        stored = SigningKey.objects.get(pk=row.pk).private_key
        assert Fernet(new.encode()).decrypt(stored.encode()) == decrypt_private_key(row.private_key).encode()
    settings.OAUTH_KEY_ENCRYPTION_KEY = [new]  # the old key can go now
    settings.SECRET_KEY = "another-secret-key-so-derived-keys-do-not-help-0123456789"
    key_store.invalidate()
    assert {key.kid for key in key_store.published_keys()} >= {row.kid for row in rows}
