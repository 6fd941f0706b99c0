"""The statements ``tokens.records`` and ``tokens.usage`` write out by hand agree with the ORM.

They skip the ORM on the hot path (building a query cost more than running it); these tests run
them next to the ORM's own reading and writing, on SQLite and on PostgreSQL alike.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from clients.models import KeyPair
from clients.realms import default_realm
from clients.registry import find_client
from tokens import records, usage
from tokens.models import AccessToken, IssuanceCount
from tokens.protocol.formats import TokenClaims, hash_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(make_keys):
    keys = make_keys(environment="sandbox")
    return find_client(keys.client_id)


def claims_for(client, *, jti: str = "j-1", iat: int = 1_900_000_000) -> TokenClaims:
    return TokenClaims(iss="https://as.example", sub=client.client_id, client_id=client.client_id, aud="aud",
                       iat=iat, exp=iat + 600, jti=jti, scope="read write", env=client.environment)


def test_the_opaque_insert_stores_what_create_would(client):
    claims = claims_for(client)
    records.insert_opaque(claims, client=client, token_hash=hash_token("t-1"))
    row = AccessToken.objects.get()
    assert (row.application_id, row.key_pair_id, row.client_id, row.environment, row.scope, row.token_format, row.jti,
            row.token_hash, row.revoked_at) == (
        client.application_id, client.key_pair_id, client.client_id, "sandbox", "read write", "opaque", "j-1",
        hash_token("t-1"), None)
    assert (row.issued_at, row.expires_at) == (datetime.fromtimestamp(claims.iat, UTC), datetime.fromtimestamp(claims.exp, UTC))


def test_the_lookup_by_hash_reads_what_the_orm_reads(client):
    records.insert_opaque(claims_for(client), client=client, token_hash=hash_token("t-1"))
    found = records.find_opaque(hash_token("t-1"))
    row = AccessToken.objects.get(token_hash=hash_token("t-1"))
    assert (found.client_id, found.scope, found.jti, found.environment) == (
        row.client_id, row.scope, row.jti, row.environment)
    assert (found.iat, found.exp) == (int(row.issued_at.timestamp()), int(row.expires_at.timestamp()))
    assert found.claims(realm=default_realm()).aud == "aud" == row.audience
    assert found.claims(realm=default_realm()).iss == default_realm().issuer
    assert found.revoked is False and records.find_opaque(hash_token("another")) is None
    AccessToken.objects.update(revoked_at=timezone.now())
    assert records.find_opaque(hash_token("t-1")).revoked is True


def test_the_revoked_set_reads_what_the_orm_finds(client):
    records.insert_opaque(claims_for(client, jti="live"), client=client, token_hash=hash_token("a"))
    records.insert_opaque(claims_for(client, jti="gone"), client=client, token_hash=hash_token("b"))
    records.insert_opaque(claims_for(client, jti="old", iat=1_000), client=client, token_hash=hash_token("c"))
    AccessToken.objects.filter(jti__in=["gone", "old"]).update(revoked_at=timezone.now())
    now = datetime.fromtimestamp(1_900_000_000, UTC)
    assert records.revoked_since(None, now=now) == [(("default", "gone"), 1_900_000_600)]  # "old" has expired
    assert records.revoked_since(timezone.now() + timedelta(seconds=1), now=now) == []


def test_the_count_upsert_adds_to_what_the_orm_finds(client, flushed_later):
    minute = int(timezone.now().timestamp()) // 60 * 60
    for token_format in ("jwt", "jwt", "opaque"):
        usage.count_issued(client, token_format=token_format, issued_at=minute + 7)
    usage.count_issued(client, token_format="jwt", issued_at=minute + 60)
    usage.flush_issuance_counts()
    usage.count_issued(client, token_format="jwt", issued_at=minute + 59)
    usage.flush_issuance_counts()
    rows = {(row.token_format, row.minute): row.count for row in IssuanceCount.objects.all()}
    first, second = datetime.fromtimestamp(minute, UTC), datetime.fromtimestamp(minute, UTC) + timedelta(minutes=1)
    assert rows == {("jwt", first): 3, ("opaque", first): 1, ("jwt", second): 1}
    assert set(IssuanceCount.objects.values_list("application_id", "environment")) == {(client.application_id, "sandbox")}
    assert KeyPair.objects.get().application.issuance_counts.count() == 3
