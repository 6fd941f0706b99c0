"""Where a token request's time goes: cProfile over N requests through Django's test client.

    .venv/bin/python bench/profile_token.py [jwt|opaque|introspect|hello] [N] [sqlite|postgres]

Defaults: jwt, 2000 requests, postgres (PostgreSQL + Redis, as ``make bench`` sets them up: a
scratch database and a Redis server of its own). The requests go through the whole middleware
stack and the view in this process, without a WSGI server; the first 200 warm the caches and are
not profiled. Prints the top functions by own time and by cumulative time, and the wall time per
request; with ``PROFILE_OUT=FILE`` also writes the whole profile there.
"""

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench's modules, beside this script
from scenarios import basic  # noqa: E402
from servers import ROOT, create_client, described_scratch_database, postgres_url, redis_server  # noqa: E402

WARM = 200


def main() -> None:
    scenario = sys.argv[1] if len(sys.argv) > 1 else "jwt"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    kind = sys.argv[3] if len(sys.argv) > 3 else "postgres"
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oauth-profile-")))
        redis_url, cache = stack.enter_context(redis_server()) if kind == "postgres" else ("", "in-process (locmem)")
        database_url, database = stack.enter_context(
            described_scratch_database(postgres_url() if kind == "postgres" else "", folder, "_profile")
        )
        env = {
            "OAUTH_AUDIT_TOKEN_ISSUANCE": "false", **os.environ, "DATABASE_URL": database_url, "DEBUG": "false",
            "VAR_DIR": str(folder / "var"), "ALLOWED_HOSTS": "testserver", "DJANGO_SETTINGS_MODULE": "oauthserver.settings",
        }
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = f"{redis_url}/0"
        os.environ.clear()
        os.environ.update(env)
        import subprocess

        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        jwt_client = create_client(env, "profile-jwt", "--token-format", "jwt")
        opaque_client = create_client(env, "profile-opaque", "--token-format", "opaque")
        resource = create_client(env, "profile-rs", "--resource-server")

        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.test import Client

        http = Client()
        grant = urlencode({"grant_type": "client_credentials"})
        form = "application/x-www-form-urlencoded"
        token = http.post("/oauth/token", grant, content_type=form, HTTP_AUTHORIZATION=basic(jwt_client)).json()["access_token"]
        send = {
            "jwt": lambda: http.post("/oauth/token", grant, content_type=form, HTTP_AUTHORIZATION=basic(jwt_client)),
            "opaque": lambda: http.post("/oauth/token", grant, content_type=form, HTTP_AUTHORIZATION=basic(opaque_client)),
            "introspect": lambda: http.post(
                "/oauth/introspect", urlencode({"token": token}), content_type=form, HTTP_AUTHORIZATION=basic(resource)
            ),
            "hello": lambda: http.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}"),
        }[scenario]
        for _ in range(WARM):
            assert send().status_code == 200
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(count):
            send()
        profile.disable()
        elapsed = time.perf_counter() - started
        if dump := os.environ.get("PROFILE_OUT"):
            profile.dump_stats(dump)  # for pstats or snakeviz: PROFILE_OUT=/tmp/hello.prof
        print(f"{scenario}: {count} requests through Django's test client, {database}, cache {cache}; "
              f"{1000 * elapsed / count:.3f} ms a request under cProfile (its overhead included)")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(25)
            text = out.getvalue()
            print(f"\n== by {order}\n" + text[text.index("   ncalls"):].rstrip())


if __name__ == "__main__":
    main()
