"""The audit trail: who did what to which application or client, when, and from where."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    TOKEN_ISSUED = "token_issued", "Token issued"
    TOKEN_REVOKED = "token_revoked", "Token revoked"
    CLIENT_AUTH_FAILED = "client_auth_failed", "Client authentication failed"
    SECRET_GENERATED = "secret_generated", "Keys generated"
    SECRET_REGENERATED = "secret_regenerated", "Secret regenerated"
    KEYS_REVOKED = "keys_revoked", "Keys revoked"
    SIGNING_KEY_ROTATED = "signing_key_rotated", "Signing key rotated"
    APPLICATION_CREATED = "application_created", "Application created"
    APPLICATION_CHANGED = "application_changed", "Application changed"
    APPLICATION_DISABLED = "application_disabled", "Application disabled"
    SCOPES_APPROVED = "scopes_approved", "Scopes approved"
    SCOPES_DENIED = "scopes_denied", "Scopes denied"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    REALM_CREATED = "realm_created", "Realm created"
    REALM_CHANGED = "realm_changed", "Realm changed"
    REALM_DELETED = "realm_deleted", "Realm deleted"


class AuditEvent(models.Model):
    """One security-relevant event. Holds identifiers (client_id, jti), never a secret or token."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The client acting (token requests) or acted upon (keys); as sent when authentication failed.
    client_id = models.CharField(max_length=64, blank=True, db_index=True)
    application = models.ForeignKey(
        # By name, not import: audit sits below clients (docs/architecture.md).
        "clients.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    environment = models.CharField(max_length=20, blank=True)
    address = models.CharField("source address", max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["application", "-created_at"], name="audit_app_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.client_id or ''} at {self.created_at:%Y-%m-%d %H:%M:%S}".strip()

    @property
    def actor(self) -> str:
        """Who did it: the signed-in user, else the client, else the system (a command)."""
        if self.user_id:
            return self.user.get_username()
        return self.client_id or "system"
