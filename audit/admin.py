"""The audit trail in the admin: searchable and filterable, never editable."""

from django.contrib import admin
from django.db.models import Q, QuerySet

from clients.models import Realm

from .models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the server writes itself: operators look and act through actions only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RealmFilter(admin.SimpleListFilter):
    """Events of one realm: those of its applications, and those naming it in their details (the realm's own)."""

    title = "realm"
    parameter_name = "realm"

    def lookups(self, request, model_admin):
        return [(name, name) for name in Realm.objects.values_list("name", flat=True)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(Q(application__realm__name=self.value()) | Q(details__realm=self.value()))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "client_id", "application", "environment", "address")
    list_filter = ("action", RealmFilter, "environment", "created_at",
                   ("application", admin.RelatedOnlyFieldListFilter))
    search_fields = ("client_id", "address", "user__username", "application__name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "application")
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
