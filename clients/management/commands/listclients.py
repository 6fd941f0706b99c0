"""List the registered clients, one row per key pair, as a table or as JSON (CONTRACT.md "Management commands")."""

import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError

from clients.inventory import ClientListing, list_clients
from clients.models import Realm

# Column headings of the table, in the order of ClientListing's fields.
_HEADINGS = (
    "CLIENT_ID", "APPLICATION", "REALM", "ENVIRONMENT", "ACTIVE", "RESOURCE SERVER", "SCOPES", "TOKEN FORMAT",
    "CREATED (UTC)",
)


class Command(BaseCommand):
    help = "List every client (one row per key pair) of one realm or of all; never shows a secret."

    def add_arguments(self, parser):
        parser.add_argument("--realm", default=None, help="Only this realm's clients (default: every realm).")
        parser.add_argument("--json", action="store_true", help="One JSON document (a list of objects) for scripts.")

    def handle(self, *args, **options):
        realm_id = None
        if options["realm"] is not None:
            realm_id = Realm.objects.filter(name=options["realm"]).values_list("pk", flat=True).first()
            if realm_id is None:
                raise CommandError(f"No realm named {options['realm']!r}.")
        listings = list_clients(realm_id=realm_id)
        if options["json"]:
            self.stdout.write(json.dumps([_as_json(listing) for listing in listings]))
        elif not listings:
            self.stdout.write("No clients" + (f" in realm {options['realm']}." if realm_id is not None else "."))
        else:
            self.stdout.write(_table([_HEADINGS, *(_as_row(listing) for listing in listings)]))


def _as_json(listing: ClientListing) -> dict:
    return {
        "client_id": listing.client_id,
        "application": listing.application,
        "realm": listing.realm,
        "environment": listing.environment,
        "active": listing.is_active,
        "resource_server": listing.is_resource_server,
        "scopes": listing.scopes,
        "token_format": listing.token_format,
        "created_at": listing.created_at.isoformat(),
    }


def _as_row(listing: ClientListing) -> tuple[str, ...]:
    return (
        listing.client_id,
        _printable(listing.application),
        listing.realm,
        listing.environment,
        "yes" if listing.is_active else "no",
        "yes" if listing.is_resource_server else "no",
        listing.scopes or "-",
        listing.token_format,
        listing.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, two spaces apart, without trailing spaces."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _printable(text: str) -> str:
    """text with control characters escaped: an application's name, typed by a developer in the portal,
    could otherwise move the cursor or recolour the operator's terminal, or break the table's lines."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
