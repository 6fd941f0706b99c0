"""The admin site: no ModelAdmin filters, orders or searches on a secret column, or loads one.

A view-only staff user could otherwise read a stored secret back by binary search: the admin
allows ``?column__lt=value`` on any local column, so ``?private_key__lt=...`` answered "some rows"
or "none" one character at a time. Every ModelAdmin registered on this site, ours and Django's
own (``UserAdmin``: the password hash), gets ``SecretColumnsGuard``; it is not left to each admin
module to remember it.
"""

import functools

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.main import ChangeList
from django.db.models import F
from django.db.models.constants import LOOKUP_SEP

# Digests and ciphertexts of secrets, and Django's password hashes: never a filter, an ordering, a
# search field or a column loaded by an admin page.
SECRET_COLUMNS = frozenset({"private_key", "token_hash", "secret_hash", "password"})


def names_secret_column(path: object) -> bool:
    """True when a lookup, ordering or search path (``key_pairs__secret_hash__startswith``,
    ``-token_hash``, ``=secret_hash``, ``F("private_key")``) touches a secret column."""
    if isinstance(path, F):
        path = path.name
    if not isinstance(path, str):
        return False
    return any(part in SECRET_COLUMNS for part in path.lstrip("-=^@?").split(LOOKUP_SEP))


class _GuardedChangeList(ChangeList):
    def get_ordering_field(self, field_name):
        # ?o= picks list_display columns by index; one ordered by a secret column is not sortable.
        field = super().get_ordering_field(field_name)
        return None if names_secret_column(field) else field


class DeferSecretColumns:
    """Load a model's rows without their secret columns (inlines too: a formset loads every column)."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        secret = [field.attname for field in queryset.model._meta.concrete_fields if field.name in SECRET_COLUMNS]
        return queryset.defer(*secret) if secret else queryset


@functools.cache
def _guarded_inline(inline_class: type) -> type:
    if issubclass(inline_class, DeferSecretColumns):
        return inline_class
    return type(inline_class.__name__, (DeferSecretColumns, inline_class), {"__module__": inline_class.__module__})


class SecretColumnsGuard(DeferSecretColumns):
    """Refuse lookups, ordering, search and ``to_field`` on secret columns; defer them when loading."""

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if names_secret_column(lookup):
            return False  # the changelist answers 400 (DisallowedModelAdminLookup)
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field) -> bool:
        return not names_secret_column(to_field) and super().to_field_allowed(request, to_field)

    def get_search_fields(self, request):
        return [field for field in super().get_search_fields(request) if not names_secret_column(field)]

    def get_ordering(self, request):
        return [field for field in super().get_ordering(request) or () if not names_secret_column(field)]

    def get_changelist(self, request, **kwargs):
        return _GuardedChangeList

    def get_inlines(self, request, obj):
        return [_guarded_inline(inline) for inline in super().get_inlines(request, obj)]


class GuardedAdminSite(admin.AdminSite):
    """Django's admin site whose every registered ModelAdmin carries ``SecretColumnsGuard``."""

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SecretColumnsGuard):
            admin_class = type(admin_class.__name__, (SecretColumnsGuard, admin_class), {"__module__": admin_class.__module__})
        super().register(model_or_iterable, admin_class, **options)


class GuardedAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``GuardedAdminSite`` as ``admin.site`` (INSTALLED_APPS)."""

    default_site = "oauthserver.admin_site.GuardedAdminSite"
