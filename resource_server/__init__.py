"""Protect a Django REST framework API with this server's access tokens: the one import path for API projects.

``BearerTokenAuthentication`` and ``RequiredScopes`` (and ``handle_exception`` for DRF's
``EXCEPTION_HANDLER``), configured by one setting, ``OAUTH_RESOURCE_SERVER`` (docs/protecting-apis.md):

- ``jwks``: JWTs verified locally against the JWKS of their issuer (one or several realms); no call per
  token; revocations unseen;
- ``introspection``: any token, asked of ``/oauth/introspect`` with the API's own credentials;
- ``database``: for a project next to the server, trusted with its database.

Importing this package imports none of the server's models; only database mode reads them.
"""

from tokens.exceptions import handle_exception

from .authentication import BearerTokenAuthentication, TokenClient
from .permissions import RequiredScopes

__all__ = ["BearerTokenAuthentication", "RequiredScopes", "TokenClient", "handle_exception"]
