"""Realms in the admin (CONTRACT.md "Realms"): their settings, issuer and URLs, through the realm services.

A realm keeps its name once created (its issuer and every URL of it are made of the name). The
default realm is never disabled nor deleted; another realm is deleted only once it has no
application left (their foreign key protects it, and Django's delete page lists them instead).
Creating, changing, disabling and deleting write their audit rows (``clients.services``).
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from tokens.models import SigningKey

from .models import Realm, Scope
from .realms import realm_urls
from .services import REALM_SETTINGS, create_realm, delete_realm, record_realm_change, update_realm


def disabling_consequence() -> str:
    """What an operator reads before a realm goes dark: the confirmation page and the form say it."""
    return (
        "Every endpoint of a disabled realm (token, introspection, revocation, JWKS and metadata) answers 404, "
        "and every token it issued stops working: resource servers refuse them. This happens at once on this "
        f"host, within {settings.OAUTH_REVOCATION_POLL_SECONDS:g} s on instances sharing Redis, and within "
        f"{settings.OAUTH_TOKEN_STATE_CACHE_SECONDS} s on any other. Its applications, keys and scopes are kept; "
        "enabling the realm again brings back its endpoints and its tokens that have not expired."
    )


DEFAULT_STAYS = ("The default realm cannot be disabled: it serves the server's historic paths and OAUTH_ISSUER. "
                 "Nothing was changed.")

# The URLs shown on a realm's page, with their labels (keys of ``realm_urls``).
SHOWN_URLS = (
    ("token_endpoint", "Token endpoint"),
    ("jwks_uri", "JWKS"),
    ("metadata_uri", "Metadata (RFC 8414)"),
    ("introspection_endpoint", "Introspection endpoint"),
    ("revocation_endpoint", "Revocation endpoint"),
)


@admin.register(Realm)
class RealmAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "enabled", "open_to_portal", "application_count", "created_at")
    list_filter = ("enabled", "open_to_portal")
    search_fields = ("name",)
    readonly_fields = ("issuer", "endpoints", "application_count", "created_at")
    actions = ["disable", "enable"]
    fieldsets = (
        (None, {"fields": ("name", "enabled", "open_to_portal")}),
        ("Tokens (empty: the server's settings)", {"fields": (
            "access_token_lifetime", "max_access_token_lifetime", "default_token_format", "jwt_algorithm",
            "client_credentials_enabled")}),
    )
    about = ("Where its clients go", {"fields": ("issuer", "endpoints", "application_count", "created_at")})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Realm]:
        return super().get_queryset(request).annotate(application_total=Count("applications"))

    def get_fieldsets(self, request: HttpRequest, obj: Realm | None = None):
        # The issuer and URLs are made of the name: shown once the realm exists.
        return self.fieldsets if obj is None else (*self.fieldsets, self.about)

    def get_readonly_fields(self, request: HttpRequest, obj: Realm | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly + ("name",) if obj is not None else readonly

    def get_form(self, request: HttpRequest, obj: Realm | None = None, change: bool = False, **kwargs):
        kwargs["help_texts"] = {"enabled": "Unchecked: " + disabling_consequence(), **kwargs.get("help_texts", {})}
        return super().get_form(request, obj, change, **kwargs)

    def get_deleted_objects(self, objs, request: HttpRequest):
        """Django's list of what a delete takes along, without asking for permission on the realm's own keys
        and scopes: they are part of it (no one deletes a signing key by hand), and only its applications
        stop the delete."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        own = {str(model._meta.verbose_name) for model in (SigningKey, Scope)}
        return deleted, counts, perms_needed - own, protected

    def has_delete_permission(self, request: HttpRequest, obj: Realm | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_default)

    @admin.display(description="issuer")
    def issuer(self, realm: Realm) -> str:
        return realm_urls(realm.name)["issuer"]

    @admin.display(description="URLs")
    def endpoints(self, realm: Realm) -> str:
        found = realm_urls(realm.name)
        return format_html("<dl>{}</dl>", format_html_join(
            "", '<dt>{}</dt><dd><code class="realm-url" id="{}">{}</code></dd>',
            ((label, key, found[key]) for key, label in SHOWN_URLS)))

    @admin.display(description="applications", ordering="application_total")
    def application_count(self, realm: Realm) -> str:
        count = getattr(realm, "application_total", None)
        if count is None:  # a realm read without the list's annotation
            count = realm.applications.count()
        url = reverse("admin:clients_application_changelist") + f"?realm__id__exact={realm.pk}"
        return format_html('<a href="{}">{}</a>', url, count)

    def save_model(self, request: HttpRequest, obj: Realm, form, change: bool) -> None:
        # Inside the admin's transaction: the realm and its audit row commit together.
        if change:
            super().save_model(request, obj, form, change)
            record_realm_change(obj, changed_fields=list(form.changed_data))
            return
        created = create_realm(name=obj.name, **{field: getattr(obj, field) for field in REALM_SETTINGS})
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Realm) -> None:
        delete_realm(realm=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Realm]) -> None:
        with transaction.atomic():
            for realm in queryset:
                delete_realm(realm=realm)

    @admin.action(description="Disable selected realms (their endpoints answer 404, their tokens stop working)",
                  permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Realm]) -> HttpResponse | None:
        realms = list(queryset.order_by("name"))
        if any(realm.is_default for realm in realms):
            self.message_user(request, DEFAULT_STAYS, messages.ERROR)
            return None
        if request.POST.get("post") != "yes":
            return self._confirm_disabling(request, realms)
        with transaction.atomic():
            changed = [realm.name for realm in realms if update_realm(realm=realm, enabled=False)]
        if changed:
            self.message_user(request, f"Disabled {', '.join(changed)}: their endpoints answer 404 and their tokens "
                              "no longer work.", messages.SUCCESS)
        else:
            self.message_user(request, "The selected realms were already disabled.", messages.WARNING)
        return None

    @admin.action(description="Enable selected realms", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Realm]) -> None:
        with transaction.atomic():
            changed = [realm.name for realm in queryset.order_by("name") if update_realm(realm=realm, enabled=True)]
        self.message_user(request, f"{len(changed)} realm(s) enabled{': ' + ', '.join(changed) if changed else ''}.",
                          messages.SUCCESS)

    def _confirm_disabling(self, request: HttpRequest, realms: list[Realm]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Disable realms?",
            "consequence": disabling_consequence(),
            "action": "disable",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "realms": [(realm, realm_urls(realm.name)["issuer"], getattr(realm, "application_total", 0))
                       for realm in realms],
        }
        return TemplateResponse(request, "admin/clients/confirm_realm_action.html", context)
