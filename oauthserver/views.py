"""Project-level views that belong to no OAuth concern."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe


@csrf_exempt  # changes nothing, so the CSRF check must not turn a 405 into a 403 page
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


@csrf_exempt  # changes nothing, so the CSRF check must not turn a 405 into a 403 page
@require_safe
def ceiling(request: HttpRequest) -> HttpResponse:
    """A constant JSON body through the full middleware stack: the benchmark's ceiling (make bench).

    Mounted only by ``oauthserver.bench_urls``, the URLs of the servers ``make bench`` starts.
    """
    return HttpResponse(_CEILING_BODY, content_type="application/json")
