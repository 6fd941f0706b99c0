"""The three response formats of the token endpoint: JSON, urlencoded and XML."""

from urllib.parse import urlencode
from xml.sax.saxutils import escape

from rest_framework.renderers import BaseRenderer, JSONRenderer


class OAuthJSONRenderer(JSONRenderer):
    """Compact JSON (RFC 6749 §5.1); ``expires_in`` stays a number."""

    format = "json"
    charset = None  # application/json has no charset parameter (RFC 8259 §11)


class URLEncodedRenderer(BaseRenderer):
    """``access_token=...&token_type=Bearer&...``: a form-encoded body."""

    media_type = "application/x-www-form-urlencoded"
    format = "urlencoded"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return urlencode([(name, _text(value)) for name, value in data.items()]).encode("ascii")


class XMLRenderer(BaseRenderer):
    """One element per field under ``<oauth>``, as in draft-richer-oauth-xml."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        fields = "".join(f"<{name}>{escape(_text(value))}</{name}>" for name, value in data.items())
        return f'<?xml version="1.0" encoding="UTF-8"?><oauth>{fields}</oauth>'.encode()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


OAUTH_RENDERERS = [OAuthJSONRenderer, URLEncodedRenderer, XMLRenderer]
