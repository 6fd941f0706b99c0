"""Project-level views that belong to no OAuth concern."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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

    Not found unless ``BENCH_CEILING`` is on, which only ``make bench`` sets for the servers it starts.
    """
    if not settings.BENCH_CEILING:
        raise Http404()
    return HttpResponse(_CEILING_BODY, content_type="application/json")
