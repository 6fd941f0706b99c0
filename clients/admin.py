"""Applications, their key pairs and the scope registry in the admin; never a secret or its hash."""

from django.contrib import admin, messages
from django.db import transaction

from audit.models import AuditAction
from audit.services import record_application_change, record_event
from tokens.services import revoke_tokens, set_application_active

from .models import Application, KeyPair, Scope


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")


class KeyPairInline(admin.TabularInline):
    """Consumer keys, read-only: they are made and revoked in the portal, where the secret is shown."""

    model = KeyPair
    fields = ("environment", "client_id", "created_at", "secret_updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "is_active", "token_format", "environments", "is_resource_server", "created_at")
    list_filter = ("is_active", "token_format", "key_pairs__environment", "is_resource_server")
    search_fields = ("name", "key_pairs__client_id", "owner__username", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [KeyPairInline]
    actions = ["disable", "enable", "revoke_all_tokens"]
    fieldsets = (
        (None, {"fields": ("name", "description", "owner", "is_active")}),
        ("Tokens", {"fields": ("scopes", "default_scopes", "client_credentials_enabled", "token_format",
                               "token_lifetime", "is_resource_server")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("key_pairs")

    @admin.display(description="keys")
    def environments(self, application: Application) -> str:
        return ", ".join(pair.get_environment_display() for pair in application.key_pairs.all()) or "-"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:
            record_application_change(obj, changed_fields=form.changed_data)
            if "is_active" in form.changed_data and not obj.is_active:
                revoke_tokens(application=obj)  # disabled: none of its tokens works any more
        else:
            record_event(AuditAction.APPLICATION_CREATED, application=obj, details={"name": obj.name})

    @admin.action(description="Disable selected applications (their tokens are revoked)", permissions=["change"])
    def disable(self, request, queryset) -> None:
        self._set_active(request, queryset, False)

    @admin.action(description="Enable selected applications", permissions=["change"])
    def enable(self, request, queryset) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Revoke all tokens of selected applications", permissions=["change"])
    def revoke_all_tokens(self, request, queryset) -> None:
        with transaction.atomic():
            revoked = sum(revoke_tokens(application=application) for application in queryset)
        self.message_user(request, f"Revoked {revoked} live token(s) of {len(queryset)} application(s).", messages.SUCCESS)

    def _set_active(self, request, queryset, is_active: bool) -> None:
        with transaction.atomic():
            changed = sum(set_application_active(application=app, is_active=is_active) for app in queryset)
        state = "enabled" if is_active else "disabled"
        self.message_user(request, f"{changed} application(s) {state}.", messages.SUCCESS)
