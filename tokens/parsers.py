"""The OAuth endpoints' parameters: bounded bodies and the query string, repeats kept visible.

RFC 6749 §3.2 forbids repeated parameters, so both readers here return (name, value) pairs, and
``tokens.protocol.params.collect_params`` refuses a name given twice across all of them.
"""

import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.handlers.wsgi import get_bytes_from_wsgi
from gunicorn.http.errors import ParseException
from rest_framework.parsers import BaseParser

from .negotiation import select_parser
from .protocol.errors import InvalidRequest, LengthRequired, RequestTooLarge
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
    """The body's (name, value) pairs; no body is none.

    The body comes with a Content-Length or chunked (RFC 9112 §7.1), and is read alike either way.
    A body of another media type, or of none (RFC 9110 §8.3 would let us guess; we don't), is
    invalid_request, once the size bound had its say: an oversized body is 413 whatever its type.
    """
    stream = _body_stream(request)
    if stream is None:
        return []
    content_type = request.META.get("CONTENT_TYPE", "")
    parser = select_parser(parsers, content_type) if content_type else None
    if parser is None:
        if read_bounded(stream, {"request": request}):
            raise InvalidRequest("The body must be application/x-www-form-urlencoded or application/json.")
        return []  # an empty chunked body, like a Content-Length of 0, is no body
    return parser().parse(stream, content_type, {"request": request})


def _body_stream(request):
    """Where the body is read from; None when the request has none.

    Django's own request stream stops at CONTENT_LENGTH, taken as 0 when absent (WSGIRequest in
    Django 5.2), so a chunked body, which has no length, would read as empty. A WSGI server that
    de-chunks says so with ``wsgi.input_terminated`` (gunicorn, mod_wsgi): its ``wsgi.input`` then
    ends where the body does and may be read to its end, which ``read_bounded`` caps. Elsewhere
    (``runserver``) that stream could block or hold the chunk framing: 411 rather than guess.
    """
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired()
        return request.META["wsgi.input"]
    if (request.META.get("CONTENT_LENGTH") or "0") == "0":
        return None
    return request


def read_bounded(stream, parser_context) -> bytes:
    """Read the body, refusing with 413 anything over ``OAUTH_MAX_REQUEST_BYTES``.

    A declared Content-Length over the bound is refused unread; a chunked body as soon as more
    than the bound has arrived. A body that ends before its Content-Length (the client closed its
    side early) is invalid_request: RFC 9112 §8 calls such a message incomplete, and what arrived
    may be a cut parameter (a scope or a token missing its end).
    """
    limit = settings.OAUTH_MAX_REQUEST_BYTES
    request = parser_context["request"]
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge()
    body = _read_up_to(stream, limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestTooLarge()
    # ``_body_stream`` hands the request itself for a Content-Length body; a chunked one has no length.
    if stream is request and declared.isdigit() and len(body) < int(declared):
        raise InvalidRequest("The request body is shorter than its Content-Length.")
    return body


# What reading a body raises when the client's bytes break off or break the framing: OSError for
# a reset connection, gunicorn's NoMoreData and Django's UnreadablePostError; gunicorn's chunked
# framing errors (InvalidChunkSize, ChunkMissingTerminator, ...) derive from its ParseException only.
UNREADABLE_BODY_ERRORS = (OSError, ParseException)


def _read_up_to(stream, size: int) -> bytes:
    """Up to ``size`` bytes of the body; invalid_request (RFC 6749 §5.2) when it cannot be read."""
    # PEP 3333 lets wsgi.input return fewer bytes than asked before its end, so read until then.
    parts: list[bytes] = []
    while size > 0:
        try:
            part = stream.read(size)
        except UNREADABLE_BODY_ERRORS:
            raise InvalidRequest("The request body could not be read.") from None
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


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
            raise InvalidRequest(f"The parameter '{name}' is not valid Unicode text.") from None
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidRequest(f"The parameter '{name}' must be a string.")
