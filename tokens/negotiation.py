"""Choose the response format: the ``format`` parameter first, then ``Accept``, else JSON."""

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.utils.mediatypes import media_type_matches, order_by_precedence

from .protocol.errors import OAuthError


class OAuthContentNegotiation(BaseContentNegotiation):
    """Never answers 406: an OAuth client that accepts nothing we speak still gets JSON."""

    def select_parser(self, request, parsers):
        for parser in parsers:
            if media_type_matches(parser.media_type, request.content_type):
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        by_format = {renderer.format: renderer for renderer in renderers}
        requested = request.query_params.get("format") or _body_format(request)
        if requested in by_format:
            renderer = by_format[requested]
            return renderer, renderer.media_type
        accept = request.META.get("HTTP_ACCEPT", "")
        for media_types in order_by_precedence([part.strip() for part in accept.split(",") if part.strip()]):
            for media_type in media_types:
                for renderer in renderers:
                    if media_type != "*/*" and media_type_matches(renderer.media_type, media_type):
                        return renderer, renderer.media_type
        return renderers[0], renderers[0].media_type


def _body_format(request) -> str | None:
    """The ``format`` field of the body, if the body parses; a parse error surfaces in the view."""
    try:
        data = request.data
    except OAuthError:
        raise
    except Exception:
        return None
    if isinstance(data, list):
        return next((value for name, value in data if name == "format"), None)
    return None
