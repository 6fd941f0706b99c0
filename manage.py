#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauthserver.settings")
    # Commands print their results on stdout (createclient: one line of JSON); audit log lines
    # of the events they cause go to stderr. The server (gunicorn) logs them to stdout.
    os.environ.setdefault("AUDIT_LOG_STREAM", "stderr")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
