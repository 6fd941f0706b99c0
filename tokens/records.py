"""Token records: every SQL statement on ``AccessToken``, and the one definition of a live token.

What is stored: an opaque token's hash with its claims, written when it is issued (one INSERT);
a JWT only once it is revoked (RFC 7009), by its ``jti`` until it expires. A JWT is otherwise its
own record: its signature proves what it says. "Revoke all tokens", "Revoke keys" and disabling
change the client instead (``clients.registry``: its ``tokens_not_before``, or no client at all).

The statements run on every token request are written out here once per database connection
vendor rather than built by the ORM per call (building them cost more than running them). They
use only Django's public model ``_meta`` API, ``connection.ops.quote_name`` and
``Field.get_db_prep_save``; ``tests/endpoints/test_record_statements.py`` compares them with the ORM on
SQLite and PostgreSQL. Written against Django 5.2.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, QuerySet

from audit.models import AuditAction
from audit.services import record_event
from clients.realms import KnownRealm
from clients.registry import Client
from cluster.announcements import tokens_revoked

from .audiences import realm_audience
from .models import AccessToken
from .protocol.audiences import Audience, format_audience, read_stored_audience
from .protocol.formats import TokenClaims


def is_live(
    claims: TokenClaims, *, client: Client | None, revoked: bool, now: int, issuable: Collection[str] = ()
) -> bool:
    """Whether a token whose signature or record proved these claims may still be used.

    It must be unexpired and not revoked; its client must still exist (keys not revoked), be
    active, hold the environment the token was issued for, and have revoked nothing issued
    before it (``iat`` at or after the client's ``tokens_not_before``); and each of its audiences
    must be among ``issuable``, those its client's tokens may now carry
    (``tokens.audiences.issuable_audiences``): an audience taken from the application ends its tokens.
    """
    return (
        not revoked
        and claims.exp > now
        and client is not None
        and client.is_active
        and claims.sub == claims.client_id == client.client_id
        and claims.env == client.environment
        and claims.iat >= client.tokens_not_before
        and (claims.aud in issuable if isinstance(claims.aud, str) else all(aud in issuable for aud in claims.aud))
    )


def issued_claims(
    *, issuer: str, client_id: str, environment: str, aud: Audience, iat: int, exp: int, jti: str, scope: str,
    jkt: str = "",
) -> TokenClaims:
    """The claims this server gives a client's token (RFC 9068 §2.2): as issued, and as an opaque record reads.

    ``issuer`` is the client's realm's; ``aud`` what ``tokens.audiences.token_audience`` chose;
    ``iat`` and ``exp`` are seconds since the epoch; ``jkt`` the thumbprint of the DPoP key the
    token is bound to (RFC 9449 §6), "" for a bearer token.
    """
    return TokenClaims(
        iss=issuer, sub=client_id, client_id=client_id, aud=aud, iat=iat, exp=exp, jti=jti, scope=scope, env=environment,
        jkt=jkt,
    )


@dataclass(frozen=True, slots=True)
class OpaqueRecord:
    """An opaque token as stored (times in seconds since the epoch), and whether it was revoked one by one.

    The record does not say its realm: its client's realm does (``claims(issuer=...)``).
    """

    client_id: str
    environment: str
    scope: str
    jti: str
    iat: int
    exp: int
    revoked: bool
    audience: str = ""  # as stored (format_audience); "" for a record written before audiences
    jkt: str = ""  # the DPoP key it is bound to (RFC 9449 §6.2), "" for a bearer token

    def claims(self, *, realm: KnownRealm) -> TokenClaims:
        """The token's claims, issued by realm (whose own audience a record without one was for)."""
        aud = read_stored_audience(self.audience, fallback=realm_audience(realm, self.environment))
        return issued_claims(issuer=realm.issuer, client_id=self.client_id, environment=self.environment, aud=aud,
                             iat=self.iat, exp=self.exp, jti=self.jti, scope=self.scope, jkt=self.jkt)


def insert_opaque(claims: TokenClaims, *, client: Client, token_hash: str) -> None:
    """Store an issued opaque token: one INSERT, no model instance, no signal."""
    values = {
        "application_id": client.application_id,
        "key_pair_id": client.key_pair_id,
        "client_id": claims.client_id,
        "environment": claims.env,
        "scope": claims.scope,
        "token_format": "opaque",
        "jti": claims.jti,
        "token_hash": token_hash,
        "issued_at": datetime.fromtimestamp(claims.iat, UTC),
        "expires_at": datetime.fromtimestamp(claims.exp, UTC),
        "audience": format_audience(claims.aud),
        "jkt": claims.jkt,
    }
    connection = connections[router.db_for_write(AccessToken)]
    fields = [AccessToken._meta.get_field(name) for name in _INSERTED]
    params = [field.get_db_prep_save(values[field.attname], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection, "insert"), params)


def find_opaque(token_hash: str) -> OpaqueRecord | None:
    """The record of the opaque token with this hash, or None (one query)."""
    connection = connections[router.db_for_read(AccessToken)]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection, "by_hash"), [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    client_id, scope, jti, environment, issued_at, expires_at, revoked_at, audience, jkt = row
    return OpaqueRecord(client_id=client_id, environment=environment, scope=scope, jti=jti, iat=_seconds(issued_at),
                        exp=_seconds(expires_at), revoked=revoked_at is not None, audience=audience, jkt=jkt)


def revoked_since(moment: datetime | None, *, now: datetime) -> list[tuple[tuple[str, str], int]]:
    """``((realm name, jti), exp)`` of the unexpired tokens revoked at or after moment (all, for None)."""
    revoked = AccessToken.objects.filter(revoked_at__isnull=False, expires_at__gt=now)
    if moment is not None:
        revoked = revoked.filter(revoked_at__gte=moment)
    rows = revoked.values_list("application__realm__name", "jti", "expires_at")
    return [((realm, jti), int(expires_at.timestamp())) for realm, jti, expires_at in rows]


def revoke(claims: TokenClaims, *, client: Client, token_format: str, now: datetime) -> bool:
    """Record that the token with these claims is revoked (RFC 7009 §2.1); False if it already was.

    An opaque token's row is marked; a JWT gets a row, revoked, kept until it expires. The
    change commits with its audit row; every process is told once it has (``tokens.caches``).
    """
    with transaction.atomic():
        if token_format == "opaque":
            changed = bool(AccessToken.objects.filter(jti=claims.jti, revoked_at__isnull=True).update(revoked_at=now))
        else:
            changed = _insert_revoked_jwt(claims, client=client, now=now)
        if changed:
            record_event(
                AuditAction.TOKEN_REVOKED,
                application=client.application_id,
                client_id=client.client_id,
                environment=client.environment,
                details={"jti": claims.jti},
                user=None,
            )
            tokens_revoked.announce_on_commit()
    return changed


def revoke_selected(tokens: QuerySet[AccessToken], *, now: datetime) -> int:
    """Revoke the unexpired, unrevoked opaque tokens among those selected (the admin's action).

    One transaction per application, each with its audit row; returns how many were revoked.
    """
    revoked = 0
    live = tokens.filter(revoked_at__isnull=True, expires_at__gt=now)
    for application_id in set(live.values_list("application_id", flat=True)):
        with transaction.atomic():
            count = live.filter(application_id=application_id).update(revoked_at=now)
            if count:
                record_event(AuditAction.TOKEN_REVOKED, application=application_id, details={"tokens_revoked": count})
                tokens_revoked.announce_on_commit()
        revoked += count
    return revoked


def delete_finished(*, now: datetime, batch_size: int, realm: str | None = None) -> int:
    """Delete the records of expired and revoked tokens, of one realm or (None) of all; return how many.

    By primary key in batches, each its own short statement, walking the table in key order, so
    millions of rows never sit in memory nor in one long transaction. A revoked JWT's row goes
    only once it has expired: until then it is what refuses the token.
    """
    finished = AccessToken.objects.filter(
        Q(expires_at__lte=now) | Q(revoked_at__isnull=False, token_format="opaque")
    ).order_by("id")
    if realm is not None:
        finished = finished.filter(application__realm__name=realm)
    deleted, last_id = 0, 0
    while ids := list(finished.filter(id__gt=last_id).values_list("id", flat=True)[:batch_size]):
        deleted += AccessToken.objects.filter(id__in=ids).delete()[0]
        last_id = ids[-1]
    return deleted


def _insert_revoked_jwt(claims: TokenClaims, *, client: Client, now: datetime) -> bool:
    try:
        with transaction.atomic():  # a savepoint: a second revocation of the same jti conflicts
            AccessToken.objects.create(
                application_id=client.application_id,
                key_pair_id=client.key_pair_id,
                client_id=claims.client_id,
                environment=claims.env,
                scope=claims.scope,
                token_format="jwt",
                jti=claims.jti,
                issued_at=datetime.fromtimestamp(claims.iat, UTC),
                expires_at=datetime.fromtimestamp(claims.exp, UTC),
                revoked_at=now,
                audience=format_audience(claims.aud),
            )
    except IntegrityError:
        return False
    return True


_INSERTED = ("application_id", "key_pair_id", "client_id", "environment", "scope", "token_format", "jti",
             "token_hash", "issued_at", "expires_at", "audience", "jkt")
_STATEMENTS: dict[str, str] = {}


def _sql(connection, name: str) -> str:
    """The statement name, written once per database alias."""
    key = f"{connection.alias}:{name}"
    if (sql := _STATEMENTS.get(key)) is None:
        quote, meta = connection.ops.quote_name, AccessToken._meta
        table = quote(meta.db_table)

        def column(field_name: str) -> str:
            return quote(meta.get_field(field_name).column)

        if name == "insert":
            columns = ", ".join(column(field) for field in _INSERTED)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_INSERTED))})"
        else:  # by_hash
            selected = ", ".join(column(field) for field in _READ)
            sql = f"SELECT {selected} FROM {table} WHERE {column('token_hash')} = %s"
        _STATEMENTS[key] = sql
    return sql


_READ = ("client_id", "scope", "jti", "environment", "issued_at", "expires_at", "revoked_at", "audience", "jkt")


def _seconds(value: datetime | str) -> int:
    """Seconds since the epoch of a stored datetime: aware (PostgreSQL), naive UTC or text (SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
