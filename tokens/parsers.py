"""The OAuth endpoints' parameters: bounded bodies and the query string, repeats kept visible.

RFC 6749 §3.2 forbids repeated parameters, so both readers here return (name, value) pairs, and
``tokens.protocol.params.collect_params`` refuses a name given twice across all of them.
"""

import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.handlers.wsgi import get_bytes_from_wsgi
from rest_framework.parsers import BaseParser

from .negotiation import select_parser
from .protocol.errors import InvalidRequest, RequestTooLarge
from .protocol.params import QUERY_PARAMETERS


def read_query(request) -> list[tuple[str, str]]:
    """The query string's pairs this server reads: ``format`` only (``QUERY_PARAMETERS``).

    RFC 6749 §3.2 would allow every parameter in the query component, but a client secret or a
    token in a URL ends up in access logs and proxies: this server reads nothing from a query
    string but the response format and ignores the rest, like any unknown parameter. Repeats of
    ``format`` are kept for ``collect_params`` to refuse.
    """
    query = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
    if not query:
        return []
    pairs = parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True)
    return [(name, value) for name, value in pairs if name in QUERY_PARAMETERS]


def read_body(request, parsers: list[type[BaseParser]]) -> list[tuple[str, str]]:
    """The body's (name, value) pairs; no body or no media type is none."""
    content_type = request.META.get("CONTENT_TYPE", "")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not content_type or declared == "0":
        return []
    parser = select_parser(parsers, content_type)
    if parser is None:
        raise InvalidRequest("The body must be application/x-www-form-urlencoded or application/json.")
    return parser().parse(request, content_type, {"request": request})


def read_bounded(stream, parser_context) -> bytes:
    """Read the body, refusing with 413 anything over ``OAUTH_MAX_REQUEST_BYTES``."""
    limit = settings.OAUTH_MAX_REQUEST_BYTES
    request = parser_context["request"]
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge()
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestTooLarge()
    return body


class FormParser(BaseParser):
    """``application/x-www-form-urlencoded`` (RFC 6749 §4.4.2) into a list of pairs."""

    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None) -> list[tuple[str, str]]:
        body = read_bounded(stream, parser_context)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("The request body is not UTF-8.") from None
        try:
            return parse_qsl(text, keep_blank_values=True, max_num_fields=100)
        except ValueError:
            raise InvalidRequest("The request has too many parameters.") from None


class JSONParser(BaseParser):
    """A JSON object of string (or number) values into a list of pairs."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> list[tuple[str, str]]:
        body = read_bounded(stream, parser_context)
        try:
            pairs = json.loads(body or b"{}", object_pairs_hook=_keep_pairs)
        except (ValueError, RecursionError):
            raise InvalidRequest("The request body is not valid JSON.") from None
        if not isinstance(pairs, _Pairs):
            raise InvalidRequest("The JSON body must be an object.")
        return [(name, _as_text(name, value)) for name, value in pairs]


class _Pairs(list):
    """The pairs of one JSON object, duplicates kept."""


def _keep_pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    return _Pairs(pairs)


def _as_text(name: str, value: object) -> str:
    if isinstance(value, str):
        # JSON escapes can spell lone surrogates ("\ud800"), which no database can store or compare.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"The parameter {name!r} is not valid Unicode text.") from None
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidRequest(f"The parameter {name!r} must be a string.")
