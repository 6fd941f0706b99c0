"""Who may grant which scope: developers take public scopes, operators grant restricted ones.

A developer's portal request for a restricted scope is stored as pending on the application and
waits for an operator (admin action); tokens carry only granted scopes (RFC 6749 §3.3: the
server decides the scope it grants, and the grant refuses anything not allowed).
"""

from collections.abc import Callable, Iterable

from django.db import transaction

from audit.models import AuditAction
from audit.services import record_event
from tokens.protocol.scopes import format_scope

from .models import Application, Scope, ScopeVisibility, unknown_scopes


def public_scope_names(*, realm_id: int) -> list[str]:
    """The names of the realm's public scopes, sorted: what its RFC 8414 ``scopes_supported`` advertises."""
    return list(Scope.objects.filter(realm_id=realm_id, visibility=ScopeVisibility.PUBLIC).values_list("name", flat=True))


def register_scopes(names: Iterable[str], *, realm_id: int, visibility: str = ScopeVisibility.RESTRICTED) -> list[Scope]:
    """Add the names the realm's registry lacks, restricted unless told otherwise; return the new rows.

    Existing scopes keep their visibility: that is their owner's decision, not this caller's.
    """
    missing = unknown_scopes(frozenset(names), realm_id=realm_id)
    created = [Scope(realm_id=realm_id, name=name, visibility=visibility) for name in sorted(missing)]
    for scope in created:
        scope.full_clean()
    return Scope.objects.bulk_create(created)


def split_scope_request(
    requested: frozenset[str], *, realm_id: int, granted: frozenset[str] = frozenset()
) -> tuple[frozenset[str], frozenset[str]]:
    """Split what a developer asks for in a realm into (allowed now, pending approval).

    The realm's public scopes and scopes already granted are allowed; everything else waits for
    an operator. Leaving a scope out of a request gives it up (granted) or withdraws it (pending).
    """
    public = set(
        Scope.objects.filter(realm_id=realm_id, name__in=requested, visibility=ScopeVisibility.PUBLIC)
        .values_list("name", flat=True)
    )
    allowed = requested & (granted | public)
    return frozenset(allowed), requested - allowed


def approve_pending_scopes(*, application: Application) -> frozenset[str]:
    """Grant every pending scope of the application; audited. Return the scopes approved."""

    def grant(locked: Application, pending: frozenset[str]) -> list[str]:
        locked.scopes = format_scope(locked.allowed_scope_set | pending)
        return ["scopes"]

    return _settle_pending_scopes(application, AuditAction.SCOPES_APPROVED, grant)


def deny_pending_scopes(*, application: Application) -> frozenset[str]:
    """Refuse every pending scope (they leave the defaults too); audited. Return the scopes denied."""

    def refuse(locked: Application, pending: frozenset[str]) -> list[str]:
        locked.default_scopes = format_scope(locked.default_scope_set - pending)
        return ["default_scopes"]

    return _settle_pending_scopes(application, AuditAction.SCOPES_DENIED, refuse)


@transaction.atomic
def _settle_pending_scopes(
    application: Application, action: AuditAction, settle: Callable[[Application, frozenset[str]], list[str]]
) -> frozenset[str]:
    """Lock the application, let settle() change it for its pending scopes, clear them; one transaction with its audit row."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    pending = locked.pending_scope_set
    if not pending:
        return pending
    changed = settle(locked, pending)
    locked.pending_scopes = ""
    locked.save(update_fields=[*changed, "pending_scopes", "updated_at"])
    record_event(action, application=locked, details={"scopes": format_scope(pending)})
    return pending
