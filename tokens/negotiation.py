"""Choose the body parser and the response format: ``format`` first, then ``Accept``, else the first.

Every response the project negotiates goes through ``preferred_media_type``: the OAuth endpoints
through ``select_renderer``, DRF views (the sample resource, the schema) through
``QualityContentNegotiation``. Nothing here answers 406: a client that accepts none of our
formats gets the first one (JSON), which RFC 9110 §12.5.1 allows ("disregard the header field").
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.http.request import MediaType
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches

# Far above what browsers (about 10 ranges) and HTTP libraries send; a longer header is disregarded
# whole, so that neither parsing nor the selection grows with what a client chooses to send.
MAX_ACCEPT_LENGTH = 2048
MAX_ACCEPT_RANGES = 32
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


@dataclass(frozen=True, slots=True)
class _Range:
    text: str  # as the client wrote it, less surrounding spaces
    main_type: str
    sub_type: str
    quality: float
    specificity: int  # Django's: 0 for */*, 1 for type/*, 2 for type/subtype, 3 with parameters

    def matches(self, main_type: str, sub_type: str) -> bool:
        if self.main_type == "*":
            return self.sub_type == "*"  # "*/json" names nothing
        return self.main_type == main_type and self.sub_type in ("*", sub_type)


def select_parser(parsers: list[type[BaseParser]], content_type: str) -> type[BaseParser] | None:
    """The parser for the request's media type, or None when we read no such body."""
    return _select_parser(tuple(parsers), content_type)


@lru_cache(maxsize=128)  # clients send the same few types; DRF's matching parses both types on every call
def _select_parser(parsers: tuple[type[BaseParser], ...], content_type: str) -> type[BaseParser] | None:
    return next((parser for parser in parsers if media_type_matches(parser.media_type, content_type)), None)


def select_renderer(renderers: list[type[BaseRenderer]], requested_format: str | None, accept: str) -> type[BaseRenderer]:
    """The renderer named by ``requested_format``, else the one ``accept`` prefers, else the first.

    ``accept`` is the raw ``Accept`` value ("" when absent); see ``preferred_media_type``. Never a
    406: an OAuth client that accepts nothing we speak still gets JSON (CONTRACT.md, "Token response").
    """
    if requested_format:
        for renderer in renderers:
            if renderer.format == requested_format:
                return renderer
    chosen = preferred_media_type(accept, tuple([renderer.media_type for renderer in renderers]))
    for renderer in renderers:
        if renderer.media_type == chosen:
            return renderer
    return renderers[0]


def preferred_media_type(accept: str, offered: tuple[str, ...]) -> str | None:
    """The one of ``offered`` (server order) that ``accept`` prefers, or None when none is acceptable.

    RFC 9110 §12.5.1: each offered type takes the quality of the most specific range that matches
    it (so ``application/xml;q=0, */*`` excludes XML), ``q=0`` means not acceptable; the highest
    quality wins, then the more specific range, then the earlier offered type. Parameters other
    than ``q`` make a range more specific but are not compared: each format here has one variant,
    and ``application/json; charset=utf-8`` or DRF's ``; indent=4`` still mean that type. A range
    whose ``q`` is not a qvalue, or that is not ``type/subtype``, is skipped; an empty, ``*/*``,
    over-long or over-numerous header selects nothing. Never raises.
    """
    choice = _choose(accept, offered)
    return choice[0] if choice else None


def _choose(accept: str, offered: tuple[str, ...]) -> tuple[str, _Range] | None:
    """The preferred offered type and the range that gave it its quality."""
    if not accept or accept == "*/*" or len(accept) > MAX_ACCEPT_LENGTH:
        return None
    return _choose_within_bounds(accept, offered)


@lru_cache(maxsize=256)  # clients repeat the same few headers; keys are bounded by the length check above
def _choose_within_bounds(accept: str, offered: tuple[str, ...]) -> tuple[str, _Range] | None:
    elements = [element for element in _split_list(accept) if element.strip()]
    if len(elements) > MAX_ACCEPT_RANGES:
        return None
    ranges = _parse_ranges(elements)
    choice, rank = None, (0.0, -1)
    for media_type in offered:
        main_type, _, sub_type = media_type.partition("/")
        matching = [media_range for media_range in ranges if media_range.matches(main_type, sub_type)]
        if not matching:
            continue
        most_specific = max(media_range.specificity for media_range in matching)
        deciding = max(
            (media_range for media_range in matching if media_range.specificity == most_specific),
            key=lambda media_range: media_range.quality,
        )
        # Strictly greater: among equals the type offered first stays, whatever the header's order.
        if deciding.quality > 0 and (deciding.quality, deciding.specificity) > rank:
            choice, rank = (media_type, deciding), (deciding.quality, deciding.specificity)
    return choice


def _split_list(field: str) -> list[str]:
    """The elements of a comma-separated field value (RFC 9110 §5.6.1), empty ones included.

    A comma inside a quoted-string (§5.6.4, where a backslash escapes the next character) belongs
    to a parameter value: ``application/xml;foo="a,b";q=0.1`` is one range. The elements keep
    their quotes and backslashes for Django's parameter parser. An unclosed quote runs to the end.
    (``urllib.request.parse_http_list`` splits alike but drops the backslashes, after which the
    parameter parser no longer finds where the quoted-string ends.)
    """
    elements, start, quoted, escaped = [], 0, False, False
    for index, char in enumerate(field):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append(field[start:index])
            start = index + 1
    elements.append(field[start:])
    return elements


def _parse_ranges(elements: list[str]) -> list[_Range]:
    """The well-formed ranges among the non-empty list elements (empty ones are allowed, §5.6.1)."""
    ranges = []
    for part in elements:
        try:
            media_range = MediaType(part)
        except ValueError:  # an RFC 2231 parameter naming an unknown charset
            continue
        quality = media_range.params.get("q", "1").strip()
        if media_range.main_type and media_range.sub_type and _QVALUE.fullmatch(quality):
            ranges.append(
                _Range(part.strip(), media_range.main_type, media_range.sub_type, float(quality), media_range.specificity)
            )
    return ranges


class QualityContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation with ``preferred_media_type`` in place of its q-blind precedence sets.

    ``?format=`` (or a format suffix) still narrows the renderers first, a 404 when none has that
    format, as in DRF. Then the ``Accept`` choice, else the first renderer rather than a 406: an
    error from the resource (401 with ``WWW-Authenticate``) is worth more than "not acceptable".
    Returns ``(renderer, accepted media type)`` as DRF expects: the client's own range when it names
    the type, so that DRF's ``application/json; indent=4`` keeps working.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        requested_format = format_suffix or request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        if requested_format:
            renderers = self.filter_renderers(renderers, requested_format)
        # META, not request.headers: that builds a dict of every header on each request.
        choice = _choose(request.META.get("HTTP_ACCEPT", ""), tuple(renderer.media_type for renderer in renderers))
        if choice is None:
            return renderers[0], renderers[0].media_type
        media_type, deciding = choice
        renderer = next(renderer for renderer in renderers if renderer.media_type == media_type)
        return renderer, deciding.text if deciding.specificity >= 2 else media_type
