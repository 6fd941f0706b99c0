"""Key pairs in the admin: operators generate, regenerate and revoke them, owner or not.

The new secret is rendered in the action's own response, marked no-store, and nowhere else:
never in a message (Django keeps messages in the session or a cookie until the next page), a
URL or a log. Regenerating asks first and carries each secret's version, so a confirmation
sent twice (a reload) regenerates once, as in the portal.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from audit.admin import ReadOnlyAdmin

from .models import ClientSecret, Environment, KeyPair
from .secret_store import GRACE_CHOICES, read_grace_choice
from .services import (
    SecretAlreadyRegenerated,
    TooManySecrets,
    generate_keys,
    regenerate_secret,
    revoke_keys,
    secret_version,
)


class ClientSecretInline(admin.TabularInline):
    """A key pair's secrets by their labels, read-only: never a value or its digest."""

    model = ClientSecret
    fields = ("label", "created_at", "expires_at", "last_used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "secrets (live, and expired within the last 30 days)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("clients.view_keypair")  # who sees the key pair sees its secrets' labels


@admin.register(KeyPair)
class KeyPairAdmin(ReadOnlyAdmin):
    """Consumer keys, read-only; the actions are the only way to change them."""

    list_display = ("client_id", "application", "application__realm", "environment", "created_at", "secret_updated_at")
    list_filter = ("environment", "application__realm")
    search_fields = ("=client_id", "application__name")
    list_select_related = ("application__realm",)
    fields = ("client_id", "application", "environment", "created_at", "secret_updated_at")
    readonly_fields = fields
    inlines = [ClientSecretInline]
    actions = ["regenerate_secrets", "revoke"]

    def has_regenerate_permission(self, request) -> bool:
        return request.user.has_perm("clients.change_keypair")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("clients.delete_keypair")

    @admin.action(description="Regenerate the secret of selected key pairs (with a grace period for the old ones)",
                  permissions=["regenerate"])
    def regenerate_secrets(self, request: HttpRequest, queryset: QuerySet[KeyPair]) -> HttpResponse:
        grace = read_grace_choice(request.POST.get("grace", "0"))  # none chosen: at once, as before grace periods
        if request.POST.get("post") != "yes" or grace is None:
            return _confirm(self, request, queryset, "regenerate_secrets", "Regenerate secrets",
                            "Each selected key pair gets a new secret, shown once on the next page; its current "
                            "secrets stop working when you choose.", versions=True)
        issued, skipped = [], []
        for key_pair in queryset:
            try:
                issued.append(regenerate_secret(key_pair=key_pair, grace=grace,
                                                version=request.POST.get(f"version-{key_pair.pk}", "")))
            except SecretAlreadyRegenerated:
                skipped.append((key_pair, "already regenerated since the confirmation was shown (a reload sends it "
                                          "again): nothing changed"))
            except TooManySecrets as error:
                skipped.append((key_pair, str(error)))
        return show_secrets(self, request, issued, skipped)

    @admin.action(description="Revoke selected key pairs and their live tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[KeyPair]) -> HttpResponse | None:
        if request.POST.get("post") != "yes":
            return _confirm(self, request, queryset, "revoke", "Revoke keys",
                            "Each selected key pair is deleted and every live token issued with it is revoked.")
        pairs = list(queryset)
        for key_pair in pairs:
            revoke_keys(key_pair=key_pair)
        self.message_user(request, f"Revoked {len(pairs)} key pair(s) and every token issued with them.", messages.SUCCESS)
        return None


@admin.action(description="Generate production keys (for selected applications without them)",
              permissions=["generate_keys"])
def generate_production_keys(model_admin, request: HttpRequest, queryset) -> HttpResponse:
    return _generate(model_admin, request, queryset, Environment.PRODUCTION)


@admin.action(description="Generate sandbox keys (for selected applications without them)",
              permissions=["generate_keys"])
def generate_sandbox_keys(model_admin, request: HttpRequest, queryset) -> HttpResponse:
    return _generate(model_admin, request, queryset, Environment.SANDBOX)


def _generate(model_admin, request: HttpRequest, queryset, environment: str) -> HttpResponse:
    # Idempotent like the portal's Generate Keys: an application that has keys there keeps them.
    issued, skipped = [], []
    for application in queryset.prefetch_related("key_pairs"):
        if any(pair.environment == environment for pair in application.key_pairs.all()):
            skipped.append(application)
            continue
        try:
            issued.append(generate_keys(application=application, environment=environment))
        except IntegrityError:  # generated by someone else a moment ago
            skipped.append(application)
    reason = f"already has {environment} keys: regenerate its secret on the key pairs page"
    return show_secrets(model_admin, request, issued, [(application, reason) for application in skipped])


def show_secrets(model_admin, request: HttpRequest, issued: list, skipped: list[tuple[object, str]]) -> HttpResponse:
    """The one page that shows new secrets: not cached, not stored, not repeated; skipped is (item, why) pairs."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Copy the new secrets now" if issued else "No new secret",
        "issued": issued,
        "skipped": skipped,
    }
    response = TemplateResponse(request, "admin/clients/issued_secrets.html", context)
    add_never_cache_headers(response)
    return response


def _confirm(model_admin, request, queryset, action: str, title: str, consequence: str, *, versions: bool = False):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"{title}?",
        "consequence": consequence,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "key_pairs": [(pair, secret_version(pair) if versions else "") for pair in queryset.select_related("application")],
        "grace_choices": GRACE_CHOICES if versions else (),
    }
    return TemplateResponse(request, "admin/clients/confirm_key_action.html", context)
