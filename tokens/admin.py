"""Issued tokens and signing keys in the admin: read-only, never a token hash or a private key."""

from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from audit.admin import ReadOnlyAdmin

from .records import revoke_selected
from .keystore import KeyRotationConflict, rotate_signing_key
from .models import AccessToken, SigningKey


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked"),
                ("revoked_all", "Revoked (all tokens)")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        unexpired = Q(revoked_at__isnull=True, expires_at__gt=now)
        conditions = {
            "active": unexpired & ~revoked_together(),
            "expired": Q(revoked_at__isnull=True, expires_at__lte=now),
            "revoked": Q(revoked_at__isnull=False),
            "revoked_all": unexpired & revoked_together(),
        }
        return queryset.filter(conditions[self.value()]) if self.value() in conditions else queryset


def revoked_together() -> Q:
    """Rows of tokens refused by a "Revoke all tokens", "Revoke keys" or disabling (as ``status`` shows)."""
    return (
        Q(key_pair__isnull=True)
        | Q(issued_at__lt=F("application__tokens_not_before"))
        | Q(issued_at__lt=F("key_pair__tokens_not_before"))
    )


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ("jti", "application", "client_id", "environment", "scope", "token_format", "issued_at",
                    "expires_at", "status")
    list_filter = (TokenStatusFilter, "application__realm", "environment", "token_format", "issued_at",
                   ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=jti", "=client_id", "application__name")
    list_select_related = ("application", "key_pair")
    date_hierarchy = "issued_at"
    fields = ("jti", "application", "client_id", "environment", "scope", "token_format", "issued_at", "expires_at",
              "revoked_at", "status")
    readonly_fields = fields
    actions = ["revoke"]

    def changelist_view(self, request, extra_context=None):
        subtitle = ("Opaque tokens, and JWTs revoked one by one. Other JWTs are not stored: they are "
                    "counted per minute, and revoked together with Revoke all tokens or Revoke keys.")
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})

    @admin.display(description="status")
    def status(self, token: AccessToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        if token.is_expired(timezone.now()):
            return "expired"
        cutoffs = [token.application.tokens_not_before, token.key_pair.tokens_not_before if token.key_pair else None]
        if token.key_pair_id is None or any(cutoff and token.issued_at < cutoff for cutoff in cutoffs):
            return "revoked (all tokens)"
        return "active"

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("tokens.change_accesstoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset: QuerySet) -> None:
        revoked = revoke_selected(queryset.exclude(revoked_together()), now=timezone.now())
        self.message_user(request, f"Revoked {revoked} live token(s).", messages.SUCCESS)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "realm", "algorithm", "role", "created_at", "activated_at", "retired_at", "published_until")
    list_filter = ("realm", "algorithm", "role")
    list_select_related = ("realm",)
    search_fields = ("=kid",)
    fields = ("kid", "realm", "algorithm", "role", "created_at", "activated_at", "retired_at", "published_until",
              "public_jwk")
    readonly_fields = fields
    actions = ["rotate"]

    def has_rotate_permission(self, request) -> bool:
        return request.user.has_perm("tokens.change_signingkey")

    @admin.action(description="Rotate the realms of the selected keys: retire each active key and sign with a new one",
                  permissions=["rotate"])
    def rotate(self, request, queryset: QuerySet) -> None:
        for realm in sorted(set(queryset.values_list("realm__name", flat=True))):
            try:
                key = rotate_signing_key(realm=realm)
            except KeyRotationConflict as exc:
                self.message_user(request, f"Realm {realm}: {exc} Nothing was changed there.", messages.WARNING)
                continue
            self.message_user(request, f"Realm {realm}: signing key {key.kid} ({key.algorithm}) signs from now on; the "
                              "previous key stays published until its tokens expire, and a new next key is published "
                              "ahead.", messages.SUCCESS)
