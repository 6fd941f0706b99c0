"""Encryption at rest of the signing keys' private halves (Fernet: AES-128-CBC with HMAC-SHA256).

A copy of the database alone cannot mint tokens: the key that decrypts comes from the
environment (``OAUTH_KEY_ENCRYPTION_KEY``, comma-separated Fernet keys, the first encrypts), or is
derived from ``SECRET_KEY`` when that is unset. Keys derived from ``SECRET_KEY`` and its fallbacks
still decrypt, so setting the variable later, or rotating either, keeps existing keys readable.
Plain PEM is refused: whoever can write to the database must not be able to plant a key.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def derive_fernet_key(secret: str) -> bytes:
    """Turn Django's SECRET_KEY into a Fernet key (HKDF-SHA256 with a purpose label)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"oauthserver signing key encryption")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def key_encryption() -> MultiFernet:
    """The configured keys in order: the first encrypts, any of them decrypts."""
    configured = [key.strip() for key in settings.OAUTH_KEY_ENCRYPTION_KEY if key.strip()]
    derived = [derive_fernet_key(secret) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]
    try:
        return MultiFernet([Fernet(key) for key in configured] + [Fernet(key) for key in derived])
    except ValueError:
        raise ImproperlyConfigured(
            "OAUTH_KEY_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated."
        ) from None


def encrypt_private_key(pem: str) -> str:
    """Encrypt a PEM private key for storage."""
    return key_encryption().encrypt(pem.encode("ascii")).decode("ascii")


def decrypt_private_key(stored: str) -> str:
    """Decrypt a stored private key back to PEM; a wrong key or plain PEM is a configuration error."""
    try:
        return key_encryption().decrypt(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise ImproperlyConfigured(
            "A signing key cannot be decrypted: OAUTH_KEY_ENCRYPTION_KEY (or SECRET_KEY) is not the one "
            "it was stored with, or the key was stored unencrypted."
        ) from None


def reencrypt_private_key(stored: str) -> str:
    """Encrypt a stored key again under the first (newest) key, so older keys can be dropped."""
    try:
        return key_encryption().rotate(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        return encrypt_private_key(decrypt_private_key(stored))  # raises the same clear error


def is_encrypted(stored: str) -> bool:
    """Tell a Fernet token from a plain PEM key (the migration encrypts only the latter)."""
    return not stored.lstrip().startswith("-----BEGIN")
