"""Give a key pair a new secret and print it as one line of JSON (CONTRACT "Management commands")."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clients.models import MAX_LIFETIME_SECONDS, KeyPair
from clients.services import TooManySecrets, regenerate_secret


class Command(BaseCommand):
    help = ("Give CLIENT_ID a new secret and print it (shown only once); the previous secrets stop at once, "
            "or after --grace seconds.")

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument(
            "--grace", type=int, default=0,
            help="Seconds the previous secrets keep working, so that its services can move to the new one "
                 "(default 0: they stop at once).",
        )

    def handle(self, *args, **options):
        grace = options["grace"]
        if not 0 <= grace <= MAX_LIFETIME_SECONDS:
            raise CommandError(f"--grace must be between 0 and {MAX_LIFETIME_SECONDS} seconds.")
        key_pair = KeyPair.objects.select_related("application").filter(client_id=options["client_id"]).first()
        if key_pair is None:
            raise CommandError(f"No key pair with client id {options['client_id']!r}.")
        try:
            keys = regenerate_secret(key_pair=key_pair, grace=grace)
        except TooManySecrets as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:  # e.g. a private_key_jwt key pair, which has no secret
            raise CommandError(" ".join(error.messages)) from None
        expires = keys.previous_secret_expires_at
        self.stdout.write(json.dumps({
            "client_id": keys.client_id,
            "client_secret": keys.client_secret,
            "previous_secret_expires_at": expires.isoformat() if expires else None,
        }))
