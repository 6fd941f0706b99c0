#!/usr/bin/env python3
"""A client of the client credentials grant, with nothing but the Python standard library.

Asks the authorization server for an access token (RFC 6749 §4.4), prints it with its type and
expiry, then calls the protected resource ``/api/hello`` with it (RFC 6750 §2.1).

    python3 examples/client_credentials.py --client-id ID --client-secret SECRET
    OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... python3 examples/client_credentials.py http://127.0.0.1:8000

Copy it into your service and keep the token until shortly before ``expires_in`` runs out: asking
for a new token on every call is the most common mistake with this grant.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def basic_credentials(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode the id and the secret, then Base64 ``id:secret``."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def request_json(request: urllib.request.Request) -> tuple[int, dict]:
    """Send request; return the status and the JSON body, error answers included."""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body else {}


def get_token(token_url: str, client_id: str, client_secret: str, scope: str | None) -> dict:
    fields = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    request = urllib.request.Request(
        token_url,
        data=urllib.parse.urlencode(fields).encode(),
        headers={
            "Authorization": basic_credentials(client_id, client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    status, body = request_json(request)
    if status != 200:
        sys.exit(f"Token request refused ({status}): {body.get('error')}: {body.get('error_description')}")
    return body


def call_api(url: str, access_token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    return request_json(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "base_url", nargs="?", default=os.environ.get("OAUTH_BASE_URL", "http://127.0.0.1:8000"),
        help="the server's base URL (env OAUTH_BASE_URL; default http://127.0.0.1:8000)",
    )
    parser.add_argument("--client-id", default=os.environ.get("OAUTH_CLIENT_ID"), help="env OAUTH_CLIENT_ID")
    parser.add_argument("--client-secret", default=os.environ.get("OAUTH_CLIENT_SECRET"), help="env OAUTH_CLIENT_SECRET")
    parser.add_argument("--scope", help="space-delimited scopes; the application's defaults when absent")
    parser.add_argument("--token-url", help="default: BASE_URL/oauth/token")
    parser.add_argument("--api-url", help="default: BASE_URL/api/hello")
    args = parser.parse_args()
    if not args.client_id or not args.client_secret:
        parser.error("give --client-id and --client-secret (or OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET)")
    base_url = args.base_url.rstrip("/")

    token = get_token(args.token_url or f"{base_url}/oauth/token", args.client_id, args.client_secret, args.scope)
    expires_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + token["expires_in"]))
    print(f"access_token: {token['access_token']}")
    print(f"token_type:   {token['token_type']}")
    print(f"expires_in:   {token['expires_in']} seconds (at {expires_at})")
    print(f"scope:        {token.get('scope', '')}")

    status, answer = call_api(args.api_url or f"{base_url}/api/hello", token["access_token"])
    print(f"GET /api/hello -> {status}")
    print(json.dumps(answer, indent=2))
    if status != 200:
        sys.exit(1)


if __name__ == "__main__":
    main()
