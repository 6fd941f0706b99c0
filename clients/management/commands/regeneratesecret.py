"""Give a key pair a new secret and print it as one line of JSON (CONTRACT "Management commands")."""

import json

from django.core.management.base import BaseCommand, CommandError

from clients.models import KeyPair
from clients.services import regenerate_secret


class Command(BaseCommand):
    help = "Replace the secret of CLIENT_ID and print the new one (shown only once); the old one stops at once."

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument(
            "--grace", type=int, default=0,
            help="Seconds the previous secret keeps working; only 0 for now (one secret per key pair).",
        )

    def handle(self, *args, **options):
        if options["grace"] != 0:
            raise CommandError(
                "--grace must be 0: keeping the previous secret working needs several secrets per key pair, "
                "which this server does not have yet. The previous secret stops working at once."
            )
        key_pair = KeyPair.objects.select_related("application").filter(client_id=options["client_id"]).first()
        if key_pair is None:
            raise CommandError(f"No key pair with client id {options['client_id']!r}.")
        keys = regenerate_secret(key_pair=key_pair)
        self.stdout.write(json.dumps({
            "client_id": keys.client_id,
            "client_secret": keys.client_secret,
            "previous_secret_expires_at": None,  # the previous secret stopped at once
        }))
