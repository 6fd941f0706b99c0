"""Project-level views that belong to no OAuth concern."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})


_CEILING_BODY = b'{"status": "ok"}'


@require_safe
def ceiling(request: HttpRequest) -> HttpResponse:
    """A constant JSON body through the full middleware stack: the benchmark's ceiling (make bench)."""
    return HttpResponse(_CEILING_BODY, content_type="application/json")
