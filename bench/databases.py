"""Throwaway databases for ``make bench`` and the live-server tests, never the one you work with.

SQLite: a fresh file in a folder the caller gives. PostgreSQL: a new database on the server that
``DATABASE_URL`` names, ``<its name><suffix>``, dropped afterwards (and first, if a previous run
was killed before cleaning up).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import environ
import psycopg


@contextmanager
def scratch_database(database_url: str, *, suffix: str, folder: Path) -> Iterator[str]:
    """Yield the URL of an empty database like the one database_url names; remove it afterwards."""
    if not database_url or database_url.startswith("sqlite"):
        yield f"sqlite:///{folder}/db.sqlite3"
        return
    config = environ.Env.db_url_config(database_url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ValueError(f"only SQLite and PostgreSQL are supported, not {config['ENGINE']}")
    name = f"{config['NAME']}{suffix}"
    server = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(database_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(**server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
