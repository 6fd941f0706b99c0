"""Applications, their key pairs and the scope registry in the admin; never a secret or its hash."""

from django.contrib import admin, messages
from django.db import transaction

from audit.models import AuditAction
from audit.services import record_application_change, record_event
from .admin_keys import KeyPairAdmin, generate_production_keys, generate_sandbox_keys  # noqa: F401 (registers)
from .admin_realms import RealmAdmin  # noqa: F401 (registers)
from .models import Application, KeyPair, Scope
from .scope_grants import approve_pending_scopes, deny_pending_scopes
from .services import revoke_tokens, set_application_active


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ("name", "realm", "visibility", "description")
    list_filter = ("realm", "visibility")
    list_select_related = ("realm",)
    search_fields = ("name", "description")

    def get_readonly_fields(self, request, obj=None):
        # A scope keeps its realm: its applications, and their tokens, name it in that realm only.
        return (*super().get_readonly_fields(request, obj), *(("realm",) if obj is not None else ()))
    radio_fields = {"visibility": admin.VERTICAL}


class PendingScopesFilter(admin.SimpleListFilter):
    """Applications whose developer asked for restricted scopes an operator has not decided on."""

    title = "scope requests"
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        return [("yes", "Pending approval")]

    def queryset(self, request, queryset):
        return queryset.exclude(pending_scopes="") if self.value() == "yes" else queryset


class KeyPairInline(admin.TabularInline):
    """Consumer keys, read-only here: the portal and the actions of the admin's key pairs page and
    of this list (generate) change them, and show a new secret once."""

    model = KeyPair
    fields = ("environment", "client_id", "created_at", "secret_updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True  # its page lists its secrets (label, created, expires, last used)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "realm", "owner", "is_active", "token_format", "environments", "is_resource_server",
                    "pending_scopes", "created_at")
    list_filter = (PendingScopesFilter, "realm", "is_active", "token_format", "key_pairs__environment",
                   "is_resource_server")
    search_fields = ("name", "key_pairs__client_id", "owner__username", "owner__email")
    list_select_related = ("owner", "realm")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [KeyPairInline]
    actions = [
        "disable", "enable", "revoke_all_tokens", "approve_scopes", "deny_scopes", generate_production_keys,
        generate_sandbox_keys,
    ]
    fieldsets = (
        (None, {"fields": ("name", "realm", "description", "owner", "is_active")}),
        ("Tokens", {"fields": ("scopes", "pending_scopes", "default_scopes", "client_credentials_enabled", "token_format",
                               "token_lifetime", "token_rate_limit", "is_resource_server", "require_dpop")}),
        ("Audiences (RFC 8707)", {"fields": ("audiences", "default_audience")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("key_pairs")

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Chosen when it is added: in another realm its tokens would carry another issuer.
            readonly += ("realm",)
        # The owner regenerates secrets in the portal: moving an application to someone is full
        # control of that client, so it needs a permission of its own.
        if obj is not None and not request.user.has_perm("clients.change_application_owner"):
            readonly += ("owner",)
        return readonly

    @admin.display(description="keys")
    def environments(self, application: Application) -> str:
        return ", ".join(pair.get_environment_display() for pair in application.key_pairs.all()) or "-"

    def save_model(self, request, obj, form, change) -> None:
        # The admin saves inside one transaction (changeform_view): the change and its audit
        # row commit together.
        previous_owner = _owner_name(Application.objects.select_related("owner").get(pk=obj.pk).owner) if change else None
        super().save_model(request, obj, form, change)
        if change and "owner" in form.changed_data:
            record_event(AuditAction.APPLICATION_CHANGED, application=obj, details={
                "fields": ["owner"], "previous_owner": previous_owner, "new_owner": _owner_name(obj.owner)})
        if change:
            record_application_change(obj, changed_fields=[name for name in form.changed_data if name != "owner"])
            if "is_active" in form.changed_data and not obj.is_active:
                revoke_tokens(application=obj)  # disabled: none of its tokens works any more
        else:
            record_event(AuditAction.APPLICATION_CREATED, application=obj, details={"name": obj.name})

    def has_generate_keys_permission(self, request) -> bool:
        return request.user.has_perm("clients.add_keypair")

    @admin.action(description="Disable selected applications (their tokens are revoked)", permissions=["change"])
    def disable(self, request, queryset) -> None:
        self._set_active(request, queryset, False)

    @admin.action(description="Enable selected applications", permissions=["change"])
    def enable(self, request, queryset) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Revoke all tokens of selected applications", permissions=["change"])
    def revoke_all_tokens(self, request, queryset) -> None:
        with transaction.atomic():
            for application in queryset:
                revoke_tokens(application=application)
        self.message_user(request, f"Revoked every token issued so far to {len(queryset)} application(s).", messages.SUCCESS)

    @admin.action(description="Approve pending scopes of selected applications", permissions=["change"])
    def approve_scopes(self, request, queryset) -> None:
        decided = [(app, approve_pending_scopes(application=app)) for app in queryset]
        self._report_scopes(request, decided, "Approved")

    @admin.action(description="Deny pending scopes of selected applications", permissions=["change"])
    def deny_scopes(self, request, queryset) -> None:
        decided = [(app, deny_pending_scopes(application=app)) for app in queryset]
        self._report_scopes(request, decided, "Denied")

    def _report_scopes(self, request, decided: list, verb: str) -> None:
        """Each application's decision is its own transaction, with its audit row."""
        done = [f"{app.name}: {' '.join(sorted(scopes))}" for app, scopes in decided if scopes]
        if done:
            self.message_user(request, f"{verb} " + "; ".join(done) + ".", messages.SUCCESS)
        else:
            self.message_user(request, "No pending scopes among the selected applications.", messages.WARNING)

    def _set_active(self, request, queryset, is_active: bool) -> None:
        with transaction.atomic():
            changed = sum(set_application_active(application=app, is_active=is_active) for app in queryset)
        state = "enabled" if is_active else "disabled"
        self.message_user(request, f"{changed} application(s) {state}.", messages.SUCCESS)


def _owner_name(owner) -> str | None:
    return owner.get_username() if owner is not None else None
