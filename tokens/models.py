"""Issued access tokens and the keys that sign JWTs."""

from datetime import datetime

from django.db import models

from clients.models import Application, Environment, KeyPair, Realm, TokenFormat, default_realm_pk


class AccessToken(models.Model):
    """An opaque token (only its hash is kept), or a JWT revoked before its expiry (RFC 7009).

    A JWT is not stored when issued: the signed token is its own record (``tokens.records``).
    Revoking one stores its ``jti`` here, revoked, until it expires.
    """

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
    # The token's aud as issued (RFC 8707): its audiences separated by spaces; "" for a row written
    # before audiences existed, which reads as its realm's own audience (tokens.audiences).
    audience = models.TextField(blank=True, default="")
    # RFC 9449 §6.2: the RFC 7638 thumbprint of the DPoP key an opaque token is bound to; "" for a bearer token.
    jkt = models.CharField("DPoP key thumbprint", max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            models.Index(fields=["application", "revoked_at", "expires_at"], name="token_app_live"),
            # The revoked set each process keeps is read by revocation time; only revoked rows
            # enter this index, so issuing an opaque token writes nothing to it.
            models.Index(fields=["revoked_at"], condition=models.Q(revoked_at__isnull=False), name="token_revoked"),
        ]
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


class KeyRole(models.TextChoices):
    """Where a signing key is in its life: published ahead, signing, or published until its tokens expire."""

    NEXT = "next", "next (published, not signing yet)"
    ACTIVE = "active", "active (signing)"
    RETIRED = "retired", "retired (verifying only)"


class SigningKey(models.Model):
    """A realm's JWT signing key: one ``next``, one ``active``, and retired ones still published a while.

    The next key is in the JWKS before it signs anything, so a verifier that fetched the JWKS
    before a rotation already knows the key that takes over. A retired key stays published until
    ``published_until``: the last moment a process may still have signed with it, plus the
    longest lifetime a token could have (``tokens.keystore``).
    """

    kid = models.CharField(max_length=64, unique=True)
    realm = models.ForeignKey(Realm, on_delete=models.CASCADE, related_name="signing_keys", default=default_realm_pk)
    algorithm = models.CharField(max_length=10)
    private_key = models.TextField()
    public_jwk = models.JSONField()
    role = models.CharField(max_length=10, choices=KeyRole.choices, default=KeyRole.NEXT)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    published_until = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one key signs and one waits in each realm: two processes rotating at once cannot both win.
            models.UniqueConstraint(
                fields=["realm", "role"], condition=models.Q(role__in=["next", "active"]),
                name="signing_key_one_per_realm_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.role})"


class UsedDPoPProof(models.Model):
    """A DPoP proof already presented (RFC 9449 §11.1), kept until its ``iat`` is too old to be accepted anyway.

    The replay store's record when the shared cache is not there or fails (``tokens.dpop``):
    ``proof_key`` is SHA-256 of the proof's key thumbprint and ``jti``, unique, so a second use
    of a proof conflicts. cleartokens deletes the expired ones.
    """

    proof_key = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.proof_key


class IssuanceCount(models.Model):
    """How many tokens an application got in one environment and one minute (UTC), by format.

    Each process counts in memory and adds its counts here in one statement every few seconds
    (``tokens.usage``): the portal's "tokens issued", "last use" and usage charts read these rows.
    """

    # No database constraint: a count flushed just after its application was deleted is dropped
    # by the next cleartokens rather than failing the whole flush.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="issuance_counts", db_constraint=False, db_index=False
    )
    environment = models.CharField(max_length=20, choices=Environment.choices)
    token_format = models.CharField(max_length=10, choices=TokenFormat.choices[1:])
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "environment", "token_format", "minute"], name="issuance_count_per_minute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.token_format} token(s) at {self.minute:%Y-%m-%d %H:%M}"
