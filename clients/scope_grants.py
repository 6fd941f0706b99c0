"""Who may grant which scope: developers take public scopes, operators grant restricted ones.

A developer's portal request for a restricted scope is stored as pending on the application and
waits for an operator (admin action); tokens carry only granted scopes (RFC 6749 §3.3: the
server decides the scope it grants, and the grant refuses anything not allowed).
"""

from collections.abc import Iterable

from django.db import transaction

from audit.models import AuditAction
from audit.services import record_event
from tokens.protocol.scopes import format_scope

from .models import Application, Scope, ScopeVisibility, unknown_scopes


def public_scope_names() -> list[str]:
    """The names of the public scopes, sorted: what RFC 8414 ``scopes_supported`` advertises."""
    return list(Scope.objects.filter(visibility=ScopeVisibility.PUBLIC).values_list("name", flat=True))


def register_scopes(names: Iterable[str], *, visibility: str = ScopeVisibility.RESTRICTED) -> list[Scope]:
    """Add the names the registry lacks, restricted unless told otherwise; return the new rows.

    Existing scopes keep their visibility: that is their owner's decision, not this caller's.
    """
    missing = unknown_scopes(frozenset(names))
    created = [Scope(name=name, visibility=visibility) for name in sorted(missing)]
    for scope in created:
        scope.full_clean()
    return Scope.objects.bulk_create(created)


def split_scope_request(
    requested: frozenset[str], *, granted: frozenset[str] = frozenset()
) -> tuple[frozenset[str], frozenset[str]]:
    """Split what a developer asks for into (allowed now, pending approval).

    Public scopes and scopes already granted are allowed; everything else waits for an operator.
    Leaving a scope out of a request gives it up (granted) or withdraws it (pending).
    """
    public = set(
        Scope.objects.filter(name__in=requested, visibility=ScopeVisibility.PUBLIC).values_list("name", flat=True)
    )
    allowed = requested & (granted | public)
    return frozenset(allowed), requested - allowed


@transaction.atomic
def approve_pending_scopes(*, application: Application) -> frozenset[str]:
    """Grant every pending scope of the application; audited. Return the scopes approved."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    approved = application.pending_scope_set
    if not approved:
        return approved
    application.scopes = format_scope(application.allowed_scope_set | approved)
    application.pending_scopes = ""
    application.save(update_fields=["scopes", "pending_scopes", "updated_at"])
    record_event(AuditAction.SCOPES_APPROVED, application=application, details={"scopes": format_scope(approved)})
    return approved


@transaction.atomic
def deny_pending_scopes(*, application: Application) -> frozenset[str]:
    """Refuse every pending scope (they leave the defaults too); audited. Return the scopes denied."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    denied = application.pending_scope_set
    if not denied:
        return denied
    application.pending_scopes = ""
    application.default_scopes = format_scope(application.default_scope_set - denied)
    application.save(update_fields=["pending_scopes", "default_scopes", "updated_at"])
    record_event(AuditAction.SCOPES_DENIED, application=application, details={"scopes": format_scope(denied)})
    return denied
