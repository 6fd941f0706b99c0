"""Choose the body parser and the response format: ``format`` first, then ``Accept``, else JSON."""

from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.mediatypes import media_type_matches, order_by_precedence


def select_parser(parsers: list[type[BaseParser]], content_type: str) -> type[BaseParser] | None:
    """The parser for the request's media type, or None when we read no such body."""
    return next((parser for parser in parsers if media_type_matches(parser.media_type, content_type)), None)


def select_renderer(renderers: list[type[BaseRenderer]], requested_format: str | None, accept: str) -> type[BaseRenderer]:
    """Never a 406: an OAuth client that accepts nothing we speak still gets JSON."""
    for renderer in renderers:
        if requested_format and renderer.format == requested_format:
            return renderer
    if accept and accept != "*/*":
        for media_types in order_by_precedence([part.strip() for part in accept.split(",") if part.strip()]):
            for media_type in media_types:
                for renderer in renderers:
                    if media_type != "*/*" and media_type_matches(renderer.media_type, media_type):
                        return renderer
    return renderers[0]
