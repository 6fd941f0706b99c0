"""Get a DPoP-bound token (RFC 9449) and call /api/hello with it: PyJWT, cryptography and requests only.

    CLIENT_ID=... CLIENT_SECRET=... python examples/dpop_client.py [http://127.0.0.1:8000]
"""

import base64
import hashlib
import json
import os
import sys
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec

SERVER = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
key = ec.generate_private_key(ec.SECP256R1())  # the client's DPoP key: it never leaves this process
public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))


def dpop_proof(method: str, url: str, access_token: str | None = None) -> str:
    """A fresh proof for one request (RFC 9449 §4.2): its method and URL, now, a new jti, and ath with a token."""
    claims = {"htm": method, "htu": url, "iat": int(time.time()), "jti": str(uuid.uuid4())}
    if access_token:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": public_jwk})


token_url, hello_url = f"{SERVER}/oauth/token", f"{SERVER}/api/hello"
answer = requests.post(
    token_url, data={"grant_type": "client_credentials"}, auth=(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"]),
    headers={"DPoP": dpop_proof("POST", token_url)}, timeout=10,
).json()
print(answer["token_type"])  # DPoP
token = answer["access_token"]
hello = requests.get(
    hello_url, headers={"Authorization": f"DPoP {token}", "DPoP": dpop_proof("GET", hello_url, token)}, timeout=10
)
print(hello.status_code, hello.json())
stolen = requests.get(hello_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
print(stolen.status_code, stolen.headers["WWW-Authenticate"])  # 401: the token is useless without the key
