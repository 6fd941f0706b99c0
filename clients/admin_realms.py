"""Realms in the admin: their settings; the default realm keeps its name and cannot be deleted.

A realm that still has applications is not deleted either: its applications' foreign key
protects it, and the admin's delete page lists them instead of deleting anything.
"""

from django.contrib import admin
from django.http import HttpRequest

from .models import DEFAULT_REALM, Realm


@admin.register(Realm)
class RealmAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "open_to_portal", "created_at")
    list_filter = ("enabled", "open_to_portal")
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("name", "enabled", "open_to_portal", "created_at")}),
        ("Tokens (empty: the server's settings)", {"fields": (
            "access_token_lifetime", "max_access_token_lifetime", "default_token_format", "jwt_algorithm",
            "client_credentials_enabled")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Realm | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly + ("name",) if _is_default(obj) else readonly

    def has_delete_permission(self, request: HttpRequest, obj: Realm | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not _is_default(obj)


def _is_default(realm: Realm | None) -> bool:
    return realm is not None and realm.name == DEFAULT_REALM
