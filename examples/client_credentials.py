#!/usr/bin/env python3
"""A client of the client credentials grant, with nothing but the Python standard library.

Asks the authorization server for an access token (RFC 6749 §4.4), prints its type, expiry and a
short prefix of it, then calls the protected resource ``/api/hello`` with it (RFC 6750 §2.1).
Any failure (server unreachable, a refusal, a timeout, an answer that is not JSON) is one line on
stderr and exit status 1.

    python3 examples/client_credentials.py --client-id ID --client-secret SECRET
    OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... python3 examples/client_credentials.py http://127.0.0.1:8000

Copy it into your service and keep the token until shortly before ``expires_in`` runs out: asking
for a new token on every call is the most common mistake with this grant.
"""

import argparse
import base64
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# A bearer token is a password for as long as it lives: show only enough to tell two apart.
TOKEN_PREFIX_LENGTH = 8


class ClientError(Exception):
    """A failure worth one line: names the URL and the reason, never a secret or a token."""


def basic_credentials(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode the id and the secret, then Base64 ``id:secret``."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def describe(reason: object) -> str:
    """The readable part of a socket-level failure: 'Connection refused', not '[Errno 111] ...'."""
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def fetch(request: urllib.request.Request, timeout: float) -> tuple[int, str, bytes]:
    """Send request; return status, content type and body, error statuses included.

    Raises ClientError when no HTTP answer arrives: unreachable, refused, timed out, not HTTP.
    """
    url = request.full_url
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers.get_content_type(), response.read()
        except urllib.error.HTTPError as error:  # a 4xx or 5xx is still an answer, with a body
            with error:
                return error.code, error.headers.get_content_type(), error.read()
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ClientError(f"{url}: no answer within {timeout:g} s") from None
        raise ClientError(f"cannot reach {url}: {describe(error.reason)}") from None
    except TimeoutError:
        raise ClientError(f"{url}: no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise ClientError(f"{url}: the connection failed: {describe(error)}") from None
    except ValueError as error:  # urllib's word for a URL it cannot use, e.g. a bad port
        raise ClientError(f"{url}: {error}") from None


def request_json(request: urllib.request.Request, timeout: float) -> tuple[int, dict]:
    """Send request; return the status and the JSON object answered, error answers included."""
    status, content_type, body = fetch(request, timeout)
    try:
        answer = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        answer = None
    if not isinstance(answer, dict):
        raise ClientError(f"{request.full_url} answered {status} with {content_type}, not a JSON object")
    return status, answer


def get_token(token_url: str, client_id: str, client_secret: str, scope: str | None, timeout: float) -> dict:
    """RFC 6749 §4.4.2 with HTTP Basic; return the §5.1 answer or raise ClientError with §5.2's error."""
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
    status, body = request_json(request, timeout)
    if status != 200:
        reason = ": ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))
        raise ClientError(f"Token request refused ({status}): {reason or 'no OAuth error in the answer'}")
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise ClientError(f"{token_url} answered 200 without an access_token")
    return body


def call_api(url: str, access_token: str, timeout: float) -> tuple[int, dict]:
    """RFC 6750 §2.1: GET url with the token in the Authorization header."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    return request_json(request, timeout)


def parse_arguments() -> argparse.Namespace:
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
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for each answer (default 10)")
    args = parser.parse_args()
    if not args.client_id or not args.client_secret:
        parser.error("give --client-id and --client-secret (or OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET)")
    for url in (args.base_url, args.token_url, args.api_url):
        if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            parser.error(f"{url} is not an http:// or https:// URL")
    return args


def run(args: argparse.Namespace) -> int:
    base_url = args.base_url.rstrip("/")
    token = get_token(args.token_url or f"{base_url}/oauth/token", args.client_id, args.client_secret, args.scope, args.timeout)
    access_token = token["access_token"]
    print(f"access_token: {access_token[:TOKEN_PREFIX_LENGTH]}... ({len(access_token)} characters)")
    print(f"token_type:   {token.get('token_type')}")
    if isinstance(token.get("expires_in"), (int, float)):
        expires_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + token["expires_in"]))
        print(f"expires_in:   {token['expires_in']} seconds (at {expires_at})")
    else:
        print("expires_in:   not given")
    print(f"scope:        {token.get('scope', '')}")

    status, answer = call_api(args.api_url or f"{base_url}/api/hello", access_token, args.timeout)
    print(f"GET /api/hello -> {status}")
    print(json.dumps(answer, indent=2))
    return 0 if status == 200 else 1


def main() -> None:
    args = parse_arguments()
    try:
        sys.exit(run(args))
    except ClientError as error:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {error}")


if __name__ == "__main__":
    main()
