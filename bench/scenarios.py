"""What ``make bench`` asks the servers: its scenarios, their targets, and the single requests that
check a scenario answers correctly before it is measured.

The ceiling, ``GET /bench/ceiling``, is the reference the server's scenarios are measured against: a
view on the same server that does next to nothing (``oauthserver/bench_urls.py``). The separate API
project's rows (``api-*``, ``tests/remote_api``) have a ceiling of their own, ``api-ceiling``: its
``GET /open``, a plain view of the same project under the same server, without a token check.
"""

import base64
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
REALM = "bench"  # the main server's realm other than the default one (CONTRACT.md "Realms")
# Least share of the ceiling's requests per second (same run, same connection mode): SQLite, PostgreSQL + Redis.
TARGETS = {
    "jwt": (0.45, 0.45),
    "jwt-realm": (0.45, 0.45),  # the hot path's targets hold in a realm other than the default one
    "jwt-ed25519": (0.60, 0.60),
    "opaque": (0.50, 0.40),
    "introspect": (0.65, 0.60),
    "hello": (0.80, 0.75),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One row of the table: what wrk sends, to which server, and the least share of the ceiling it must reach."""

    name: str
    label: str
    method: str
    path: str
    target: float | None
    authorization: str = ""
    body: str = ""
    content_type: str = ""
    keep_alive: bool = False
    instance: str = "main"  # its server, one of servers.PROJECTS: "main" (RS256), "ed25519", "api-jwks", ...
    ceiling: str = "ceiling"  # the row its ratio is of; a ceiling names itself

    @property
    def key(self) -> str:
        return f"{self.name}{'+keep-alive' if self.keep_alive else ''}"


def scenarios_for(clients: dict[str, dict[str, dict]], jwt: str) -> list[Scenario]:
    """The scenarios of one connection mode; their targets are TARGETS', per database (run.py sets them)."""
    grant = urlencode({"grant_type": "client_credentials"})
    introspection = urlencode({"token": jwt, "token_type_hint": "access_token"})
    main = clients["main"]
    return [
        Scenario("ceiling", "ceiling GET /bench/ceiling", "GET", "/bench/ceiling", None),
        Scenario("jwt", "JWT issuance, RS256", "POST", "/oauth/token", 0.0, basic(main["bench-jwt"]), grant, FORM),
        Scenario(
            "jwt-ed25519", "JWT issuance, Ed25519", "POST", "/oauth/token", 0.0,
            basic(clients["ed25519"]["bench-jwt"]), grant, FORM, instance="ed25519",
        ),
        Scenario(
            "jwt-realm", f"JWT issuance, realm {REALM}", "POST", f"/realms/{REALM}/oauth/token", 0.0,
            basic(main["bench-realm-jwt"]), grant, FORM,
        ),
        Scenario("opaque", "opaque issuance", "POST", "/oauth/token", 0.0, basic(main["bench-opaque"]), grant, FORM),
        Scenario(
            "introspect", "introspection of a JWT", "POST", "/oauth/introspect", 0.0,
            basic(main["bench-resource-server"]), introspection, FORM,
        ),
        Scenario("hello", "GET /api/hello with a JWT", "GET", "/api/hello", 0.0, f"Bearer {jwt}"),
        # The API project of tests/remote_api with the same JWT. Its /open is the same for both
        # modes (the verifier is built on the first token), so it is measured once, on one of them.
        Scenario("api-ceiling", "API ceiling: GET /open", "GET", "/open", None, instance="api-jwks",
                 ceiling="api-ceiling"),
        Scenario("api-jwks", "API jwks: GET /invoices", "GET", "/invoices", None, f"Bearer {jwt}",
                 instance="api-jwks", ceiling="api-ceiling"),
        # Each worker asks the server once (check and warm-up), then every CACHE_SECONDS (60): a
        # warm request, answered from the worker's cache.
        Scenario("api-introspection", "API introspection, cached", "GET", "/invoices", None, f"Bearer {jwt}",
                 instance="api-introspection", ceiling="api-ceiling"),
    ]


def chosen(scenarios: list[Scenario], only: set[str]) -> list[Scenario]:
    """The scenarios only names (all when it is empty), with the ceilings they are measured against."""
    names = {s.name for s in scenarios if not only or s.name in only}
    names |= {s.ceiling for s in scenarios if s.name in names}
    return [s for s in scenarios if s.name in names]


def basic(client: dict) -> str:
    return "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()


def send(base_url: str, scenario: Scenario, timeout: float = 10) -> tuple[int, dict]:
    headers = {name: value for name, value in [("Authorization", scenario.authorization), ("Content-Type", scenario.content_type)] if value}
    request = urllib.request.Request(
        base_url + scenario.path, data=scenario.body.encode() or None, method=scenario.method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            if response.headers.get_content_type() != "application/json":
                return response.status, {"text": body[:300].decode(errors="replace")}  # the API project's /open
            return response.status, json.loads(body)
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read()[:300].decode(errors="replace")}


def fetch_token(base_url: str, client: dict) -> str:
    grant = Scenario("jwt", "", "POST", "/oauth/token", None, basic(client), "grant_type=client_credentials", FORM)
    status, body = send(base_url, grant)
    if status != 200:
        sys.exit(f"the token endpoint answered {status}: {body}")
    return body["access_token"]


def check(base_url: str, scenario: Scenario, client_id: str) -> None:
    """Fail before measuring when a scenario would only measure an error path; client_id: the JWT's client."""
    status, body = send(base_url, scenario)
    healthy = status == 200 and {
        "ceiling": "status" in body,
        "jwt": "access_token" in body,
        "jwt-ed25519": "access_token" in body,
        "jwt-realm": "access_token" in body,
        "opaque": "access_token" in body,
        "introspect": body.get("active") is True,
        "hello": body.get("client_id") == client_id,
        "api-ceiling": body.get("text") == "ok",
        "api-jwks": body.get("client_id") == client_id,
        "api-introspection": body.get("client_id") == client_id,
    }[scenario.name]
    if not healthy:
        sys.exit(f"{scenario.label}: {scenario.method} {scenario.path} answered {status} {body}; nothing to measure")
