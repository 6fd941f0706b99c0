"""What DPoP (RFC 9449) adds to a token request and to a call of ``/api/hello``: a micro-benchmark.

    .venv/bin/python bench/dpop_cost.py [N] [sqlite|postgres]

Defaults: 1000 requests each, postgres (PostgreSQL + Redis as ``make bench`` sets them up); with
``sqlite``, no Redis, so each used proof is an INSERT into the database (``tokens.dpop``). Requests go
through Django's test client in this process, warm, no profiler; the client's own cost of making
a proof is timed apart and left out of the request times (proofs are made before the clock runs).
Prints µs per request for a plain and a DPoP JWT token request, the same for ``GET /api/hello``,
and the cost of checking one proof (``check_proof``) per algorithm.
"""

import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench's modules, beside this script
from scenarios import basic  # noqa: E402
from servers import ROOT, create_client, described_scratch_database, postgres_url, redis_server  # noqa: E402

WARM = 100
ROUNDS = 5  # the median of this many rounds is reported


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    kind = sys.argv[2] if len(sys.argv) > 2 else "postgres"
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oauth-dpop-")))
        redis_url, cache = stack.enter_context(redis_server()) if kind == "postgres" else ("", "in-process (locmem)")
        database_url, database = stack.enter_context(
            described_scratch_database(postgres_url() if kind == "postgres" else "", folder, "_dpop")
        )
        env = {
            "OAUTH_AUDIT_TOKEN_ISSUANCE": "false", **os.environ, "DATABASE_URL": database_url, "DEBUG": "false",
            "VAR_DIR": str(folder / "var"), "ALLOWED_HOSTS": "testserver", "DJANGO_SETTINGS_MODULE": "oauthserver.settings",
            "OAUTH_ISSUER": "http://127.0.0.1:8000", "OAUTH_TOKEN_RATE_LIMIT": "",
        }
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = f"{redis_url}/0"
        os.environ.clear()
        os.environ.update(env)
        import subprocess

        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        client = create_client(env, "bench-dpop", "--token-format", "jwt")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.test import Client
        from requests_oauth2client import DPoPKey

        from tokens.protocol.dpop import access_token_hash, check_proof

        http = Client()
        grant, form = urlencode({"grant_type": "client_credentials"}), "application/x-www-form-urlencoded"
        endpoint, hello = env["OAUTH_ISSUER"] + "/oauth/token", env["OAUTH_ISSUER"] + "/api/hello"
        key = DPoPKey.generate(alg="ES256")

        def token(proof: str | None = None):
            headers = {"HTTP_DPOP": proof} if proof else {}
            return http.post("/oauth/token", grant, content_type=form, HTTP_AUTHORIZATION=basic(client), **headers)

        plain_token = token().json()["access_token"]
        bound_token = token(str(key.proof("POST", endpoint))).json()["access_token"]

        def timed(send, proofs: list[str | None]) -> float:
            started = time.perf_counter()
            for proof in proofs:
                response = send(proof)
                assert response.status_code == 200, response.content
            return 1e6 * (time.perf_counter() - started) / len(proofs)

        def rounds(send, make_proof) -> float:
            timed(send, [make_proof() for _ in range(WARM)])
            return statistics.median(timed(send, [make_proof() for _ in range(count)]) for _ in range(ROUNDS))

        def call_hello(scheme: str, access_token: str):
            return lambda proof: http.get("/api/hello", HTTP_AUTHORIZATION=f"{scheme} {access_token}",
                                          **({"HTTP_DPOP": proof} if proof else {}))

        made_started = time.perf_counter()
        for _ in range(count):
            key.proof("POST", endpoint)
        made = 1e6 * (time.perf_counter() - made_started) / count
        results = {
            "token, Bearer": rounds(token, lambda: None),
            "token, DPoP ES256": rounds(token, lambda: str(key.proof("POST", endpoint))),
            "/api/hello, Bearer": rounds(call_hello("Bearer", plain_token), lambda: None),
            "/api/hello, DPoP ES256": rounds(
                call_hello("DPoP", bound_token), lambda: str(key.proof("GET", hello, ath=access_token_hash(bound_token)))
            ),
        }
        print(f"{count} requests x {ROUNDS} rounds (median) through Django's test client, {database}, cache {cache}")
        for name, micros in results.items():
            print(f"  {name:24} {micros:8.0f} µs a request")
        print(f"  (the client making one ES256 proof with requests-oauth2client: {made:.0f} µs, not counted above)")
        for alg in ("ES256", "EdDSA", "RS256", "PS256"):
            signer = DPoPKey.generate(alg=alg)
            proofs = [str(signer.proof("POST", endpoint)) for _ in range(count)]
            started = time.perf_counter()
            for proof in proofs:
                check_proof(proof, method="POST", urls={endpoint}, now=int(time.time()))
            print(f"  check_proof {alg:6} {1e6 * (time.perf_counter() - started) / count:8.0f} µs")


if __name__ == "__main__":
    main()
