"""The audit trail in the admin: searchable and filterable, never editable."""

from django.contrib import admin

from tokens.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "client_id", "application", "environment", "address")
    list_filter = ("action", "environment", "created_at", ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("client_id", "address", "user__username", "application__name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "application")
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
