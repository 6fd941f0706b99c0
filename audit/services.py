"""Recording audit events: one JSON line on standard output, and a row (``record_event``) or not (``log_event``)."""

import json
import logging
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .context import current_address, current_user
from .models import AuditAction, AuditEvent

logger = logging.getLogger("oauthserver.audit")

_FROM_REQUEST: Any = object()
_MAX_TEXT = 200  # anything an attacker sends (a client id, a username) is cut to this


def record_event(
    action: AuditAction,
    *,
    application: Model | int | None = None,
    client_id: str = "",
    environment: str = "",
    details: dict[str, Any] | None = None,
    user: Any = _FROM_REQUEST,
) -> AuditEvent:
    """Log an event as one JSON line and store it (a single INSERT); return the row.

    ``application`` is the application or its primary key. The user and source address come from
    the current request unless given; ``user=None`` says a client, not a person, acted. Callers
    pass identifiers only: never a secret, a secret hash or a token.
    """
    fields = _event_fields(action, application, client_id, environment, details, user)
    event = AuditEvent(**fields)
    event.save(force_insert=True)
    return event


def log_event(
    action: AuditAction,
    *,
    application: Model | int | None = None,
    client_id: str = "",
    environment: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Log an event as one JSON line, without a row: a client acting, too often to store each time.

    For token issuance unless ``OAUTH_AUDIT_TOKEN_ISSUANCE`` asks for rows (it is counted per
    minute in ``tokens.usage`` either way), and for requests refused during a lockout, so that a
    flood cannot fill the table.
    """
    _event_fields(action, application, client_id, environment, details, None)


def _event_fields(action, application, client_id, environment, details, user) -> dict[str, Any]:
    if user is _FROM_REQUEST:
        user = current_user()
    application_id = application.pk if isinstance(application, Model) else application
    fields = {
        "created_at": timezone.now(),
        "action": action,
        "user": user,
        "client_id": _text(client_id)[:64],
        "application_id": application_id,
        "environment": environment,
        "address": current_address()[:64],
        "details": {name: _bounded(value) for name, value in (details or {}).items()},
    }
    logger.info(json.dumps(_log_fields(fields), separators=(",", ":"), default=str))
    return fields


def digest_unknown_identifier(value: str) -> str:
    """What the audit trail keeps of a client id or username that matched nobody: ``unknown:`` and
    12 hex digits of a keyed digest (HMAC-SHA256 under ``SECRET_KEY``).

    An unknown identifier is often a secret sent in the wrong field (a client that swaps its id and
    secret, a password typed into the username box); stored as sent it would reach the log, the
    table and the admin's search. The digest still tells repeated attempts apart, and being keyed
    and short, it cannot be turned back into a guessable password without ``SECRET_KEY``.
    """
    digest = salted_hmac("audit.unknown-identifier", value.encode("utf-8", "surrogatepass"), algorithm="sha256")
    return f"unknown:{digest.hexdigest()[:12]}"


def record_application_change(application: Model, *, changed_fields: list[str]) -> AuditEvent | None:
    """Record an edit of an application (admin or portal): disabling it is its own event."""
    if not changed_fields:
        return None
    disabled = "is_active" in changed_fields and not application.is_active
    action = AuditAction.APPLICATION_DISABLED if disabled else AuditAction.APPLICATION_CHANGED
    return record_event(action, application=application, details={"fields": sorted(changed_fields)})


def recent_events(application: Model, limit: int = 20) -> QuerySet[AuditEvent]:
    """The latest events of one application, newest first (for its portal page)."""
    return AuditEvent.objects.filter(application=application).select_related("user")[:limit]


def _bounded(value: Any) -> Any:
    return _text(value) if isinstance(value, str) else value


def _text(value: str) -> str:
    """Cut what a caller sent, and drop NUL, which PostgreSQL text cannot hold."""
    return value[:_MAX_TEXT].replace("\x00", "")


def _log_fields(fields: dict[str, Any]) -> dict[str, Any]:
    user = fields["user"]
    line = {
        "event": str(fields["action"]),
        "at": fields["created_at"].isoformat(),
        "user": user.get_username() if user else None,
        "client_id": fields["client_id"] or None,
        "application_id": fields["application_id"],
        "environment": fields["environment"] or None,
        "address": fields["address"] or None,
    }
    return {**{name: value for name, value in line.items() if value is not None}, **fields["details"]}
