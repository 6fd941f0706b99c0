"""Where audit events go besides the database: one JSON object per line on standard output."""

import logging
import sys


class StdoutHandler(logging.StreamHandler):
    """A stream handler bound to whatever ``sys.stdout`` is when it writes, not when configured.

    Process managers (gunicorn, systemd, containers) collect standard output; binding late also
    lets a test capture the lines. Management commands pass ``stream_name="stderr"`` (through
    ``AUDIT_LOG_STREAM``, set by manage.py) so that what they print on stdout stays
    machine-readable, e.g. createclient's one line of JSON.
    """

    def __init__(self, stream_name: str = "stdout") -> None:
        self._stream_name = "stderr" if stream_name == "stderr" else "stdout"
        super().__init__(self.stream)

    @property
    def stream(self):
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value) -> None:
        pass
