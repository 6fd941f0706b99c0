"""Where audit events go besides the database: one JSON object per line on standard output."""

import logging
import sys


class StdoutHandler(logging.StreamHandler):
    """A stream handler bound to whatever ``sys.stdout`` is when it writes, not when configured.

    Process managers (gunicorn, systemd, containers) collect standard output; binding late also
    lets a test capture the lines.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass
