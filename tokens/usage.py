"""Counting issued tokens per application, environment, format and minute, without a write per token.

Each process adds one to a counter in memory per token, and a background thread adds what it
counted to ``IssuanceCount`` in one statement (an upsert) every ``OAUTH_USAGE_FLUSH_SECONDS``, and
once more when the process exits. With the setting at 0 every token is added at once (tests).
The same flushes store the last use of each client secret (``clients.secret_store``).
What a flush could not write (the database down) is kept and tried again at the next one; what a
process counted since its last flush is lost only if it is killed outright. The portal's "tokens
issued", "last use" and usage charts read these rows.
"""

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, router
from django.db.models import Max, QuerySet, Sum
from django.db.models.functions import Coalesce

from clients.models import Application
from clients.registry import Client
from clients.secret_store import discard_secret_uses, flush_secret_uses

from .models import IssuanceCount

logger = logging.getLogger(__name__)

Key = tuple[int, str, str, int]  # (application id, environment, token format, minute in epoch seconds)


class _Counts:
    def __init__(self) -> None:
        self._pending: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._failing = False

    def add(self, key: Key) -> None:
        with self._lock:
            self._pending[key] += 1
        if settings.OAUTH_USAGE_FLUSH_SECONDS <= 0:
            self.flush()
        elif self._flusher is None:
            self._start()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
        failure = None
        try:
            if pending:
                _upsert(pending)
        except DatabaseError as exc:
            with self._lock:
                self._pending.update(pending)  # tried again at the next flush
            failure = exc
        try:
            flush_secret_uses()  # keeps what it could not store for the next flush
        except DatabaseError as exc:
            failure = exc
        if failure is not None:
            if not self._failing:
                logger.warning("could not store issuance counts (%s); kept for the next try", type(failure).__name__)
            self._failing = True
        elif self._failing:
            logger.warning("issuance counts stored again")
            self._failing = False

    def discard(self) -> None:
        with self._lock:
            self._pending.clear()
        discard_secret_uses()

    def _start(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            # Started by the first token, so after gunicorn forked this worker.
            self._flusher = threading.Thread(target=self._run, name="issuance-counts", daemon=True)
        self._flusher.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(max(settings.OAUTH_USAGE_FLUSH_SECONDS, 1))
            close_old_connections()  # this thread's own connection: reopened if the database restarted
            self.flush()


_counts = _Counts()


def count_issued(client: Client, *, token_format: str, issued_at: int) -> None:
    """Count one token issued to client at ``issued_at`` (seconds since the epoch); no query."""
    _counts.add((client.application_id, client.environment, token_format, issued_at - issued_at % 60))


def flush_issuance_counts() -> None:
    """Add what this process counted to the database now (one statement); never raises."""
    _counts.flush()


def discard_pending_counts() -> None:
    """Forget what this process counted and has not stored (tests)."""
    _counts.discard()


def delete_orphan_counts() -> int:
    """Delete counts whose application is gone (flushed just after its deletion); return how many."""
    return IssuanceCount.objects.exclude(application_id__in=Application.objects.values("id")).delete()[0]


def with_usage(applications: QuerySet) -> QuerySet:
    """Applications annotated with ``tokens_issued`` and ``last_used_at`` (the minute of the last token)."""
    return applications.annotate(
        tokens_issued=Coalesce(Sum("issuance_counts__count"), 0), last_used_at=Max("issuance_counts__minute")
    )


def _upsert(pending: Counter[Key]) -> None:
    connection = connections[router.db_for_write(IssuanceCount)]
    meta, quote = IssuanceCount._meta, connection.ops.quote_name
    names = ("application_id", "environment", "token_format", "minute", "count")
    fields = [meta.get_field(name) for name in names]
    columns = [quote(field.column) for field in fields]
    table, count = quote(meta.db_table), columns[-1]
    params = []
    for (application_id, environment, token_format, minute), added in pending.items():
        values = (application_id, environment, token_format, datetime.fromtimestamp(minute, UTC), added)
        params.extend(field.get_db_prep_save(value, connection) for field, value in zip(fields, values))
    rows = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(pending))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {rows} "
        f"ON CONFLICT ({', '.join(columns[:4])}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
