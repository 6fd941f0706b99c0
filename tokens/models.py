"""Issued access tokens and the keys that sign JWTs."""

from datetime import datetime, timedelta

from django.db import models

from clients.models import Application, Environment, KeyPair, TokenFormat


class AccessToken(models.Model):
    """One issued token. Only its hash is kept (opaque) or nothing of it but the ``jti`` (JWT)."""

    # Indexed through token_app_live, which starts with it.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="access_tokens", db_index=False
    )
    # The key pair may be deleted ("Revoke keys"); the token row stays, revoked, for the record.
    key_pair = models.ForeignKey(KeyPair, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_tokens")
    client_id = models.CharField(max_length=64)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    scope = models.CharField(max_length=1000, blank=True)
    token_format = models.CharField(max_length=10, choices=TokenFormat.choices[1:])
    jti = models.CharField(max_length=64, unique=True)
    token_hash = models.CharField(max_length=64, null=True, blank=True)
    issued_at = models.DateTimeField()
    # Not indexed on its own: cleartokens walks the table by id, and live-token lookups go through
    # token_app_live; every index is one more page written per token.
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["application", "revoked_at", "expires_at"], name="token_app_live")]
        constraints = [
            # Only opaque tokens have a hash: JWT rows stay out of this index, and out of its writes.
            models.UniqueConstraint(
                fields=["token_hash"], condition=models.Q(token_hash__isnull=False), name="token_hash_unique"
            )
        ]

    def __str__(self) -> str:
        return self.jti

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and not self.is_expired(now)


class SigningKey(models.Model):
    """A JWT signing key. One is active (not retired); retired ones stay published a while."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10)
    private_key = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm})"

    def is_published(self, now: datetime, max_lifetime: int) -> bool:
        """A retired key stays in the JWKS until every token it could have signed has expired."""
        return self.retired_at is None or self.retired_at + timedelta(seconds=max_lifetime) > now
