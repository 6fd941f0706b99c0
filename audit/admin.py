"""The audit trail in the admin: searchable and filterable, never editable."""

from django.contrib import admin

from .models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the server writes itself: operators look and act through actions only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "client_id", "application", "environment", "address")
    list_filter = ("action", "environment", "created_at", ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("client_id", "address", "user__username", "application__name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "application")
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
