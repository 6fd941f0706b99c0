"""``database`` mode: for a project deployed next to the server, trusted with its database.

Verifies exactly as the server's own resource side does (``tokens.services.validate_access_token``):
JWTs against the public halves of the signing keys, opaque tokens by their record, revocations
seen within the stated bounds. Needs the server's apps installed (their models are read); never
loads a private key, so never needs the key-encryption key.
"""

import logging

from django.db import DatabaseError
from django.views.decorators.debug import sensitive_variables

from tokens.dpop import remember_proof
from tokens.protocol.dpop import DPoPProof
from tokens.protocol.errors import TemporarilyUnavailable
from tokens.protocol.formats import TokenClaims
from tokens.services import validate_access_token

logger = logging.getLogger(__name__)


class DatabaseVerifier:
    """Verify a token against the server's database; ``TemporarilyUnavailable`` while the database fails.

    ``issuers`` are the realms' issuers this API trusts; none means every realm of the server.
    ``audiences`` are those it answers to (RFC 8707); none means the token's realm's own audience.
    """

    def __init__(self, *, issuers: tuple[str, ...] = (), audiences: tuple[str, ...] = ()) -> None:
        self.issuers = issuers
        self.audiences = audiences

    @sensitive_variables("token")  # never in error reports' frame variables
    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or ``InvalidToken`` (RFC 6750 §3.1)."""
        try:
            return validate_access_token(token, issuers=self.issuers or None, audiences=self.audiences or None)
        except DatabaseError as exc:
            # No traceback: its frames below this one hold the token, and error reports show them.
            logger.error("database error while verifying an access token: %s: %s", type(exc).__name__, exc)
            raise TemporarilyUnavailable() from None

    def remember_proof(self, proof: DPoPProof, *, now: int) -> bool:
        """Record one use of a DPoP proof in the server's replay store (``tokens.dpop``); False if used before."""
        try:
            return remember_proof(proof, now=now)
        except DatabaseError as exc:
            logger.error("database error while recording a DPoP proof: %s", type(exc).__name__)
            raise TemporarilyUnavailable() from None
