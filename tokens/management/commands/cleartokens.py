"""Delete expired and revoked token records, and signing keys that have left the JWKS, of one realm or all."""

from django.core.management.base import BaseCommand, CommandError

from clients.models import Realm

from tokens.services import CLEAR_BATCH_SIZE, clear_tokens


class Command(BaseCommand):
    help = "Delete expired and revoked access token records and retired signing keys no token needs."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=CLEAR_BATCH_SIZE, help="Rows per DELETE.")
        parser.add_argument("--realm", default=None, help="Only this realm's tokens and keys (default: every realm).")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        realm = options["realm"]
        if realm is not None and not Realm.objects.filter(name=realm).exists():
            raise CommandError(f"No realm named {realm!r}; createrealm makes one.")
        cleared = clear_tokens(realm=realm, batch_size=options["batch_size"])
        self.stdout.write(
            f"Removed {cleared.tokens} expired or revoked tokens and {cleared.signing_keys} retired signing keys."
        )
