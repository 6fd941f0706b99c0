"""Making and checking consumer keys and secrets.

Secrets are 256 random bits and are stored as a SHA-256 digest, compared in constant time. Not
Django's password hashers: those are deliberately slow (PBKDF2 with hundreds of thousands of
rounds) because passwords are guessable. A random 256-bit secret cannot be guessed, so a slow
hash buys nothing, while paying a PBKDF2 check on every token request would cap the token
endpoint at a few requests per second per core (django-oauth-toolkit's default, and its users'
complaint).
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence

# Compared against when the client is unknown, so that an unknown client id and a wrong secret
# take the same path and the same time.
_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()


def generate_client_id() -> str:
    """Make a consumer key: 144 random bits, URL- and Basic-safe, never starting with ``-``.

    A leading ``-`` would make ``regeneratesecret -Abc...`` (and any shell tool) read the id as an
    option; drawing again keeps the ids uniform over the rest, at 0.02 bits less.
    """
    while (client_id := secrets.token_urlsafe(18)).startswith("-"):
        pass
    return client_id


def generate_client_secret() -> str:
    """Make a consumer secret: 256 random bits."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """Digest a secret for storage."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def generate_secret_label() -> str:
    """Make a secret's public label: 32 random bits in hex, unrelated to the secret.

    Random rather than derived from the secret (a digest of its last characters, an HMAC with
    ``SECRET_KEY``): a label is shown on pages and written in audit rows, and a random one says
    nothing of its secret whatever else leaks, ``SECRET_KEY`` included. Nothing needs to compute it
    again: it is stored, and shown beside the secret the one time the secret is shown.
    """
    return secrets.token_hex(4)


def match_client_secret(secret: str, secret_hashes: Sequence[str]) -> int | None:
    """The index of the stored digest the presented secret matches, or None.

    Every digest is compared in constant time, all of them whatever matches; with none (an unknown
    client) a dummy one is, so that an unknown client id and a wrong secret cost the same.
    """
    presented = hash_client_secret(secret)
    if not secret_hashes:
        hmac.compare_digest(presented, _DUMMY_HASH)
        return None
    matched = None
    for index, secret_hash in enumerate(secret_hashes):
        if hmac.compare_digest(presented, secret_hash):
            matched = index
    return matched
