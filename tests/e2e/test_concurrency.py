"""Concurrent token requests against gunicorn with two workers (RFC 6749 §4.4 under load).

500 requests from 32 threads, half for a JWT client and half for an opaque one: every answer is
200, every token distinct, every opaque token recorded by its hash (JWTs are not stored), and
every token counted once the workers stop (``tokens.usage``: each process flushes at exit). On
SQLite this is the WAL and busy-timeout check: two worker processes writing at once must never
answer "database is locked".
"""

import json
from concurrent.futures import ThreadPoolExecutor

import jwt
import requests

from tokens.protocol.formats import hash_token

REQUESTS = 500
THREADS = 32


def test_500_concurrent_token_requests_all_succeed_distinct_recorded_and_counted(setup):
    jwt_client = setup.create_client("load-jwt", "--token-format", "jwt")
    opaque_client = setup.create_client("load-opaque", "--token-format", "opaque")
    server = setup.start(workers=2)

    def request_token(number: int) -> requests.Response:
        client = jwt_client if number % 2 else opaque_client
        return requests.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=30,
        )

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(request_token, range(REQUESTS)))

    failures = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert failures == [], server.log()[-6000:]
    tokens = [r.json()["access_token"] for r in responses]
    assert len(set(tokens)) == REQUESTS
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens if t.count(".") == 2}
    hashes = {hash_token(t) for t in tokens if t.count(".") != 2}
    assert len(jtis) == len(hashes) == REQUESTS // 2

    recorded = json.loads(
        setup.manage(
            "shell", "-c",
            "import json; from tokens.models import AccessToken; "
            "print(json.dumps([[t.token_hash, t.token_format] for t in AccessToken.objects.all()]))",
        )
    )
    assert {token_hash for token_hash, kind in recorded} == hashes
    assert {kind for _, kind in recorded} == {"opaque"}
    setup.stop_all()  # each worker adds what it counted as it exits
    counts = json.loads(setup.manage("shell", "-c", COUNTS))
    assert counts == {"jwt": REQUESTS // 2, "opaque": REQUESTS // 2}
    assert "database is locked" not in server.log()


COUNTS = (
    "import json; from django.db.models import Sum; from tokens.models import IssuanceCount; "
    "print(json.dumps(dict(IssuanceCount.objects.values_list('token_format').annotate(Sum('count')))))"
)
